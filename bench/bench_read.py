"""Reading a store for the in-memory engine, side by side with the raw client.

    .venv/bin/python bench/bench_read.py [--deals 100000] [--entities 2000] [--repeat 5]

A graph of tests/test_faults.py's make_corpus is ingested into an embedded
FalkorDB. **circfin**: ``circfin.loops.from_store.snapshot(store)``, everything
the engine (``circfin loops``) reads, as the DataFrame and dicts it works on.
**raw**: the very queries that snapshot sent, replayed through the falkordb
client's ``ro_query`` (the same columns, parsed by the client into its lists of
rows, nothing more), one after another in the same process. Alternating rounds;
best of ``--repeat`` each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _checkout import ensure_circfin

ensure_circfin()
sys.path.insert(0, str(Path(__file__).resolve().parents[1].parent))

from circfin.ingest import pipeline  # noqa: E402
from circfin.loops.from_store import snapshot  # noqa: E402
from circfin.store.embedded import EmbeddedServer  # noqa: E402
from circfin.store.falkordb_store import FalkorDBStore  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--entities", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.test_faults import make_corpus

    tmp = Path(tempfile.mkdtemp())
    files = make_corpus(tmp / "c", n_entities=a.entities, n_deals=a.deals)
    srv = EmbeddedServer(tmp / "home")
    try:
        store = FalkorDBStore(srv.connect(), graph="circfin")
        pipeline.ingest(store, files)
        sent: list[tuple[str, dict]] = []
        real_read = store.read

        def spy(query, params=None, **kw):
            sent.append((query, dict(params or {})))
            return real_read(query, params, **kw)

        store.read = spy  # type: ignore[method-assign]
        snap = snapshot(store)
        store.read = real_read  # type: ignore[method-assign]
        graph = store._db.select_graph(store.graph_name)  # noqa: SLF001
        ours: list[float] = []
        raw: list[float] = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            snapshot(store)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            for q, p in sent:
                graph.ro_query(q, p).result_set  # noqa: B018
            raw.append(time.perf_counter() - t)
    finally:
        srv.stop()
    print(f"{len(snap.deals):,} deals, {len(snap.entities):,} entities; {len(sent)} queries; "
          f"deal columns: {', '.join(snap.deals.columns)}")
    print(f"| measure | best of {a.repeat} | median |\n|---|---:|---:|")
    print(f"| circfin `snapshot` | {min(ours):.3f} s | {statistics.median(ours):.3f} s |")
    print(f"| raw client, the same queries | {min(raw):.3f} s | {statistics.median(raw):.3f} s |")
    print(f"| **circfin / raw** | **{min(ours) / min(raw):.2f}** | "
          f"{statistics.median(ours) / statistics.median(raw):.2f} |")


if __name__ == "__main__":
    main()
