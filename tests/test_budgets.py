"""Issue 15: every command that enumerates loops stays within a time and loop budget.

A dense deal graph (every entity pays every other) has astronomically many
loops. These tests are guards against unbounded work, not speed benchmarks:
the CPU and memory bounds are generous (a 2 s budget must finish well under
30 s of CPU and 1.5 GB on a shared 2-core machine), and a cut result must
still be correct: every loop it holds is a real cycle of real deals, and it
says what was cut (on stderr, and as JSON fields).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from circfin.errors import InputError
from circfin.graph.model import Loop
from circfin.loops.engine import LoopIndex, find_loops
from circfin.loops.from_store import (
    DEFAULT_MAX_LOOPS,
    DEFAULT_TIME_BUDGET,
    Budget,
    closed_loops,
)
from circfin.risk.nullmodel import significance
from circfin.risk.score import score_loops

from .conftest import DEALS_HEADER, ENTITIES_HEADER, ROOT, write
from .oracle import brute_force_loops

# A 2 s budget: far below this unless the work is unbounded. CPU seconds, not wall-clock:
# unbounded work burns CPU, while a busy shared machine only stretches the clock.
CPU_S = 30.0
RSS_KB = 1_500_000  # peak RSS (VmHWM, or ru_maxrss), in KB


def dense_deals(n: int, *, dated: bool = True) -> pd.DataFrame:
    """Every entity pays every other once: n (n - 1) deals, sum_k C(n, k) (k - 1)! loops."""
    ids = [f"e{i:02d}" for i in range(n)]
    rows = []
    k = 0
    for a in ids:
        for b in ids:
            if a != b:
                k += 1
                rows.append({"deal_id": f"D{k:05d}", "date": f"2025-0{1 + k % 9}-1{k % 9}" if dated else None,
                             "payer": a, "payee": b, "type": "loan", "amount_usd": 1e6 * (1 + k % 50),
                             "amount_qualifier": "exact", "status": "signed", "confidence": "high"})
    return pd.DataFrame(rows)


def assert_real_cycles(loops: list[Loop], deals: pd.DataFrame) -> None:
    """Each loop: distinct entities, legs that chain round them, deals that pay each leg."""
    pays = {r.deal_id: (r.payer, r.payee) for r in deals.itertuples()}
    keys = set()
    for lp in loops:
        n = len(lp.ids)
        assert n >= 2 and len(set(lp.ids)) == n, lp.key
        assert lp.key == ">".join(lp.ids) and lp.ids[0] == min(lp.ids)
        assert len(lp.legs) == n
        for i, leg in enumerate(lp.legs):
            assert (leg.payer_id, leg.payee_id) == (lp.ids[i], lp.ids[(i + 1) % n])
            assert leg.deal_ids and all(pays[d] == (leg.payer_id, leg.payee_id) for d in leg.deal_ids)
        keys.add(lp.key)
    assert len(keys) == len(loops), "a loop came twice"


# ---- the engine and the library ------------------------------------------------------

def test_max_loops_cut_is_a_subset_of_the_true_loops() -> None:
    deals = dense_deals(6)  # 409 loops of 2..6 entities: the oracle can list them all
    truth = brute_force_loops(deals, max_len=6)
    assert len(truth) == 409
    for cap in (1, 50, 408):
        got = find_loops(deals, max_len=6, max_loops=cap)
        assert len(got) == cap and not got.complete and "max_loops" in got.note
        assert_real_cycles(list(got), deals)
        for lp in got:
            assert lp.key in truth and tuple(leg.deal_ids for leg in lp.legs) == truth[lp.key]
    whole = find_loops(deals, max_len=6, max_loops=409)
    assert whole.complete and {lp.key for lp in whole} == set(truth)


def test_time_budget_on_a_dense_graph_returns_real_loops_in_time() -> None:
    deals = dense_deals(40)
    t = time.perf_counter()
    got = find_loops(deals, max_len=8, time_budget=0.5)
    assert time.perf_counter() - t < 10
    assert not got.complete and "time_budget=0.5s" in got.note
    assert len(got) > 0
    assert_real_cycles(got[:2000], deals)


def test_reserve_per_loop_leaves_time_for_the_work_after_the_search() -> None:
    deals = dense_deals(40)
    got = find_loops(deals, max_len=6, time_budget=1.0, reserve_per_loop=1e-3)
    assert not got.complete and len(got) <= 1000  # 1 s at 1 ms a loop
    assert "leaves time for" in got.note
    with pytest.raises(ValueError, match="reserve_per_loop"):
        find_loops(deals, reserve_per_loop=-1)


def test_budget_defaults_note_and_fields() -> None:
    assert (DEFAULT_TIME_BUDGET, DEFAULT_MAX_LOOPS) == (30.0, 100_000)
    b = Budget()
    assert (b.time_budget, b.max_loops, b.complete, b.note) == (30.0, 100_000, True, None)
    off = Budget(time_budget=0, max_loops=0)
    assert off.time_budget is None and off.max_loops is None and off.remaining() is None
    b.stop("max_loops", 100_000)
    b.stop("time_budget", 5)  # the first reason stays
    assert b.note.startswith("stopped after 100,000 loops (--max-loops 100000): results are partial;")
    assert "raise --max-loops" in b.note
    d = b.to_dict()
    assert d["complete"] is False and d["truncated"] == b.note
    assert d["budget"]["stopped_by"] == "max_loops" and d["budget"]["loops_found"] == 100_000
    for bad in ({"time_budget": -1}, {"max_loops": -5}, {"time_budget": float("nan")}):
        with pytest.raises(InputError):
            Budget(**bad)  # type: ignore[arg-type]


def test_take_stops_at_the_deadline_after_the_minimum() -> None:
    b = Budget(time_budget=0.01, max_loops=0)
    time.sleep(0.02)
    got = list(b.take(range(1000), count=1000, at_least=40))
    assert 40 <= len(got) < 1000 and not b.complete
    assert b.to_dict()["budget"]["loops_through"] == len(got)
    assert f"{len(got)} shown" in b.note


def test_closed_loops_of_new_deals_are_bounded() -> None:
    deals = dense_deals(30)
    old, new = deals.iloc[: len(deals) // 2], deals.iloc[len(deals) // 2:]
    b = Budget(time_budget=0, max_loops=500)
    got = closed_loops(old, new.to_dict("records"), names={}, parents={}, max_len=6, budget=b)
    assert len(got) <= 500 and not got.complete and not b.complete
    assert "--max-loops 500" in got.note
    assert_real_cycles(list(got), deals)
    b = Budget(time_budget=0.5, max_loops=0)
    t = time.perf_counter()
    got = closed_loops(old, new.to_dict("records"), names={}, parents={}, max_len=8, budget=b)
    assert time.perf_counter() - t < 10 and not b.complete
    assert_real_cycles(list(got)[:2000], deals)
    # The index itself takes the same budgets per deal.
    idx = LoopIndex(old, max_len=6)
    one = idx.add(new.iloc[0].to_dict(), max_loops=3)
    assert len(one) <= 3


def test_scoring_stops_at_the_deadline() -> None:
    deals = dense_deals(12)
    loops = find_loops(deals, max_len=5, max_loops=3000)
    ents = [{"id": f"e{i:02d}", "name": f"E{i}"} for i in range(12)]
    b = Budget(time_budget=0.001, max_loops=0)
    time.sleep(0.01)
    scored = score_loops(loops, deals, ents, now="2026-01-01", budget=b)
    assert 100 <= len(scored) < 3000 and not b.complete and "scoring" in b.note


def test_significance_stops_counting_and_says_so() -> None:
    deals = dense_deals(30)
    b = Budget(time_budget=0, max_loops=2000)
    res = significance(deals, n=50, max_len=5, budget=b)
    assert not res.complete and "observed" in res.note and res.n == 0
    assert sum(v["observed"] for v in res.by_length.values()) == 2000
    assert all(v["null_mean"] is None and v["p_value"] is None for v in res.by_length.values())
    d = res.to_dict()
    assert d["complete"] is False and d["truncated"] == res.note
    # A time budget cuts the shuffles; those counted in full are used.
    small = dense_deals(7)
    b = Budget(time_budget=0.3, max_loops=0)
    t = time.perf_counter()
    res = significance(small, n=100_000, max_len=4, budget=b)
    assert time.perf_counter() - t < 10
    assert not res.complete and 0 < res.n < 100_000 and "shuffle" in res.note
    assert res.params["n_requested"] == 100_000


# ---- the commands, end to end --------------------------------------------------------

@pytest.fixture(scope="module")
def dense_store(server, tmp_path_factory) -> str:
    """A graph of 60 entities with a deal each way between every pair (3,540 deals)."""
    import uuid

    from circfin.store.falkordb_store import FalkorDBStore

    folder = tmp_path_factory.mktemp("dense")
    deals = dense_deals(60)
    ents = write(folder / "entities.csv", ENTITIES_HEADER + "".join(
        f"e{i:02d},Entity {i},other,,,US,1000000000,,,,https://example.org/{i}\n" for i in range(60)))
    body = "".join(f"{r.deal_id},{r.date},{r.payer},{r.payee},loan,{int(r.amount_usd)},exact,signed,,"
                   f"https://example.org/{r.deal_id},high\n" for r in deals.itertuples())
    dls = write(folder / "deals.csv", DEALS_HEADER + body)
    graph = f"t_dense_{uuid.uuid4().hex[:8]}"
    proc = _run(server, graph, "ingest", str(ents), str(dls))
    assert proc.returncode == 0, proc.stderr
    yield graph
    FalkorDBStore(server.connect(), graph=graph).clear()


# The command in a child that reports its own CPU time and peak RSS. Not ru_maxrss:
# Linux carries the forking parent's high-water mark (pytest's) over the exec into
# it; VmHWM is the child's own (ru_maxrss where /proc is missing).
_RUSAGE = """
import resource, runpy, sys
sys.argv = ["circfin", *sys.argv[1:]]
def peak():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    runpy.run_module("circfin", run_name="__main__")
finally:
    u = resource.getrusage(resource.RUSAGE_SELF)
    sys.stderr.write(f"\\n@@ {u.ru_utime + u.ru_stime:.3f} {peak()}\\n")
"""


def _run(server, graph: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    env.update({"CIRCFIN_HOME": str(server.home), "CIRCFIN_GRAPH": graph, "COLUMNS": "200",
                "NO_COLOR": "1"})
    return subprocess.run([sys.executable, "-c", _RUSAGE, *args], check=False, capture_output=True,
                          text=True,
                          env=env, timeout=300, cwd=ROOT)


def _measured(proc: subprocess.CompletedProcess[str]) -> tuple[float, int, str]:
    """(CPU seconds, peak RSS in KB, stderr without the measurement line) of one command."""
    head, _, tail = proc.stderr.rpartition("\n@@ ")
    cpu, rss = tail.split()
    return float(cpu), int(rss), head


def _bounded(proc: subprocess.CompletedProcess[str], what: str) -> str:
    cpu, rss, err = _measured(proc)
    print(f"{what}: {cpu:.1f} s of CPU, peak RSS {rss / 1024:.0f} MB")
    assert cpu < CPU_S, f"{what} took {cpu:.1f} s of CPU"
    assert rss < RSS_KB, f"{what} peaked at {rss / 1024:.0f} MB"
    return err


def _partial_json(data: dict[str, Any]) -> None:
    assert data["complete"] is False
    assert "results are partial" in data["truncated"]
    assert data["budget"]["stopped_by"] in ("time_budget", "time_projected", "max_loops",
                                           "cypher_timeout")


@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_loops_command_on_a_dense_graph(server, dense_store: str, fmt: str) -> None:
    proc = _run(server, dense_store, "loops", "--time-budget", "2", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, f"loops --format {fmt}")
    assert "partial result" in err and "--time-budget 2" in err
    if fmt == "json":
        data = json.loads(proc.stdout)
        _partial_json(data)
        assert data["loops"] and all(len(lp["ids"]) == len(set(lp["ids"])) for lp in data["loops"])
    elif fmt == "csv":
        assert proc.stdout.startswith("key,length,") and proc.stdout.count("\n") > 1
        assert proc.stdout.count("key,length,") == 1  # one header, however many chunks
    else:
        assert "circular-financing loop" in proc.stdout  # one or more, as the budget allowed


def test_loops_command_max_loops_and_a_complete_json_list(server, dense_store: str) -> None:
    proc = _run(server, dense_store, "loops", "--max-loops", "500", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    _bounded(proc, "loops --max-loops 500")
    data = json.loads(proc.stdout)
    _partial_json(data)
    assert len(data["loops"]) == 500 and data["budget"]["stopped_by"] == "max_loops"
    assert "stopped after 500 loops (--max-loops 500)" in data["truncated"]
    # Nothing cut: the plain list, as before.
    proc = _run(server, dense_store, "loops", "--max-len", "2", "--format", "json")
    assert proc.returncode == 0 and "partial" not in proc.stderr
    assert isinstance(json.loads(proc.stdout), list) and len(json.loads(proc.stdout)) == 60 * 59 // 2


def test_loops_command_default_budget(server, dense_store: str) -> None:
    """No budget option: the defaults (30 s, 100,000 loops) still bound the command."""
    proc = _run(server, dense_store, "loops", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    cpu, rss, err = _measured(proc)
    print(f"loops (default budget): {cpu:.1f} s of CPU, peak RSS {rss / 1024:.0f} MB")
    assert cpu < 2 * DEFAULT_TIME_BUDGET + 15 and rss < RSS_KB
    assert "partial result" in err
    assert proc.stdout.count("\n") - 1 <= DEFAULT_MAX_LOOPS


def test_score_command_on_a_dense_graph(server, dense_store: str) -> None:
    proc = _run(server, dense_store, "score", "--time-budget", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, "score")
    assert "partial result" in err
    data = json.loads(proc.stdout)
    _partial_json(data)
    assert data["loops"] and data["total"] >= len(data["loops"])


def test_graph_command_on_a_dense_graph(server, dense_store: str, tmp_path: Path) -> None:
    proc = _run(server, dense_store, "graph", "--out", str(tmp_path / "g.html"), "--entity", "e05",
                "--time-budget", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, "graph")
    assert "partial result" in err
    data = json.loads(proc.stdout)
    _partial_json(data)
    assert (tmp_path / "g.html").exists() and data["loops"] > 0


def test_export_command_on_a_dense_graph(server, dense_store: str, tmp_path: Path) -> None:
    out = tmp_path / "web.graphml"
    proc = _run(server, dense_store, "export", "--out", str(out), "--time-budget", "2")
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, "export")
    assert "partial result" in err
    import networkx as nx

    g = nx.read_graphml(out)
    assert g.graph["loop_counts"] == "partial" and g.number_of_edges() == 3540
    assert sum(d["loops"] for _, d in g.nodes(data=True)) > 0


def test_report_command_on_a_dense_graph_refuses_in_time(server, dense_store: str,
                                                         tmp_path: Path) -> None:
    proc = _run(server, dense_store, "report", "--out", str(tmp_path / "r"), "--time-budget", "2",
                "--format", "json")
    err = _bounded(proc, "report")
    assert proc.returncode == 1
    assert "no report written" in err and "--time-budget 2" in err and "needs every loop" in err
    assert not (tmp_path / "r" / "report.json").exists()


def test_significance_command_on_a_dense_graph(server, dense_store: str) -> None:
    proc = _run(server, dense_store, "significance", "--time-budget", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, "significance")
    assert "partial result" in err
    data = json.loads(proc.stdout)
    _partial_json(data)


def test_ingest_watch_loops_on_a_dense_graph(server, tmp_path: Path) -> None:
    import uuid

    from circfin.store.falkordb_store import FalkorDBStore

    deals = dense_deals(45)
    body = "".join(f"{r.deal_id},{r.date},{r.payer},{r.payee},loan,{int(r.amount_usd)},exact,signed,,"
                   f"https://example.org/{r.deal_id},high\n" for r in deals.itertuples())
    dls = write(tmp_path / "deals.csv", DEALS_HEADER + body)
    graph = f"t_watch_{uuid.uuid4().hex[:8]}"
    try:
        proc = _run(server, graph, "ingest", str(dls), "--watch-loops", "--time-budget", "2",
                    "--format", "json")
        assert proc.returncode == 0, proc.stderr
        err = _bounded(proc, "ingest --watch-loops")
        assert "partial result" in err
        data = json.loads(proc.stdout)
        _partial_json(data)
        assert data["deals"]["new"] == len(deals)  # the ingest itself is never cut
        assert all(len(lp["ids"]) == len(set(lp["ids"])) for lp in data["closed_loops"])
    finally:
        FalkorDBStore(server.connect(), graph=graph).clear()


def test_cypher_engine_gets_the_time_budget(server, dense_store: str) -> None:
    proc = _run(server, dense_store, "loops", "--engine", "cypher", "--max-len", "5",
                "--time-budget", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, "loops --engine cypher")
    assert "partial result" in err
    data = json.loads(proc.stdout)
    _partial_json(data)
    assert data["budget"]["stopped_by"] in ("cypher_timeout", "max_loops")


def test_dense_helper_counts() -> None:
    d = dense_deals(5)
    assert len(d) == 20 and np.all(d["payer"] != d["payee"])


def test_shock_command_on_a_dense_graph(server, dense_store: str) -> None:
    proc = _run(server, dense_store, "shock", "e05", "--max-loops", "2000", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    err = _bounded(proc, "shock")
    assert "partial result" in err
    data = json.loads(proc.stdout)
    _partial_json(data)
    assert len(data["loops"]) == 2000 and data["budget"]["stopped_by"] == "max_loops"


def test_streamed_json_is_the_same_text_as_the_whole_dump() -> None:
    import io

    from rich.console import Console

    from circfin.cli.budget import write_json_with_loops, write_loops
    from circfin.cli.render import loops_json
    from circfin.safe import json_dumps

    deals = dense_deals(5)
    loops = find_loops(deals, max_len=4)
    quiet = Console(file=io.StringIO())
    buf = io.StringIO()
    write_loops(loops, "json", Budget(time_budget=0, max_loops=0), out=quiet, err=quiet, stream=buf)
    assert buf.getvalue() == loops_json(list(loops)) + "\n"
    empty = io.StringIO()
    write_loops([], "json", Budget(time_budget=0, max_loops=0), out=quiet, err=quiet, stream=empty)
    assert json.loads(empty.getvalue()) == []
    b = Budget(time_budget=0, max_loops=0)
    buf = io.StringIO()
    fields = {"files": ["a.csv"], "deals": {"new": 3}, "warnings": ["x\u202ey"]}
    write_json_with_loops(fields, "closed_loops", loops, b, err=quiet, stream=buf)
    whole = {**fields, "closed_loops": [lp.to_dict() for lp in loops], **b.to_dict()}
    got = json.loads(buf.getvalue())
    got["budget"]["elapsed_s"] = whole["budget"]["elapsed_s"]
    assert got == whole and "\u202e" not in buf.getvalue()  # bidi kept as a \\u escape
    assert buf.getvalue().startswith(json_dumps(fields, indent=2)[:-2])
    # A cut result: an object with the loops and what was cut.
    b = Budget(time_budget=0, max_loops=10)
    cut = find_loops(deals, max_len=4, max_loops=10)
    b.stop("max_loops", 10)
    buf = io.StringIO()
    write_loops(cut, "json", b, out=quiet, err=quiet, stream=buf)
    data = json.loads(buf.getvalue())
    assert [lp["key"] for lp in data["loops"]] == [lp.key for lp in cut]
    assert data["complete"] is False and "--max-loops 10" in data["truncated"]


def test_cypher_max_loops_cut_is_a_subset_of_the_true_loops(store) -> None:
    from circfin.loops.from_store import loops_from_store

    from .graphload import load_frame

    deals = dense_deals(5)  # 84 loops
    load_frame(store, deals)
    truth = brute_force_loops(deals, max_len=5)
    whole, complete, _ = loops_from_store(store, engine="cypher", max_len=5, status=None)
    assert complete and {lp.key for lp in whole} == set(truth)
    for cap in (1, 7, 83):
        got, complete, note = loops_from_store(store, engine="cypher", max_len=5, status=None,
                                               max_loops=cap)
        assert not complete and len(got) == cap and f"--max-loops {cap}" in note
        assert_real_cycles(got, deals)
        assert all(tuple(leg.deal_ids for leg in lp.legs) == truth[lp.key] for lp in got)
