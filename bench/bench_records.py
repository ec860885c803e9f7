"""Building every loop as a ``Loop`` record, against igraph's raw cycle lists.

    .venv/bin/python bench/bench_records.py                       # K = 4, 5, 6; 2 rounds
    .venv/bin/python bench/bench_records.py --baseline /tmp/old   # and an older checkout beside it

On ``bench/scalefree.make_deals(5000, 30000, seed=0)``, each measurement runs in
a fresh process that first generates the frame, imports everything and warms
numba's JIT, then resets its RSS high-water mark and does one thing:

* ``igraph``: build igraph's graph from the frame and ``Graph.simple_cycles(min=2,
  max=K)``, the raw cycle lists (lists of vertex numbers), held;
* ``records``: ``find_loops(deals, max_len=K)`` and ``list()`` of it: every loop a
  ``Loop`` record, held;
* ``read``: the same, then every record's fields read (``ids``, ``entities``,
  ``legs``, ``key``), held;
* ``json`` / ``csv``: ``find_loops`` and ``circfin loops --format json|csv``'s
  writer (``cli.budget.write_loops``) streaming every loop to ``/dev/null``;
  ``json-whole`` / ``csv-whole``: the whole text built first
  (``cli.render.loops_json`` / ``loops_csv`` of the list), then written.

It reports wall clock and CPU seconds (user + system of the process, which a
busy machine stretches less than the wall clock) and the peak RSS above the
process's state before the step, the best of ``--rounds`` rounds. Rounds run
every step in turn, so the load of a shared machine falls on all of them alike;
compare the ratios, which come from one run. ``--baseline DIR`` runs the
``records`` step from another checkout of circfin (e.g. ``git
worktree add /tmp/old <commit>``) with this venv's packages, in the same rounds.
Prints markdown.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
STEPS = ("igraph", "records", "read", "json", "json-whole", "csv", "csv-whole")


# --------------------------------------------------------------------------
# The child: one step in a fresh process


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_peak() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _trim() -> None:
    """Give glibc's free heap memory back to the system (``malloc_trim``), so that a step
    cannot reuse what the set-up freed without it showing in its peak: without it, the
    same step's peak moved between 2 and 6 MB at K = 4 with the allocator's state."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: measure as the heap is
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def child(step: str, k: int, root: Path, entities: int, deals: int, seed: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from _checkout import load_checkout

    load_checkout(root)
    import igraph as ig
    import numpy as np
    import pandas as pd
    from scalefree import make_deals

    from circfin.loops.engine import find_loops

    df = make_deals(entities, deals, seed)
    # Warm the JIT (loaded from numba's cache on disk, compiled on a checkout's first run):
    # a search big enough for the compiled kernels, and each sort, not timed here.
    for sort in ("length", "amount"):
        find_loops(df, max_len=3, sort=sort)
    held: Any = None
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed at the end
    gc.collect()
    _trim()  # the heap's free memory back to the system: the peak counts every page the step takes
    base = _rss()
    with open("/proc/self/clear_refs", "w") as fh:  # the high-water mark restarts here
        fh.write("5")
    c0, t0 = _cpu(), time.perf_counter()
    if step == "igraph":  # as bench_loops.igraph_cycles: distinct legs, no self-loops
        d = df[df["payer"] != df["payee"]]
        m = len(d)
        codes, uniq = pd.factorize(pd.concat([d["payer"], d["payee"]], ignore_index=True))
        n = len(uniq)
        key = np.unique(codes[:m].astype(np.int64) * n + codes[m:])
        g = ig.Graph(n=n, edges=np.stack([key // n, key % n], axis=1), directed=True)
        held = g.simple_cycles(min=2, max=k)
        count = len(held)
    else:
        res = find_loops(df, max_len=k)
        count = len(res)
        if step in ("records", "read"):
            held = list(res)
            del res
            if step == "read":
                for lp in held:
                    lp.ids, lp.entities, lp.legs, lp.key  # noqa: B018 - reading is the point
        else:
            from rich.console import Console

            quiet = Console(file=devnull)
            if step in ("json", "csv"):
                from circfin.cli.budget import write_loops
                from circfin.loops.from_store import Budget

                write_loops(res, step, Budget(time_budget=0, max_loops=0), out=quiet, err=quiet,
                            stream=devnull)
            else:
                from circfin.cli.render import loops_csv, loops_json

                text = (loops_json if step == "json-whole" else loops_csv)(list(res))
                devnull.write(text)
                del text
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    peak = _rss_peak() - base
    devnull.close()
    return {"step": step, "k": k, "n": count, "wall": wall, "cpu": cpu, "peak": peak}


# --------------------------------------------------------------------------
# The parent: rounds of children, then tables


def _logged(path: Path) -> list[tuple[int, str, int, Path, dict[str, Any]]]:
    """The child results an earlier run printed on stderr: ``round R: STEP K=k ROOT: {...}``."""
    import ast
    import re

    out = []
    for line in path.read_text().splitlines():
        m = re.match(r"round (\d+): (\S+) K=(\d+) (\S+): (\{.*\})$", line)
        if m:
            out.append((int(m[1]) - 1, m[2], int(m[3]), Path(m[4]), ast.literal_eval(m[5])))
    return out


def run_child(step: str, k: int, root: Path, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", step, str(k), str(root),
           str(a.entities), str(a.deals), str(a.seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"child {step} K={k} ({root}) failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _s(x: float) -> str:
    return f"{x:,.2f} s" if x >= 1 else f"{x * 1e3:,.0f} ms"


def _gb(x: float) -> str:
    return f"{x / 2**30:,.2f} GB" if x >= 2**30 / 10 else f"{x / 2**20:,.1f} MB"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=5_000)
    ap.add_argument("--deals", type=int, default=30_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, nargs="+", default=[4, 5, 6], help="max_len values")
    ap.add_argument("--out-k", type=int, nargs="*", default=[4, 5],
                    help="max_len values for the JSON and CSV output steps")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout of circfin to run the records step from")
    ap.add_argument("--baseline-k", type=int, nargs="*", default=None,
                    help="max_len values for the baseline (default: --k)")
    ap.add_argument("--from-log", type=Path, default=None,
                    help="print the tables from the stderr of an earlier run (its 'round' lines)")
    ap.add_argument("--_child", nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._child:
        step, k, root, e, d, s = a._child
        print(json.dumps(child(step, int(k), Path(root), int(e), int(d), int(s))))
        return

    plan: list[tuple[str, int, Path]] = []
    for k in a.k:
        plan += [("igraph", k, ROOT), ("records", k, ROOT), ("read", k, ROOT)]
        if a.baseline is not None and k in (a.k if a.baseline_k is None else a.baseline_k):
            plan += [("records", k, a.baseline)]
    for k in a.out_k:
        plan += [(step, k, ROOT) for step in ("json", "json-whole", "csv", "csv-whole")]
    best: dict[tuple[str, int, Path], dict[str, Any]] = {}
    runs: Iterable[tuple[int, str, int, Path, dict[str, Any]]]
    if a.from_log is not None:
        runs = _logged(a.from_log)
    else:
        runs = ((r, step, k, root, run_child(step, k, root, a))
                for r in range(a.rounds) for step, k, root in plan)
    for r, step, k, root, got in runs:
        if a.from_log is None:
            print(f"round {r + 1}: {step} K={k} {root}: {got}", file=sys.stderr, flush=True)
        old = best.get((step, k, root))
        if old is None:
            best[(step, k, root)] = got
        else:
            assert old["n"] == got["n"]
            for f in ("wall", "cpu", "peak"):
                old[f] = min(old[f], got[f])
    rounds = 1 + max(r for r, *_ in _logged(a.from_log)) if a.from_log is not None else a.rounds

    import igraph
    import numpy

    command = " ".join([".venv/bin/python", "bench/bench_records.py", *(argv or sys.argv[1:])])
    print(f"`{command}`\n\nPython {platform.python_version()}, numpy {numpy.__version__}, "
          f"python-igraph {igraph.__version__}; {os.cpu_count()} cores. Graph: "
          f"`make_deals({a.entities}, {a.deals}, seed={a.seed})`. Best of {rounds} round(s); "
          "peak RSS above the process before the step.\n")
    print("| K | loops | igraph: build + `simple_cycles` | circfin: `find_loops` + every `Loop` "
          "| **time / igraph** (wall, CPU) | **memory / igraph** | and every record read "
          "| time (wall, CPU); memory / igraph |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    have = lambda *keys: all(key in best for key in keys)  # noqa: E731 - a cut run: what it did
    for k in a.k:
        if not have(("igraph", k, ROOT), ("records", k, ROOT), ("read", k, ROOT)):
            continue
        i, c, rd = best[("igraph", k, ROOT)], best[("records", k, ROOT)], best[("read", k, ROOT)]
        assert i["n"] == c["n"] == rd["n"], (i["n"], c["n"], rd["n"])
        print(f"| {k} | {c['n']:,} | {_s(i['wall'])}, {_gb(i['peak'])} "
              f"| {_s(c['wall'])}, {_gb(c['peak'])} "
              f"| **{c['wall'] / i['wall']:.2f}, {c['cpu'] / i['cpu']:.2f}** "
              f"| **{c['peak'] / i['peak']:.2f}** "
              f"| {_s(rd['wall'])}, {_gb(rd['peak'])} "
              f"| {rd['wall'] / i['wall']:.2f}, {rd['cpu'] / i['cpu']:.2f}; {rd['peak'] / i['peak']:.2f} |")
    if a.baseline is not None:
        print(f"\nThe `records` step from `{a.baseline}`, in the same rounds (there, every "
              "record is whole when built, so reading it costs nothing more):\n")
        print("| K | every `Loop`: time, memory | **time / igraph** (wall, CPU) "
              "| **memory / igraph** |")
        print("|---|---:|---:|---:|")
        for k in a.k:
            if not have(("igraph", k, ROOT), ("records", k, a.baseline)):
                continue
            i, c = best[("igraph", k, ROOT)], best[("records", k, a.baseline)]
            print(f"| {k} | {_s(c['wall'])}, {_gb(c['peak'])} "
                  f"| **{c['wall'] / i['wall']:.2f}, {c['cpu'] / i['cpu']:.2f}** "
                  f"| **{c['peak'] / i['peak']:.2f}** |")
    if any(have((f, k, ROOT), (f"{f}-whole", k, ROOT)) for k in a.out_k for f in ("json", "csv")):
        print("\n| K | format | streamed (`write_loops`): time, peak | whole text, then written: "
              "time, peak | **peak streamed / whole** |")
        print("|---|---|---:|---:|---:|")
        for k in a.out_k:
            for fmt in ("json", "csv"):
                if not have((fmt, k, ROOT), (f"{fmt}-whole", k, ROOT)):
                    continue
                s, w = best[(fmt, k, ROOT)], best[(f"{fmt}-whole", k, ROOT)]
                print(f"| {k} | {fmt} | {_s(s['wall'])}, {_gb(s['peak'])} "
                      f"| {_s(w['wall'])}, {_gb(w['peak'])} | **{s['peak'] / w['peak']:.2f}** |")


if __name__ == "__main__":
    main()
