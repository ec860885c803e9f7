"""--as-of: every analysis sees the web as it stood on a date.

Only deals dated on or before the date count, each with its status on that day
(from its events), and each entity's financials are its latest on or before it.
The small web below is ingested from CSV files (deals, entities, events,
financials); the property test writes random event histories straight into the
graph and holds the two loop engines, and the measures, to the snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circfin import queries
from circfin.analytics import measures as an
from circfin.graph.model import DEAL_STATUSES
from circfin.ingest import ingest
from circfin.loops.from_store import DEFAULT_STATUSES, as_of_day, loops_from_store, snapshot

from .conftest import DEALS_HEADER, write
from .graphload import load_frame
from .strategies import deal_frames, loop_kwargs
from .test_analytics import pandas_concentration

# a -> b -> c -> a: D3 (c -> a) was announced in March 2025 and cancelled in September.
# b -> a (D4, August 2025) funds a, which buys chips from b (D1): a pair, and the loop a>b.
# d -> c (D5) and c -> d (F1, dated 2100): the loop c>d exists only from 2100.
DEALS = DEALS_HEADER + """\
D1,2025-01-10,a,b,chip_purchase,100000000,exact,signed,chips,https://example.com/d1,high
D2,2025-02-01,b,c,loan,50000000,exact,funded,loan,https://example.com/d2,high
D3,2025-03-01,c,a,compute_purchase,30000000,exact,cancelled,compute,https://example.com/d3,high
D4,2025-08-01,b,a,equity_investment,20000000,exact,completed,stake,https://example.com/d4,high
D5,2025-01-05,d,c,lease,10000000,exact,signed,lease,https://example.com/d5,high
F1,2100-01-01,c,d,loan,5000000,exact,announced,future,https://example.com/f1,medium
"""
ENTITIES = """\
entity_id,name,kind
a,Alpha,hyperscaler
b,Beta,chipmaker
c,Gamma,ai_lab
d,Delta,neocloud
"""
EVENTS = """\
deal_id,date,status,source_url
D3,2025-03-01,announced,https://example.com/d3a
D3,2025-09-01,cancelled,https://example.com/d3c
D4,2025-08-01,signed,
D4,2025-10-01,completed,
"""
FINANCIALS = """\
entity_id,as_of,equity_usd,revenue_usd,basis,source_url
a,2024-12-31,1000000000,5000000000,10-K,https://example.com/a-2024
a,2025-09-30,2000000000,,10-Q,https://example.com/a-q3
"""


def _files(tmp_path):
    return [write(tmp_path / "deals.csv", DEALS), write(tmp_path / "entities.csv", ENTITIES),
            write(tmp_path / "events.csv", EVENTS), write(tmp_path / "fin.csv", FINANCIALS)]


def _web(store, tmp_path):
    ingest(store, _files(tmp_path))
    return store


def _keys(store, **kw):
    loops, complete, _ = loops_from_store(store, **kw)
    assert complete
    return {lp.key: tuple(leg.deal_ids for leg in lp.legs) for lp in loops}


# ---- the library ---------------------------------------------------------------------------

def test_loops_as_of_a_date_in_both_engines(store, tmp_path):
    _web(store, tmp_path)
    for engine in ("memory", "cypher"):
        # June 2025: D3 was announced (it counts), D4 did not exist yet.
        assert _keys(store, engine=engine, as_of="2025-06") == {"a>b>c": (("D1",), ("D2",), ("D3",))}
        # Today D3 is cancelled (it no longer counts by default) and D4 closes a>b.
        assert _keys(store, engine=engine, as_of=dt.date(2026, 1, 1)) == {"a>b": (("D1",), ("D4",))}
        # Every status: the cancelled D3 is back.
        assert set(_keys(store, engine=engine, as_of="2026", status=None)) == {"a>b", "a>b>c"}
        # Before D3 was dated, no loop; in 2100 the future loan F1 closes c>d.
        assert _keys(store, engine=engine, as_of="2025-02-28") == {}
        assert set(_keys(store, engine=engine, as_of="2100")) == {"a>b", "c>d"}
        # Without as_of: everything the graph holds, with current statuses.
        assert set(_keys(store, engine=engine)) == {"a>b", "c>d"}
    assert _keys(store, engine="cypher", as_of="2025-06", rollup=True) == {
        "a>b>c": (("D1",), ("D2",), ("D3",))}


def test_the_status_as_of_a_date_comes_from_the_events(store, tmp_path):
    _web(store, tmp_path)
    deals = snapshot(store, as_of="2025-09-15").deals.set_index("deal_id")
    assert deals.loc["D3", "status"] == "cancelled" and deals.loc["D4", "status"] == "signed"
    # The status filter reads the status then, not now: only signed deals in September.
    signed = _keys(store, engine="cypher", as_of="2025-09-15", status=["signed"])
    assert signed == {"a>b": (("D1",), ("D4",))}
    assert _keys(store, engine="cypher", status=["signed"]) == {}  # D4 is completed now


def test_measures_as_of_a_date(store, tmp_path):
    _web(store, tmp_path)
    st_ = list(DEFAULT_STATUSES)

    def inflows(as_of):
        return {r["id"]: r["counterparties"] for r in an.concentration(store, status=st_, as_of=as_of)
                if r["direction"] == "in"}

    assert inflows("2025-06") == {"a": 1, "b": 1, "c": 2}  # a's inflow: D3 from c
    assert inflows("2026") == {"a": 1, "b": 1, "c": 2}     # a's inflow: D4 from b (D3 cancelled)
    a_in = [r for r in an.concentration(store, status=st_, as_of="2025-06")
            if (r["id"], r["direction"]) == ("a", "in")]
    assert a_in[0]["top_counterparty"] == "c" and a_in[0]["total_usd"] == 30_000_000
    a_now = [r for r in an.concentration(store, status=st_, as_of="2026")
             if (r["id"], r["direction"]) == ("a", "in")]
    assert a_now[0]["top_counterparty"] == "b" and a_now[0]["total_usd"] == 20_000_000
    assert inflows("2025-01-31") == {"b": 1, "c": 1}  # D2 and D3 not yet dated

    def hub(as_of, eid="b"):
        return next(r for r in an.hubs(store, status=st_, as_of=as_of) if r["id"] == eid)

    assert (hub("2025-06")["out_deals"], hub("2025-06")["out_usd"]) == (1, 50_000_000)
    assert (hub("2026")["out_deals"], hub("2026")["out_usd"]) == (2, 70_000_000)
    assert hub("2026", "c")["out_deals"] == 0 and hub("2100", "c")["out_deals"] == 1  # F1
    assert hub("2025-06", "c")["out_deals"] == 1  # D3, announced then

    assert an.reciprocal_pairs(store, status=st_, as_of="2025-06") == []
    pairs = an.reciprocal_pairs(store, status=st_, as_of="2026")
    assert [(p["funder_id"], p["funded_id"], p["funding_deals"], p["purchase_deals"])
            for p in pairs] == [("b", "a", ["D4"], ["D1"])]

    # self-funded demand: b's inflow D1 comes from a, which b funded (D4) only from August 2025.
    def own(as_of):
        return {r["id"]: r["self_funded_usd"] for r in an.self_funded_demand(store, status=st_, as_of=as_of)}

    assert own("2025-06")["b"] == 0 and own("2026")["b"] == 100_000_000
    through = an.loops_through(store, "a", max_len=4, status=st_, as_of="2025-06")
    assert [r["deal_ids"] for r in through] == [["D1", "D2", "D3"]]
    assert an.loops_through(store, "a", max_len=4, status=st_, as_of="2025-02") == []


def test_financials_as_of_a_date(store, tmp_path):
    _web(store, tmp_path)
    a = next(e for e in snapshot(store, as_of="2025-06").entities if e["id"] == "a")
    assert a["equity_usd"] == 1e9 and a["revenue_usd"] == 5e9
    a = next(e for e in snapshot(store, as_of="2026").entities if e["id"] == "a")
    assert a["equity_usd"] == 2e9 and a["revenue_usd"] == 5e9  # revenue: still the 2024 figure


def test_report_as_of_an_earlier_date_says_why_a_loop_is_gone(store, tmp_path):
    from circfin.report.report import write_report

    _web(store, tmp_path)
    first = write_report(store, tmp_path / "now", as_of="2026")
    assert first.data["as_of"] == "2026-12-31" and [lp["key"] for lp in first.new_loops] == ["a>b"]
    rep = write_report(store, tmp_path / "june", as_of="2025-06", record=False)
    assert rep.data["as_of"] == "2025-06-30" and [lp["key"] for lp in rep.new_loops] == ["a>b>c"]
    gone = {c["key"]: c for c in rep.changed_loops}
    assert gone["a>b"]["change"] == "gone"
    # D4 is in the graph, dated after the report's date: not "deleted from the graph".
    assert gone["a>b"]["reasons"] == [{"deal_id": "D4", "reason": "dated after 2025-06-30"}]


# ---- the two engines, on random graphs with random event histories ---------------------------

_EV_DAYS = [f"2023-12-{d:02d}" for d in (1, 20)] + [
    f"2024-{m:02d}-{d:02d}" for m in (1, 2, 3, 4) for d in (1, 10, 25)]
_AS_OF = (None, "2023-12-15", "2024-01", "2024-01-10", "2024-02-07", "2024-03", "2024", "2023")


@st.composite
def _histories(draw, deal_ids):
    out = {}
    for did in deal_ids:
        n = draw(st.integers(0, 3))
        if n:
            days = sorted(draw(st.lists(st.sampled_from(_EV_DAYS), min_size=n, max_size=n)))
            out[did] = ([as_of_day(d) for d in days],
                        [draw(st.sampled_from(DEAL_STATUSES)) for _ in days])
    return out


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_engines_and_measures_agree_as_of_any_date(store, data):
    frame = data.draw(deal_frames(max_deals=12))
    hist = data.draw(_histories(list(frame["deal_id"])))
    for did, (_, statuses) in hist.items():  # a deal's status is its latest event's
        frame.loc[frame["deal_id"] == did, "status"] = statuses[-1]
    kw = data.draw(loop_kwargs(frame))
    kw.pop("parents", None)  # the store holds them
    known = set(frame["payer"]) | set(frame["payee"])
    if kw.get("entity") not in known:
        kw.pop("entity", None)
    for k in ("types", "status"):
        if k in kw:
            kw[k] = sorted(kw[k])
    as_of = data.draw(st.sampled_from(_AS_OF))
    store.clear()
    load_frame(store, frame)
    rows = [{"deal_id": d, "ev_days": days, "ev_statuses": sts} for d, (days, sts) in hist.items()]
    store.write([(queries.load("set_histories").text, {"rows": rows}),
                 (queries.load("clear_rollup").text, {}), (queries.load("build_rollup").text, {})])

    memory = _keys(store, engine="memory", as_of=as_of, **kw)
    cypher = _keys(store, engine="cypher", as_of=as_of, **kw)
    assert memory == cypher

    snap = snapshot(store, as_of=as_of)
    statuses = kw.get("status", list(DEFAULT_STATUSES))
    got = {(r["id"], r["direction"]): (r["total_usd"], r["counterparties"])
           for r in an.concentration(store, status=statuses, as_of=as_of)}
    want = pandas_concentration(snap.deals, set(statuses))
    assert set(got) == set(want)
    for k, (total, n, *_rest) in want.items():
        assert math.isclose(got[k][0], total, rel_tol=1e-9) and got[k][1] == n
    counting = snap.deals[snap.deals["status"].isin(statuses)]
    for h in an.hubs(store, status=statuses, as_of=as_of):
        assert h["out_deals"] == int((counting["payer"] == h["id"]).sum())
        assert h["in_deals"] == int((counting["payee"] == h["id"]).sum())


# ---- the command line ----------------------------------------------------------------------

def test_cli_as_of(cli, tmp_path):
    cli("ingest", *map(str, _files(tmp_path)), check=True)
    june = json.loads(cli("loops", "--as-of", "2025-06", "--format", "json", check=True).stdout)
    assert [lp["key"] for lp in june] == ["a>b>c"]  # loops JSON stays a list
    for engine in ("memory", "cypher"):
        now = json.loads(cli("loops", "--engine", engine, "--format", "json", check=True).stdout)
        assert [lp["key"] for lp in now] == ["a>b"], engine  # F1 (2100) and the cancelled D3 don't count
        later = json.loads(cli("loops", "--engine", engine, "--as-of", "2100", "--format", "json",
                               check=True).stdout)
        assert [lp["key"] for lp in later] == ["a>b", "c>d"], engine
    table = cli("loops", "--as-of", "2025-06", check=True).stdout
    assert "as of 2025-06-30" in table

    conc = json.loads(cli("concentration", "--as-of", "2025-06", "--format", "json", check=True).stdout)
    assert conc["as_of"] == "2025-06-30"
    a_in = [r for r in conc["concentration"] if (r["id"], r["direction"]) == ("a", "in")]
    assert a_in[0]["top_counterparty"] == "c"
    today = json.loads(cli("concentration", "--format", "json", check=True).stdout)
    assert today["as_of"] == dt.date.today().isoformat()

    hubs = json.loads(cli("hubs", "--as-of", "2025-06", "--format", "json", check=True).stdout)
    assert next(h for h in hubs if h["id"] == "b")["out_deals"] == 1
    assert json.loads(cli("pairs", "--as-of", "2025-06", "--format", "json", check=True).stdout) == []
    pairs = json.loads(cli("pairs", "--format", "json", check=True).stdout)
    assert [(p["funder_id"], p["funded_id"]) for p in pairs] == [("b", "a")]

    score = json.loads(cli("score", "--as-of", "2025-06", "--format", "json", check=True).stdout)
    assert score["as_of"] == "2025-06-30" and [s["key"] for s in score["loops"]] == ["a>b>c"]
    shock = json.loads(cli("shock", "Alpha", "--as-of", "2025-06", "--format", "json", check=True).stdout)
    assert shock["as_of"] == "2025-06-30"
    assert shock["loops"] == ["a>b>c"]
    first = next(h for h in shock["hits"] if h["id"] == "a")
    assert first["buffer_usd"] == 1e9  # equity as of 2024-12-31, not the 2025-09-30 figure
    shock = json.loads(cli("shock", "Alpha", "--format", "json", check=True).stdout)
    assert next(h for h in shock["hits"] if h["id"] == "a")["buffer_usd"] == 2e9
    sig = json.loads(cli("significance", "--n", "3", "--as-of", "2025-06", "--format", "json",
                         check=True).stdout)
    assert sig["as_of"] == "2025-06-30"


def test_cli_report_and_graph_as_of(cli, tmp_path):
    cli("ingest", *map(str, _files(tmp_path)), check=True)
    out = tmp_path / "rep"
    rep = json.loads(cli("report", "--out", str(out), "--as-of", "2025-06", "--no-record",
                         "--format", "json", check=True).stdout)
    assert rep["as_of"] == "2025-06-30" and rep["new_loops"] == ["a>b>c"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.splitlines()[0] == "# circfin report 1, as of 2025-06-30"
    assert "<h1>circfin report 1, as of 2025-06-30</h1>" in (out / "report.html").read_text(encoding="utf-8")
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["as_of"] == "2025-06-30"

    page = tmp_path / "g.html"
    info = json.loads(cli("graph", "--out", str(page), "--as-of", "2025-06", "--format", "json",
                          check=True).stdout)
    assert info["as_of"] == "2025-06-30" and info["loops"] == 1 and info["deals"] == 4  # D1, D2, D3, D5
    info = json.loads(cli("graph", "--out", str(page), "--format", "json", check=True).stdout)
    assert info["loops"] == 1 and info["deals"] == 4  # D1, D2, D4, D5: not D3 (cancelled) nor F1

    gml = tmp_path / "web.graphml"
    assert "as of 2025-06-30" in cli("export", "--out", str(gml), "--as-of", "2025-06", check=True).stdout
    text = gml.read_text(encoding="utf-8")
    assert "D3" in text and "D4" not in text and "2025-06-30" in text


def test_cli_bad_as_of(cli):
    for cmd in (["loops"], ["hubs"], ["concentration"], ["pairs"], ["score"], ["significance"],
                ["shock", "x"], ["report", "--no-record"], ["graph", "--out", "g.html"],
                ["export", "--out", "g.graphml"]):
        proc = cli(*cmd, "--as-of", "2025-13")
        assert proc.returncode != 0, cmd
        assert "--as-of" in proc.stderr and "month 13 does not exist" in proc.stderr, (cmd, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_cli_report_as_of_a_past_date_records_nothing(cli, tmp_path):
    cli("ingest", *map(str, _files(tmp_path)), check=True)
    proc = cli("report", "--out", str(tmp_path / "past"), "--as-of", "2025-06", "--format", "json")
    assert proc.returncode == 0 and "records nothing" in proc.stderr
    now = json.loads(cli("report", "--out", str(tmp_path / "now"), "--format", "json", check=True).stdout)
    assert now["run"] == 1 and now["new_loops"] == ["a>b"]  # the look back was not recorded as run 1
