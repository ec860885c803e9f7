"""The atomic write: one GRAPH.QUERY (circfin's write) against the MULTI/EXEC it
replaced, side by side on the same statements and the same embedded server.

    .venv/bin/python bench/bench_write.py [--deals 20000] [--entities 2000] [--repeat 3]

Each round plans one ingest of a generated corpus (tests/test_faults.py's
make_corpus), then times ``store.write`` of its statements into a fresh graph
both ways; then 100 more deals on top of the full graph, both ways.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _checkout import ensure_circfin

ensure_circfin()
sys.path.insert(0, str(Path(__file__).resolve().parents[1].parent))

from circfin.ingest import pipeline  # noqa: E402
from circfin.store.embedded import EmbeddedServer  # noqa: E402
from circfin.store.falkordb_store import FalkorDBStore, _check_params  # noqa: E402


def multi_exec_write(store: FalkorDBStore, statements) -> None:
    """The write as it was: one MULTI/EXEC of one GRAPH.QUERY per statement."""
    pipe = store._db.connection.pipeline(transaction=True)  # noqa: SLF001
    for query, params in statements:
        pipe.execute_command("GRAPH.QUERY", store.graph_name,
                             store._graph._build_params_header(_check_params(params)) + query,  # noqa: SLF001
                             "--compact")
    pipe.execute(raise_on_error=True)


def statements_for(store: FalkorDBStore, files) -> list:
    captured: list = []

    class Capture:
        def __getattr__(self, name):
            return getattr(store, name)

        def write(self, statements):
            captured.extend(statements)

    pipeline.ingest(Capture(), files)
    return captured


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=20000)
    ap.add_argument("--entities", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.test_faults import make_corpus

    tmp = Path(tempfile.mkdtemp())
    files = make_corpus(tmp / "c", n_entities=a.entities, n_deals=a.deals)
    more = make_corpus(tmp / "m", n_entities=a.entities, n_deals=100, prefix="M", seed=9)[1:]
    srv = EmbeddedServer(tmp / "home")
    db = srv.connect()
    results: dict[str, list[float]] = {}
    try:
        for _ in range(a.repeat):
            for name, fn in (("one query", FalkorDBStore.write), ("MULTI/EXEC", multi_exec_write)):
                store = FalkorDBStore(db, graph=f"b_{uuid.uuid4().hex[:8]}")
                store.ensure_schema()
                stmts = statements_for(store, files)
                t = time.perf_counter()
                fn(store, stmts)
                results.setdefault(f"{a.deals:,} deals into an empty graph, {name}", []).append(
                    time.perf_counter() - t)
                stmts = statements_for(store, more)
                t = time.perf_counter()
                fn(store, stmts)
                results.setdefault(f"100 deals onto {a.deals:,}, {name}", []).append(
                    time.perf_counter() - t)
                store.clear()
    finally:
        srv.stop()
    # Reopening: a fresh server per way of writing, the corpus written, SIGKILL, then
    # the time until the next read answers (the AOF is replayed on start).
    for name, fn in (("one query", FalkorDBStore.write), ("MULTI/EXEC", multi_exec_write)):
        for _ in range(a.repeat):
            srv = EmbeddedServer(tmp / f"home-{uuid.uuid4().hex[:8]}")
            store = FalkorDBStore(srv.connect(), graph="circfin")
            store.ensure_schema()
            fn(store, statements_for(store, files))
            fn(store, statements_for(store, more))
            os.kill(srv.pid(), signal.SIGKILL)
            store.close()
            t = time.perf_counter()
            try:
                again = FalkorDBStore(srv.connect(), graph="circfin")
                n = again.read("MATCH (d:Deal) RETURN count(d) AS n")[0]["n"]
                results.setdefault(f"reopen after SIGKILL ({n:,} deals), {name}", []).append(
                    time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 - the old way may not reopen at all
                results.setdefault(f"reopen after SIGKILL, {name}", []).append(float("nan"))
                print(f"{name}: {type(e).__name__}: {str(e).splitlines()[0]}", file=sys.stderr)
            finally:
                srv.stop()
    print(f"| measure | best of {a.repeat} | median |\n|---|---:|---:|")
    for k, v in results.items():
        print(f"| {k} | {min(v):.3f} s | {statistics.median(v):.3f} s |")


if __name__ == "__main__":
    main()
