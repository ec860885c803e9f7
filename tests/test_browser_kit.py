"""The Neo4j Browser kit: its files, Browser's URL per store, and the browser_* queries,
which must give the rows the rest of circfin computes, on FalkorDB and (where one runs) Neo4j."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from circfin import queries
from circfin.ingest import ingest
from circfin.loops.from_store import DEFAULT_STATUSES, loops_from_store, snapshot
from circfin.report.browser import PARAM_EXAMPLES, browser_kit, browser_url, read_only_queries
from circfin.report.report import write_report

from .conftest import DEALS_HEADER, ROOT, SEED, write

STARGATE = "nvidia>openai>oracle"
STATUSES = list(DEFAULT_STATUSES)


@pytest.fixture
def seeded(store):
    ingest(store, [SEED])
    return store


def test_kit_files(tmp_path):
    kit = browser_kit(tmp_path / "kit", "bolt://neo4j:hunter2@graph.example.org:7687")
    names = {p.relative_to(kit.out_dir).as_posix() for p in kit.files}
    assert {"circfin.grass", "guide.html", "README.md", "circfin-favorites.zip",
            "favorites/loops.cypher", "favorites/browser_loop.cypher"} <= names
    for p in kit.files:
        assert p.is_file() and "hunter2" not in p.read_bytes().decode("utf-8", "replace")
    grass = (kit.out_dir / "circfin.grass").read_text(encoding="utf-8")
    assert re.search(r"node\.Entity \{[^}]*caption: '\{name\}'", grass)
    assert re.search(r"relationship\.PAYS \{[^}]*caption: '\{amount_usd\}'", grass)
    assert grass.count("{") == grass.count("}")


def test_favourites_are_the_read_only_catalogue_with_params(tmp_path):
    kit = browser_kit(tmp_path, None)
    favs = sorted((kit.out_dir / "favorites").glob("*.cypher"))
    read_only = {q.name for q in read_only_queries()}
    assert {f.stem for f in favs} == read_only
    assert {"upsert_deals", "delete_deals", "report_record_run"}.isdisjoint(read_only)
    assert {"loops", "loops_through", "hubs", "browser_web", "browser_new_loops"} <= read_only
    with zipfile.ZipFile(kit.out_dir / "circfin-favorites.zip") as z:
        assert sorted(z.namelist()) == [f.name for f in favs]
        for f in favs:
            assert z.read(f.name).decode("utf-8") == f.read_text(encoding="utf-8")
    for f in favs:
        q = queries.load(f.stem)
        text = f.read_text(encoding="utf-8")
        assert text.startswith(f"// circfin: {q.name}\n")
        set_params = re.findall(r"^:param (\w+) => .+;$", text, flags=re.M)
        assert set_params == list(q.params)
        assert not re.search(r"\b(CREATE|MERGE|DELETE|SET|REMOVE)\b", text.split("\n", 2)[2])


def test_guide_escapes_the_queries(tmp_path):
    kit = browser_kit(tmp_path, "neo4j://localhost")
    guide = (kit.out_dir / "guide.html").read_text(encoding="utf-8")
    assert guide.startswith('<article class="guide">') and "<script" not in guide
    assert "a.id &lt; n.id" in guide  # loops.cypher's comparison, not a tag
    assert guide.count('class="pre-scrollable code runnable"') > len(read_only_queries())
    assert "http://localhost:7474/browser/" in guide


@pytest.mark.parametrize(("spec", "url"), [
    ("bolt://localhost:7687", "http://localhost:7474/browser/?dbms=bolt%3A%2F%2Flocalhost%3A7687"),
    ("neo4j://u:secret@db.internal", "http://db.internal:7474/browser/?dbms=neo4j%3A%2F%2Fdb.internal"),
    ("neo4j+s://db.example.com:7687",
     "https://db.example.com:7473/browser/?dbms=neo4j%2Bs%3A%2F%2Fdb.example.com%3A7687"),
    ("neo4j+s://abc123.databases.neo4j.io",
     "https://browser.neo4j.io/?dbms=neo4j%2Bs%3A%2F%2Fabc123.databases.neo4j.io"),
    ("embedded", None), (None, None), ("redis://:secret@localhost:6379", None),
])
def test_browser_url_per_store(spec, url):
    got, note = browser_url(spec)
    assert got == url
    assert "secret" not in note and "secret" not in (got or "")
    if url is None:
        assert "Neo4j Browser" in note and "circfin graph" in note


def _rows(store, name, params):
    return store.read(queries.load(name).text, params)


def test_browser_queries_agree_with_circfin_on_falkordb(seeded, tmp_path):
    snap = snapshot(seeded)
    deals = snap.deals.set_index("deal_id")
    loops, _, _ = loops_from_store(seeded, engine="cypher", max_len=4)
    stargate = next(lp for lp in loops if lp.key == STARGATE)

    rows = _rows(seeded, "browser_loop", {"key": STARGATE, "statuses": STATUSES, "confidences": None})
    assert [r["deal_id"] for r in rows] == [d for leg in stargate.legs for d in leg.deal_ids]
    assert [(r["x"]["id"], r["y"]["id"]) for r in rows] == [
        (leg.payer_id, leg.payee_id) for leg in stargate.legs for _ in leg.deal_ids]

    rows = _rows(seeded, "browser_loop_deals", {"key": STARGATE, "statuses": STATUSES, "confidences": None})
    assert [r["deal_id"] for r in rows] == [d for leg in stargate.legs for d in leg.deal_ids]
    assert all(r["source_url"] == deals.loc[r["deal_id"], "source_url"] for r in rows)

    rows = _rows(seeded, "browser_entity_deals", {"entity": "oracle"})
    want = {(d, "out") for d in deals.index[deals.payer == "oracle"]} | {
        (d, "in") for d in deals.index[deals.payee == "oracle"]}
    assert {(r["deal_id"], r["direction"]) for r in rows} == want

    rows = _rows(seeded, "browser_web", {"statuses": STATUSES, "confidences": None, "limit": 5})
    counting = deals[deals.status.isin(STATUSES)]
    top = counting.assign(a=counting.amount_usd.fillna(0)).sort_values(["a"], ascending=False, kind="stable")
    assert [r["r"]["amount_usd"] for r in rows] == list(top.a[:5])
    assert len(_rows(seeded, "browser_web", {"statuses": None, "confidences": None, "limit": 1000})) == len(deals)
    sure = _rows(seeded, "browser_web", {"statuses": None, "confidences": ["high"], "limit": 1000})
    assert len(sure) == int((deals.confidence == "high").sum()) < len(deals)  # --min-confidence high

    assert _rows(seeded, "browser_new_loops", {}) == []
    assert _rows(seeded, "browser_report_runs", {}) == []
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    write_report(seeded, tmp_path / "r1", engine="cypher", now=t0)
    ingest(seeded, [write(tmp_path / "d.csv", DEALS_HEADER +
                          "D900,2026-01-04,coreweave,magnetar,revenue_share,25000000,approx,signed,"
                          "test,https://example.org/d900,low\n")])
    rep = write_report(seeded, tmp_path / "r2", engine="cypher", now=t0 + dt.timedelta(days=1))
    rows = _rows(seeded, "browser_new_loops", {})
    assert sorted({r["key"] for r in rows}) == [lp["key"] for lp in rep.new_loops] == ["coreweave>magnetar"]
    assert {(r["e"]["id"], r["t"]["payee"], tuple(r["t"]["ids"])) for r in rows} == {
        ("coreweave", "magnetar", ("D900",)), ("magnetar", "coreweave", ("D003",))}
    runs = _rows(seeded, "browser_report_runs", {})
    assert [(r["id"], r["at"]) for r in runs] == [(2, "2026-01-02T00:00:00Z"), (1, "2026-01-01T00:00:00Z")]
    assert runs[0]["loops"] == rep.data["summary"]["loops"]


def _scalars(rows):
    return [{k: v for k, v in r.items() if not isinstance(v, (dict, list)) or k in ("deal_ids",)}
            for r in rows]


@pytest.mark.neo4j
def test_browser_queries_return_the_same_rows_on_neo4j(seeded, tmp_path):
    """With a Neo4j server (NEO4J_URI), the browser_* queries return the same scalar columns."""
    neo = _neo4j_store()
    try:
        neo.clear()
        ingest(neo, [SEED])
        for store in (seeded, neo):
            write_report(store, tmp_path / store.dialect, engine="cypher",
                         now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        for name, params in [("browser_loop", {"key": STARGATE, "statuses": STATUSES, "confidences": None}),
                             ("browser_loop_deals", {"key": STARGATE, "statuses": STATUSES, "confidences": None}),
                             ("browser_web", {"statuses": STATUSES, "confidences": None, "limit": 20}),
                             ("browser_report_runs", {})]:
            assert _scalars(_rows(neo, name, params)) == _scalars(_rows(seeded, name, params)), name
        ent = lambda s: sorted((r["deal_id"], r["direction"]) for r in _rows(s, "browser_entity_deals",  # noqa: E731
                                                                              {"entity": "oracle"}))
        assert ent(neo) == ent(seeded)
        new = lambda s: sorted((r["key"], r["e"]["id"]) for r in _rows(s, "browser_new_loops", {}))  # noqa: E731
        assert new(neo) == new(seeded)
    finally:
        neo.clear()
        neo.close()


def _neo4j_store():
    import neo4j

    from circfin.store.neo4j_store import Neo4jStore

    from .conftest import NEO4J_ENV

    uri = NEO4J_ENV.get("NEO4J_URI")
    if not uri:
        pytest.skip("no Neo4j here: set NEO4J_URI (and NEO4J_USER/NEO4J_PASSWORD) to compare the "
                    "browser_* rows with FalkorDB's; the queries are still linted by Neo4j's parser")
    auth = (NEO4J_ENV.get("NEO4J_USER", "neo4j"), NEO4J_ENV.get("NEO4J_PASSWORD", ""))
    store = Neo4jStore(neo4j.GraphDatabase.driver(uri, auth=auth), database=NEO4J_ENV.get("NEO4J_DATABASE"))
    store.verify()
    return store


def test_param_examples_cover_the_catalogue():
    used = {p for q in read_only_queries() for p in q.params}
    assert used <= set(PARAM_EXAMPLES), used - set(PARAM_EXAMPLES)


def test_cli_browser_json(server, graph_name, tmp_path):
    prog = ("from circfin.cli.app import app, main\n"
            "from circfin.cli.report_cmds import register\n"
            "if not any(c.name == 'browser' for c in app.registered_commands):\n"
            "    register(app)\n"
            "main()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    env.update({"CIRCFIN_HOME": str(server.home), "CIRCFIN_GRAPH": graph_name})
    run = lambda *a: subprocess.run([sys.executable, "-c", prog, *a], capture_output=True,  # noqa: E731
                                    text=True, env=env, timeout=120, cwd=ROOT)
    proc = run("browser", "--out", str(tmp_path / "k"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    kit = json.loads(proc.stdout)
    assert kit["url"] is None and "Neo4j Browser" in kit["note"] and proc.stderr == ""
    proc = run("--store", "bolt://neo4j:pw@db:7687", "browser", "--out", str(tmp_path / "k2"))
    assert proc.returncode == 0 and "http://db:7474/browser/" in proc.stdout and ":pw@" not in proc.stdout
