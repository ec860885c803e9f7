"""Time circfin's loop engine against python-igraph and networkx on a scale-free deal graph.

    python bench/bench_loops.py --entities 5000 --deals 30000 --k 4 5 6

prints markdown tables: all loops up to K (circfin, its phases, building every
Loop object, igraph's ``Graph.simple_cycles(min=2, max=K)`` including building
its graph from the same DataFrame, networkx ``simple_cycles(G, length_bound=K)``
where it finishes in time); filters pruned while searching against igraph
enumerating everything then filtering (with a compiled filter, the kindest
baseline); ``LoopIndex.add`` for new deals; memory for a million deals; and
numba's JIT warm-up, cold and cached.

Every timing is wall clock, the best of ``--repeat`` runs (one run if a run
takes over 30 s), single process, single thread. The graph comes from
``bench/scalefree.py`` (seeded). The machine has 2 shared cores: expect
noise of 10-20 % between runs.

Results of the default run (2-core shared machine, numba 0.68.1,
python-igraph 1.0.0, networkx 3.6.1; best of 3):

    K  loops      circfin   igraph    networkx   build all Loops
    4  36,263     29 ms     134 ms    149 s      152 ms
    5  493,510    138 ms    1.20 s    -          2.5 s
    6  6,787,011  1.65 s    16.5 s    -          35 s

    pruned filters at K=6 (within=30 / ordered / min_amount=1e9): 37 ms /
    230 ms / 8.5 ms against 21-29 s for igraph then filter (96-2,500x; K=4:
    6.8-18x). LoopIndex.add, K=6: median 0.32 ms, p90 3.8 ms. 1,000,000
    deals: 0.38 GB RSS above the frame. JIT: 2.0 s cold, 0.22 s cached.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


from _checkout import ensure_circfin  # noqa: E402

ensure_circfin()

from circfin.loops import _cycles, _cycles_input, _cycles_net  # noqa: E402
from circfin.loops.engine import LoopIndex, find_loops  # noqa: E402

sys.path.insert(0, str(HERE))
from scalefree import make_deals  # noqa: E402


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        if dt > 30:
            break
        if _ < repeat - 1:
            del out
            out = None
    if out is None:
        out = fn()
    return best, out


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f}" if seconds >= 0.1 else f"{seconds * 1e3:,.1f}"


# --------------------------------------------------------------------------
# Baselines


def igraph_graph(df: pd.DataFrame) -> tuple[Any, np.ndarray, int]:
    """igraph's directed graph of distinct payer -> payee pairs (no self-loops)."""
    import igraph as ig

    d = df[df["payer"] != df["payee"]]
    m = len(d)
    codes, uniq = pd.factorize(pd.concat([d["payer"], d["payee"]], ignore_index=True))
    n = len(uniq)
    key = np.unique(codes[:m].astype(np.int64) * n + codes[m:])
    edges = np.stack([key // n, key % n], axis=1)
    return ig.Graph(n=n, edges=edges, directed=True), codes, n


def igraph_cycles(df: pd.DataFrame, k: int) -> list[tuple[int, ...]]:
    g, _, _ = igraph_graph(df)
    return g.simple_cycles(min=2, max=k)


def networkx_cycles(df: pd.DataFrame, k: int, timeout: float) -> tuple[float, int, bool]:
    import networkx as nx

    t0 = time.perf_counter()
    g = nx.DiGraph()
    d = df[df["payer"] != df["payee"]]
    g.add_edges_from(zip(d["payer"], d["payee"], strict=True))
    n = 0
    for _ in nx.simple_cycles(g, length_bound=k):
        n += 1
        if n % 10_000 == 0 and time.perf_counter() - t0 > timeout:
            return time.perf_counter() - t0, n, False
    return time.perf_counter() - t0, n, True


def _filter_kernel() -> Callable[..., np.ndarray]:
    from numba import njit

    @njit(cache=False)
    def keep_cycles(cyc, lens, ekeys, n, dstart, dend, days, within, ordered):  # type: ignore[no-untyped-def]
        m = cyc.shape[0]
        out = np.zeros(m, dtype=np.bool_)
        legs = np.empty(cyc.shape[1], dtype=np.int64)
        for i in range(m):
            L = lens[i]
            ok = True
            for j in range(L):
                a = cyc[i, j]
                b = cyc[i, (j + 1) % L]
                e = np.searchsorted(ekeys, a * n + b)
                legs[j] = e
                if dend[e] == dstart[e]:
                    ok = False
                    break
            if ok:
                ok = _cycles.exact_time_check(legs, L, within, ordered, dstart, dend, days)
            out[i] = ok
        return out

    return keep_cycles


def igraph_then_filter(
    df: pd.DataFrame, k: int, kw: dict[str, Any], keep: Callable[..., np.ndarray]
) -> int:
    """Enumerate every cycle with igraph, then keep those passing the filter."""
    g, codes, n = igraph_graph(df)
    cycles = g.simple_cycles(min=2, max=k)
    d = df[df["payer"] != df["payee"]]
    m = len(d)
    ek = codes[:m].astype(np.int64) * n + codes[m:]
    # Padded cycle array (one pass over igraph's tuples).
    lens = np.fromiter((len(c) for c in cycles), dtype=np.int64, count=len(cycles))
    cyc = np.zeros((len(cycles), k), dtype=np.int64)
    for L in range(2, k + 1):
        rows = np.flatnonzero(lens == L)
        if len(rows):
            cyc[rows, :L] = np.array([cycles[r] for r in rows.tolist()], dtype=np.int64)
    ekeys, inv = np.unique(ek, return_inverse=True)
    if "min_amount" in kw:
        amt = pd.to_numeric(d["amount_usd"], errors="coerce").to_numpy(dtype=float)
        good = np.zeros(len(ekeys), dtype=bool)
        good[inv[amt >= kw["min_amount"]]] = True
        ok = np.ones(len(cyc), dtype=bool)
        for j in range(k):
            a = cyc[:, j]
            b = np.where(j + 1 < lens, cyc[:, (j + 1) % k], cyc[:, 0])
            e = np.searchsorted(ekeys, a * n + b)
            ok &= np.where(j < lens, good[np.minimum(e, len(ekeys) - 1)], True)
        return int(ok.sum())
    day = np.array([_cycles_input._parse_day(x) for x in d["date"].tolist()], dtype=np.int64)
    dated = day != int(_cycles_input._UNDATED)
    o = np.lexsort((day[dated], inv[dated]))
    days = day[dated][o].astype(np.int32)
    cnt = np.bincount(inv[dated], minlength=len(ekeys))
    ptr = np.zeros(len(ekeys) + 1, dtype=np.int64)
    np.cumsum(cnt, out=ptr[1:])
    within = kw.get("within")
    return int(
        keep(
            cyc,
            lens,
            ekeys,
            n,
            ptr[:-1].copy(),
            ptr[1:].copy(),
            days,
            -1 if within is None else within,
            bool(kw.get("ordered", False)),
        ).sum()
    )


# --------------------------------------------------------------------------
# circfin, phase by phase


def table_cypher(df: pd.DataFrame, a: argparse.Namespace) -> None:
    """The same loops by the Cypher query in an embedded FalkorDB (one run each: it is slow)."""
    import datetime as dt
    import tempfile

    from circfin import queries
    from circfin.graph.model import date_bounds
    from circfin.loops.from_store import loops_from_store
    from circfin.store.embedded import EmbeddedServer
    from circfin.store.falkordb_store import FalkorDBStore

    print("\n## The Cypher loop query on the embedded FalkorDB, same graph\n")
    print("| K | loops | Cypher (query + legs) ms | circfin find_loops ms | Cypher / circfin |")
    print("|---|---:|---:|---:|---:|")
    home = tempfile.mkdtemp(prefix="circfin-bench-")
    srv = EmbeddedServer(home)
    try:
        store = FalkorDBStore(srv.connect(), graph="bench")
        store.ensure_schema()
        ids = sorted(set(df["payer"].astype(str)) | set(df["payee"].astype(str)))
        ents = [{"id": i, "name": i, "kind": "other", "aliases": [], "name_keys": [i],
                 "country": None, "revenue_usd": None, "equity_usd": None, "market_cap_usd": None,
                 "backlog_usd": None, "source_url": None} for i in ids]
        epoch = dt.date(1970, 1, 1)
        rows = []
        for r in df.to_dict("records"):
            first = date_bounds(str(r["date"]))[0] if isinstance(r["date"], str) and r["date"] else None
            amt = pd.to_numeric(r["amount_usd"], errors="coerce")
            rows.append({"deal_id": str(r["deal_id"]), "date": r["date"] if first else None,
                         "day": (first - epoch).days if first else None,
                         "date_from": first.isoformat() if first else None,
                         "payer": str(r["payer"]), "payee": str(r["payee"]), "type": r["type"],
                         "amount_usd": None if pd.isna(amt) else float(amt),
                         "amount_qualifier": r.get("amount_qualifier") or "exact",
                         "status": r["status"], "description": "", "source_url": None,
                         "confidence": "high"})
        store.write([(queries.load("upsert_entities").text, {"rows": ents})]
                    + [(queries.load("upsert_deals").text, {"rows": rows[i:i + 5000]})
                       for i in range(0, len(rows), 5000)])
        for k in a.cypher_k:
            t_c, res = best_of(lambda: find_loops(df, max_len=k), a.repeat)
            t0 = time.perf_counter()
            got, _, _ = loops_from_store(store, engine="cypher", max_len=k, status=None)
            t_y = time.perf_counter() - t0
            assert len(got) == len(res), f"Cypher found {len(got)} loops, circfin {len(res)}"
            print(f"| {k} | {len(got):,} | {ms(t_y)} | {ms(t_c)} | {t_y / t_c:,.0f}x |", flush=True)
    finally:
        srv.stop()


def circfin_phases(df: pd.DataFrame, k: int) -> tuple[float, float, float, int]:
    t0 = time.perf_counter()
    f = _cycles_input._filters(
        max_len=k,
        min_len=2,
        types=None,
        status=None,
        min_amount=None,
        since=None,
        until=None,
        within=None,
        ordered=False,
    )
    net = _cycles_net._Net(_cycles_input._counting(df, f, None), f, None, None)
    plan = _cycles_net._plan(net, None)
    t1 = time.perf_counter()
    assert plan is not None
    starts, rank, restrict = plan
    flat, lens, _, _ = net.search(
        starts, np.full(len(starts), -1, dtype=np.int64), rank, restrict, None, None, t1
    )
    t2 = time.perf_counter()
    batch = _cycles_net._finish(net, flat, lens, "length", None)
    t3 = time.perf_counter()
    assert len(batch) == len(lens)
    return t1 - t0, t2 - t1, t3 - t2, len(lens)


# --------------------------------------------------------------------------
# Children: memory and JIT warm-up run in their own processes


def rss_now() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak() -> int:
    """This process's RSS high-water mark. (Not ru_maxrss: Linux carries that
    over from the parent across fork and exec.)"""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(
    n_entities: int, n_deals: int, seed: int, k: int, budget: float, trace: bool
) -> None:
    df = make_deals(n_entities, n_deals, seed)
    gc.collect()
    base = rss_now()
    if rss_peak() > base:  # let the engine's peak show: drop the generator's high-water mark
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    index = LoopIndex(df, max_len=6)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = find_loops(df, max_len=k, time_budget=budget)
    t_find = time.perf_counter() - t0
    peak_traced = tracemalloc.get_traced_memory()[1] if trace else 0
    rss_after = rss_now()
    peak_rss = rss_peak()
    print(
        json.dumps(
            {
                "base": base,
                "rss_after": rss_after,
                "peak_rss": peak_rss,
                "traced": peak_traced,
                "t_index": t_index,
                "t_find": t_find,
                "loops": len(res),
                "complete": res.complete,
                "deals_held": len(index),
            }
        )
    )


JIT_CODE = """
import json, sys, time
t0 = time.perf_counter()
try:
    import circfin.loops.engine as lp
except ImportError:
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "circfin", ROOT + "/__init__.py", submodule_search_locations=[ROOT])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["circfin"] = mod
    spec.loader.exec_module(mod)
    import circfin.loops.engine as lp
t1 = time.perf_counter()
import pandas as pd
d = pd.DataFrame({"deal_id": list("123"), "payer": list("abc"), "payee": list("bca"),
                  "date": ["2024-01-01"] * 3})
t2 = time.perf_counter()
lp.find_loops(d, within=3)
lp.find_loops(d, sort="amount")
lp.LoopIndex(d).add({"deal_id": "4", "payer": "a", "payee": "c"})
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_calls": t3 - t2}))
"""


def jit_run(env: dict[str, str]) -> dict[str, Any]:
    code = JIT_CODE.replace("ROOT", repr(str(HERE.parent)))
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    if out.returncode != 0:
        raise SystemExit(f"JIT child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    out = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=3600
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=5_000)
    ap.add_argument("--deals", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, nargs="+", default=[4, 5, 6], help="max_len values")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--networkx-k",
        type=int,
        nargs="*",
        default=[4],
        help="K values to time networkx at (it is slow)",
    )
    ap.add_argument("--networkx-timeout", type=float, default=120.0)
    ap.add_argument(
        "--filters-k",
        type=int,
        nargs="*",
        default=None,
        help="K values for the pruned-filter table (default: --k)",
    )
    ap.add_argument("--index-samples", type=int, default=300)
    ap.add_argument("--mem-entities", type=int, default=100_000)
    ap.add_argument("--mem-deals", type=int, default=1_000_000, help="0 skips the memory table")
    ap.add_argument("--mem-k", type=int, default=4)
    ap.add_argument("--mem-budget", type=float, default=60.0)
    ap.add_argument("--no-jit", action="store_true", help="skip the JIT warm-up table")
    ap.add_argument("--cypher-k", type=int, nargs="*", default=[4],
                    help="max_len values to time loops.cypher on the embedded FalkorDB (none: skip)")
    ap.add_argument("--_memory-child", nargs=6, help=argparse.SUPPRESS)
    ap.add_argument(
        "--only",
        nargs="+",
        default=["loops", "cypher", "filters", "index", "memory", "jit"],
        choices=["loops", "cypher", "filters", "index", "memory", "jit"],
        help="tables to run",
    )
    a = ap.parse_args(argv)
    if a._memory_child:
        e, d, s, k, b, tr = a._memory_child
        memory_child(int(e), int(d), int(s), int(k), float(b), tr == "1")
        return

    import igraph
    import networkx
    import numba

    df = make_deals(a.entities, a.deals, a.seed)
    g, _, _ = igraph_graph(df)
    command = " ".join(["python", "bench/bench_loops.py", *(argv or sys.argv[1:])])
    print(
        f"# circfin loop engine benchmark\n\n`{command}`"
        f"\n\nPython {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, numba {numba.__version__}, "
        f"python-igraph {igraph.__version__}, networkx {networkx.__version__}; "
        f"{os.cpu_count()} cores. Graph: `make_deals({a.entities}, {a.deals}, seed={a.seed})`: "
        f"{g.vcount():,} entities with deals, {g.ecount():,} distinct legs, "
        f"max out/in degree {max(g.outdegree())}/{max(g.indegree())}.\n"
    )
    # Warm the JIT so it is not timed here (see the warm-up table).
    find_loops(df.head(200), max_len=3, within=5)
    find_loops(df.head(200), max_len=3, sort="amount")
    keep = _filter_kernel()

    if "loops" in a.only:
        table_loops(df, a)
    if "cypher" in a.only and a.cypher_k:
        table_cypher(df, a)
    if "filters" in a.only:
        table_filters(df, a, keep)
    if "index" in a.only:
        table_index(a)
    if "memory" in a.only and a.mem_deals:
        table_memory(a)
    if "jit" in a.only and not a.no_jit:
        table_jit()


def table_loops(df: pd.DataFrame, a: argparse.Namespace) -> None:
    print("## All loops up to K\n")
    print(
        "| K | loops | circfin find_loops ms | = prep + search + sort | build all Loop objects ms "
        "| igraph build + simple_cycles ms | circfin / igraph | networkx ms |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for k in a.k:
        t_c, res = best_of(lambda: find_loops(df, max_len=k), a.repeat)
        n_c = len(res)
        prep, search, fin, n_p = min(
            (circfin_phases(df, k) for _ in range(a.repeat)), key=lambda x: sum(x[:3])
        )
        assert n_p == n_c
        t0 = time.perf_counter()
        objs = list(res)
        t_mat = time.perf_counter() - t0
        assert len(objs) == n_c
        del objs, res
        t_i, cyc = best_of(lambda: igraph_cycles(df, k), a.repeat)
        n_i = len(cyc)
        del cyc
        assert n_i == n_c, f"igraph found {n_i} cycles, circfin {n_c}"
        nx_cell = "not run"
        if k in (a.networkx_k or []):
            t_n, n_n, done = networkx_cycles(df, k, a.networkx_timeout)
            nx_cell = f"{ms(t_n)}" if done else f"> {a.networkx_timeout:.0f} s ({n_n:,} found)"
            if done:
                assert n_n == n_c
                nx_cell += f" ({t_n / t_c:,.0f}x circfin)"
        print(
            f"| {k} | {n_c:,} | {ms(t_c)} | {ms(prep)} + {ms(search)} + {ms(fin)} | {ms(t_mat)} "
            f"| {ms(t_i)} | {t_c / t_i:.2f} | {nx_cell} |",
            flush=True,
        )


def table_filters(
    df: pd.DataFrame, a: argparse.Namespace, keep: Callable[..., np.ndarray]
) -> None:
    print("\n## Filters pruned while searching vs igraph enumerating everything, then filtering\n")
    print(
        "igraph's side: build, `simple_cycles`, tuples to arrays, then a numba-compiled exact "
        "filter (the same checker circfin uses on closing), so only the search strategy differs.\n"
    )
    print("| K | filter | loops kept | circfin ms | igraph + filter ms | speed-up |")
    print("|---|---|---:|---:|---:|---:|")
    filters: list[tuple[str, dict[str, Any]]] = [
        ("within=30", {"within": 30}),
        ("ordered", {"ordered": True}),
        ("within=90, ordered", {"within": 90, "ordered": True}),
        ("min_amount=1e9", {"min_amount": 1e9}),
    ]
    for k in a.filters_k if a.filters_k is not None else a.k:
        for label, kw in filters:
            t_c, res = best_of(lambda: find_loops(df, max_len=k, **kw), a.repeat)
            t_b, n_b = best_of(
                lambda: igraph_then_filter(df, k, kw, keep), 1 if k >= 6 else a.repeat
            )
            assert n_b == len(res), f"{label}: baseline kept {n_b}, circfin {len(res)}"
            print(
                f"| {k} | {label} | {len(res):,} | {ms(t_c)} | {ms(t_b)} | {t_b / t_c:,.1f}x |",
                flush=True,
            )
            del res


def table_index(a: argparse.Namespace) -> None:
    print("\n## LoopIndex.add: one new deal against the snapshot\n")
    more = make_deals(a.entities, a.deals + a.index_samples, a.seed)
    base, new = more.iloc[: a.deals], more.iloc[a.deals :]
    print(
        "| K | build index ms | adds | median ms | p90 ms | max ms "
        "| loops per add: median / p90 / max |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for k in a.k:
        t_b, index = best_of(lambda: LoopIndex(base, max_len=k), a.repeat)
        index.add(
            {"deal_id": "warm-up", "payer": base.iloc[0]["payer"], "payee": base.iloc[0]["payee"]}
        )
        times, counts = [], []
        for row in new.to_dict("records"):
            t0 = time.perf_counter()
            got = index.add(row)
            times.append(time.perf_counter() - t0)
            counts.append(len(got))
        ts = np.array(times) * 1e3
        c = np.array(counts)
        print(
            f"| {k} | {ms(t_b)} | {len(ts)} | {np.median(ts):.2f} | {np.percentile(ts, 90):.2f} "
            f"| {ts.max():.1f} | {int(np.median(c)):,} / {int(np.percentile(c, 90)):,} "
            f"/ {c.max():,} |",
            flush=True,
        )


def table_memory(a: argparse.Namespace) -> None:
    print(f"\n## Memory: {a.mem_deals:,} deals, {a.mem_entities:,} entities\n")
    print(
        "Each in a fresh process: generate the frame, then build a `LoopIndex(max_len=6)` (which "
        "holds every deal) and run "
        f"`find_loops(max_len={a.mem_k}, time_budget={a.mem_budget:g})`. "
        "RSS counts everything (numba's arrays too); tracemalloc sees numpy and Python "
        "allocations only.\n"
    )
    args = [str(a.mem_entities), str(a.mem_deals), str(a.seed), str(a.mem_k), str(a.mem_budget)]
    r = run_child(["--_memory-child", *args, "0"])
    t = run_child(["--_memory-child", *args, "1"])
    gb = 1024**3
    print(
        "| frame RSS GB | peak RSS GB | peak RSS above frame GB | tracemalloc peak GB "
        "| LoopIndex build s | find_loops s | loops (complete?) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {r['base'] / gb:.2f} | {r['peak_rss'] / gb:.2f} "
        f"| {(r['peak_rss'] - r['base']) / gb:.2f} "
        f"| {t['traced'] / gb:.2f} | {r['t_index']:.1f} | {r['t_find']:.1f} "
        f"| {r['loops']:,} ({'yes' if r['complete'] else 'no: budget'}) |",
        flush=True,
    )


def table_jit() -> None:
    print("\n## JIT warm-up (numba, `cache=True`)\n")
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = jit_run(env)
        warm = min((jit_run(env) for _ in range(3)), key=lambda x: x["first_calls"])
    print(
        "| | import circfin.loops.engine s "
        "| first calls (find_loops, within, sort, LoopIndex.add) s |"
    )
    print("|---|---:|---:|")
    print(f"| cold: empty cache, compiles | {cold['import']:.2f} | {cold['first_calls']:.2f} |")
    print(f"| warm: cache on disk | {warm['import']:.2f} | {warm['first_calls']:.2f} |")


if __name__ == "__main__":
    main()
