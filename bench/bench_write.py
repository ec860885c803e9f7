"""Writing deals, side by side with raw references on the same embedded server.

    .venv/bin/python bench/bench_write.py --only goals [--deals 100000] [--repeat 3]
    .venv/bin/python bench/bench_write.py --only atomic [--deals 20000] [--entities 2000] [--repeat 3]
    .venv/bin/python bench/bench_write.py --only floor [--deals 20000] [--repeat 3]

``goals`` (issue 16): ``circfin.ingest`` of files from tests/test_faults.py's
make_corpus against a raw batched MERGE of the same rows through the falkordb
client (bench/_raw.py): new deals into a graph holding the entities (deals a
second), 100 new deals onto the full graph, and the unchanged deals file again.
Each ingest is timed whole (reading the file, validating, planning, writing).

``floor`` (what 20,000 new deals a second would take here): new deals into a graph
of entities in batches of 2,000, each way on its own deals: circfin's whole ingest;
its planning alone (reading, validating, hashing: a dry run); its ``upsert_deals``
statement alone, rows as the ingest sends them; that statement with CREATE for
MERGE; a bare CREATE of the Deal, its MADE and TO links and a PAYS edge carrying
only the deal id; and the raw batched MERGE.

``atomic``: each round plans one ingest, then times ``store.write`` of its
statements into a fresh graph as one GRAPH.QUERY and as the MULTI/EXEC it
replaced; then 100 more deals on top of the full graph, both ways.
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
from _raw import raw_merge, raw_rows

ensure_circfin()
sys.path.insert(0, str(Path(__file__).resolve().parents[1].parent))

from circfin.ingest import pipeline  # noqa: E402
from circfin.store.embedded import EmbeddedServer  # noqa: E402
from circfin.store.falkordb_store import FalkorDBStore, _check_params, _params_header  # noqa: E402


def multi_exec_write(store: FalkorDBStore, statements) -> None:
    """The write as it was: one MULTI/EXEC of one GRAPH.QUERY per statement."""
    pipe = store._db.connection.pipeline(transaction=True)  # noqa: SLF001
    for query, params in statements:
        pipe.execute_command("GRAPH.QUERY", store.graph_name,
                             _params_header(_check_params(params)) + query,  # noqa: SLF001
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


def goals(a: argparse.Namespace) -> None:
    from tests.test_faults import make_corpus

    tmp = Path(tempfile.mkdtemp())
    ents, deals = make_corpus(tmp / "c", n_entities=a.entities, n_deals=a.deals)
    rows = raw_rows(deals)
    srv = EmbeddedServer(tmp / "home")
    db = srv.connect()
    res: dict[str, list[tuple[float, float]]] = {}

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    try:
        ours = FalkorDBStore(db, graph="ours")
        raw = FalkorDBStore(db, graph="raw")
        for s in (ours, raw):
            pipeline.ingest(s, [ents])
        t_ours = timed(lambda: pipeline.ingest(ours, [deals]))
        t_raw = raw_merge(raw._db.select_graph(raw.graph_name), rows)  # noqa: SLF001
        res[f"{a.deals:,} new deals into a graph of {a.entities:,} entities"] = [(t_ours, t_raw)]
        raw.clear()
        for k in range(a.repeat):
            more = make_corpus(tmp / f"m{k}", n_entities=a.entities, n_deals=100,
                               prefix=f"M{k}_", seed=9 + k)[1]
            other = raw_rows(make_corpus(tmp / f"r{k}", n_entities=a.entities, n_deals=100,
                                         prefix=f"R{k}_", seed=9 + k)[1])
            t_ours = timed(lambda more=more: pipeline.ingest(ours, [more]))
            t_raw = raw_merge(ours._db.select_graph(ours.graph_name), other)  # noqa: SLF001
            res.setdefault(f"100 new deals onto {a.deals:,}", []).append((t_ours, t_raw))
        for _ in range(a.repeat):
            t_ours = timed(lambda: pipeline.ingest(ours, [deals]))
            t_raw = raw_merge(ours._db.select_graph(ours.graph_name), rows)  # noqa: SLF001
            res.setdefault(f"the unchanged {a.deals:,}-deal file again", []).append((t_ours, t_raw))
    finally:
        srv.stop()
    print(f"| measure | circfin (best of {a.repeat}) | raw MERGE (best) | circfin / raw | "
          "circfin deals a second |\n|---|---:|---:|---:|---:|")
    for k, v in res.items():
        o, r = min(x for x, _ in v), min(y for _, y in v)
        n = a.deals if k.startswith(f"{a.deals:,} new") else None
        rate = f"{n / o:,.0f}" if n else ""
        print(f"| {k} | {o:.3f} s | {r:.3f} s | **{o / r:.2f}** | {rate} |")


BARE_CREATE = """
UNWIND $rows AS row
MATCH (p:Entity {id: row.payer})
MATCH (q:Entity {id: row.payee})
CREATE (p)-[:MADE]->(:Deal {id: row.deal_id})-[:TO]->(q)
CREATE (p)-[:PAYS {deal_id: row.deal_id}]->(q)
RETURN count(*) AS n
"""


def floor(a: argparse.Namespace) -> None:
    from circfin import queries
    from tests.test_faults import make_corpus

    tmp = Path(tempfile.mkdtemp())
    ents = make_corpus(tmp / "c", n_entities=a.entities, n_deals=1)[0]
    srv = EmbeddedServer(tmp / "home")
    res: dict[str, list[float]] = {}
    upsert = queries.load("upsert_deals").text
    create = upsert.replace("MERGE (d:Deal {id: row.deal_id})\n", "").replace(
        "SET d = {id: row.deal_id", "CREATE (d:Deal {id: row.deal_id").replace(
        "key: toLower(row.deal_id)}", "key: toLower(row.deal_id)})")
    assert create.count("CREATE (d:Deal") == 1
    try:
        store = FalkorDBStore(srv.connect(), graph="floor")
        pipeline.ingest(store, [ents])
        n = 0
        for _ in range(a.repeat):
            for name in ("circfin ingest", "circfin planning alone (dry run)", "upsert_deals",
                         "upsert_deals with CREATE", "bare CREATE", "raw MERGE"):
                n += 1
                deals = make_corpus(tmp / f"f{n}", n_entities=a.entities, n_deals=a.deals,
                                    prefix=f"F{n}_", seed=100 + n)[1]
                if name.startswith("circfin"):
                    t = time.perf_counter()
                    pipeline.ingest(store, [deals], dry_run="dry run" in name)
                    t = time.perf_counter() - t
                elif name == "raw MERGE":
                    t = raw_merge(store._db.select_graph(store.graph_name), raw_rows(deals))  # noqa: SLF001
                else:
                    rows = [r for q, p in statements_for(store, [deals]) if q == upsert for r in p["rows"]]
                    text = {"upsert_deals": upsert, "bare CREATE": BARE_CREATE}.get(name, create)
                    t = time.perf_counter()
                    for i in range(0, len(rows), 2000):
                        store._db.select_graph(store.graph_name).query(text, {"rows": rows[i:i + 2000]})  # noqa: SLF001
                    t = time.perf_counter() - t
                res.setdefault(name, []).append(t)
    finally:
        srv.stop()
    print(f"| {a.deals:,} new deals, batches of 2,000 | best of {a.repeat} | deals a second |\n|---|---:|---:|")
    for k, v in res.items():
        print(f"| {k} | {min(v):.3f} s | {a.deals / min(v):,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("goals", "atomic", "floor"), default="goals")
    ap.add_argument("--deals", type=int, default=None, help="default: 100000 (goals), 20000 (atomic)")
    ap.add_argument("--entities", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if a.only == "goals":
        a.deals = a.deals or 100_000
        goals(a)
        return
    if a.only == "floor":
        a.deals = a.deals or 20_000
        floor(a)
        return
    a.deals = a.deals or 20_000
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
