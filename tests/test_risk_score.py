"""The loop score: parts in [0, 1], documented weights, monotone parts; write-back and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin.ingest import ingest
from circfin.loops.from_store import loops_from_store, snapshot
from circfin.risk import score as score_mod
from circfin.risk import score_loops, write_scores
from circfin.risk.score import CONFIDENCE_VALUES, DEFAULT_WEIGHTS, HALF_LIFE_DAYS, PARTS
from circfin.store.falkordb_store import FalkorDBStore

from .conftest import SEED, circfin_env, run_circfin
from .test_risk_flags import make_frame, make_loop

ENGINE = "cypher"
STARGATE = "nvidia>openai>oracle"
NOW = dt.date(2026, 6, 1)
ENTS = [{"id": "a", "name": "A", "revenue_usd": 10e9, "equity_usd": 4e9},
        {"id": "b", "name": "B", "backlog_usd": 50e9}, {"id": "c", "name": "C"}]

@pytest.fixture
def risk_cli(server, graph_name):
    """The real circfin entry point (main()), on the session server and this test's graph."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_circfin(args, circfin_env(server, graph_name))

    yield run
    FalkorDBStore(server.connect(), graph=graph_name).clear()


@pytest.fixture
def seeded(store):
    ingest(store, [SEED])
    return store


def _triangle(amounts=(10e9, 20e9, 30e9), dates=("2025-01-01",) * 3, conf=("high",) * 3):
    d = make_frame([("D1", "a", "b", "equity_investment", amounts[0], "exact", "signed", conf[0], dates[0]),
                    ("D2", "b", "c", "cloud_commitment", amounts[1], "exact", "signed", conf[1], dates[1]),
                    ("D3", "c", "a", "chip_purchase", amounts[2], "exact", "signed", conf[2], dates[2])])
    return d, make_loop(d, ["a", "b", "c"])


def test_weights_are_documented_and_sum_to_one():
    assert abs(sum(DEFAULT_WEIGHTS.values()) - 1) < 1e-12 and tuple(DEFAULT_WEIGHTS) == PARTS
    doc = score_mod.__doc__
    for part, w in DEFAULT_WEIGHTS.items():
        assert f"``{part}`` (weight {w:.2f})" in doc
    assert f"half-life {HALF_LIFE_DAYS:g} days" in doc
    for conf, v in CONFIDENCE_VALUES.items():
        assert f"{conf} = {v:g}" in doc


def test_parts_by_hand():
    d, lp = _triangle(conf=("high", "medium", "low"))
    s = score_loops([lp], d, ENTS, now="2026-01-01")[0]
    p = {k: v["value"] for k, v in s.parts.items()}
    # bottleneck $10B against the smallest member, A, whose size is its largest figure:
    # revenue $10B (not its equity of $4B), so r = 1
    assert p["size"] == pytest.approx(0.5) and "A's revenue" in s.parts["size"]["why"]
    assert p["bottleneck"] == pytest.approx(4 / 6)  # log10(1e10 / 1e6) / 6
    assert p["round_trip"] == pytest.approx(10 / 30)
    assert p["confidence"] == pytest.approx(0.3)  # the weakest leg's best source is low
    assert p["recency"] == pytest.approx(0.5)  # 365 days: one half-life
    assert p["types"] == pytest.approx(2 / 3)  # three types
    assert s.score == pytest.approx(sum(p[k] * DEFAULT_WEIGHTS[k] for k in PARTS))
    assert [f.name for f in s.flags] == ["vendor_financing"]


def test_fallbacks_undisclosed_and_no_financials():
    d, lp = _triangle()
    d.loc[d.deal_id == "D2", "amount_usd"] = None
    lp = make_loop(d, ["a", "b", "c"])
    s = score_loops([lp], d, ENTS, now=NOW)[0]
    for part in ("size", "bottleneck", "round_trip"):
        assert s.parts[part]["value"] == 0 and "undisclosed" in s.parts[part]["why"]
    d, lp = _triangle()
    s = score_loops([lp], d, [{"id": "a"}, {"id": "b"}, {"id": "c"}], now=NOW)[0]
    assert s.parts["size"]["weight"] == 0 and "weight moved to bottleneck" in s.parts["size"]["why"]
    assert s.parts["bottleneck"]["weight"] == pytest.approx(DEFAULT_WEIGHTS["size"] + DEFAULT_WEIGHTS["bottleneck"])
    assert sum(v["weight"] for v in s.parts.values()) == pytest.approx(1)


def test_a_deficit_does_not_measure_a_member():
    # a member whose only figure is a deficit has no size; one with revenue too is sized by it
    d, lp = _triangle()
    ents = [{"id": "a", "name": "A", "equity_usd": -3e9}, {"id": "b", "name": "B"}, {"id": "c", "name": "C"}]
    s = score_loops([lp], d, ents, now=NOW)[0]
    assert s.parts["size"]["weight"] == 0 and "weight moved to bottleneck" in s.parts["size"]["why"]
    ents[0]["revenue_usd"] = 10e9
    got = score_loops([lp], d, ents, now=NOW)[0].parts["size"]
    want = score_loops([lp], d, [{"id": "a", "name": "A", "revenue_usd": 10e9}, *ents[1:]], now=NOW)[0]
    assert got == want.parts["size"] and got["weight"] > 0


def test_custom_weights_are_normalised_and_checked():
    d, lp = _triangle()
    s = score_loops([lp], d, ENTS, now=NOW, weights={"recency": 1, "size": 0, "bottleneck": 0,
                                                     "round_trip": 0, "confidence": 0, "types": 0})[0]
    assert s.score == pytest.approx(s.parts["recency"]["value"])
    for bad in ({"nope": 1}, {"size": -1}, {p: 0 for p in PARTS}, {"size": float("nan")}):
        with pytest.raises(ValueError):
            score_loops([lp], d, ENTS, now=NOW, weights=bad)
    with pytest.raises(ValueError):
        score_loops([lp], d, ENTS, now=NOW, half_life_days=0)


amount = st.floats(min_value=1e5, max_value=5e12)


@settings(max_examples=60, deadline=None)
@given(a=amount, b=amount, c=amount, extra=st.floats(min_value=0, max_value=1e12))
def test_raising_the_bottleneck_never_lowers_size_or_bottleneck(a, b, c, extra):
    d, lp = _triangle((a, b, c))
    before = score_loops([lp], d, ENTS, now=NOW)[0].parts
    # add to every leg: the bottleneck rises by `extra`
    d2, lp2 = _triangle((a + extra, b + extra, c + extra))
    after = score_loops([lp2], d2, ENTS, now=NOW)[0].parts
    assert lp2.bottleneck_usd >= lp.bottleneck_usd
    for part in ("size", "bottleneck"):
        assert after[part]["value"] >= before[part]["value"] - 1e-12
    for parts in (before, after):
        assert all(0 <= v["value"] <= 1 for v in parts.values())


@settings(max_examples=60, deadline=None)
@given(older=st.integers(min_value=1, max_value=4000), base=st.integers(min_value=0, max_value=3000))
def test_older_loops_score_lower_on_recency(older, base):
    day = (dt.date(2026, 1, 1) - dt.timedelta(days=base))
    new_dates = (day.isoformat(),) * 3
    old_dates = ((day - dt.timedelta(days=older)).isoformat(),) * 3
    d1, lp1 = _triangle(dates=new_dates)
    d2, lp2 = _triangle(dates=old_dates)
    s1 = score_loops([lp1], d1, ENTS, now="2026-01-01")[0]
    s2 = score_loops([lp2], d2, ENTS, now="2026-01-01")[0]
    assert s2.parts["recency"]["value"] < s1.parts["recency"]["value"]
    assert s2.score < s1.score


def test_seed_scores_parts_in_range_deterministic(seeded):
    loops, _, _ = loops_from_store(seeded, engine=ENGINE, max_len=6)
    snap = snapshot(seeded)
    scored = score_loops(loops, snap.deals, snap.entities, now=NOW)
    again = score_loops(list(reversed(loops)), snap.deals, snap.entities, now=NOW)
    assert [(s.key, s.score) for s in scored] == [(s.key, s.score) for s in again]
    assert len(scored) == len(loops) > 50
    for s in scored:
        assert 0 <= s.score <= 1
        assert set(s.parts) == set(PARTS)
        assert all(0 <= v["value"] <= 1 for v in s.parts.values())
        assert sum(v["weight"] for v in s.parts.values()) == pytest.approx(1)
    assert [s.score for s in scored] == sorted((s.score for s in scored), reverse=True)
    stargate = next(s for s in scored if s.key == STARGATE)
    r = 40 / 20  # $40B against OpenAI's size, its $20B revenue (the smallest member's largest figure)
    assert stargate.parts["size"]["value"] == pytest.approx(r / (1 + r))
    assert stargate.parts["round_trip"]["value"] == pytest.approx(40 / 300)
    assert STARGATE in [s.key for s in scored[:5]]


def test_rank_for_the_report(seeded, tmp_path):
    from circfin.report.report import write_report
    from circfin.risk.score import rank_by_score

    rank = rank_by_score(seeded, now=NOW)
    rep = write_report(seeded, tmp_path, engine=ENGINE, max_len=4, top=3, rank=rank, record=False)
    loops, _, _ = loops_from_store(seeded, engine=ENGINE, max_len=4)
    snap = snapshot(seeded)
    want = score_loops(loops, snap.deals, snap.entities, now=NOW)[:3]
    assert [lp["key"] for lp in rep.top_loops] == [s.key for s in want]
    assert rep.data["params"]["rank"] == "risk_score"


# ---- write-back ---------------------------------------------------------------------------

def _counts(store):
    rows = store.read("MATCH (l:Loop) OPTIONAL MATCH (l)-[r]->() "
                      "RETURN count(DISTINCT l) AS loops, count(r) AS links")
    return rows[0]["loops"], rows[0]["links"]


def test_write_back_is_visible_in_cypher_and_idempotent(seeded):
    loops, _, _ = loops_from_store(seeded, engine=ENGINE, max_len=4)
    snap = snapshot(seeded)
    scored = score_loops(loops, snap.deals, snap.entities, now=NOW)
    assert write_scores(seeded, scored, at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)) == len(loops)
    rows = seeded.read("MATCH (l:Loop) WHERE 'vendor_financing' IN l.flags RETURN l.key, l.score")
    got = {r["l.key"]: r["l.score"] for r in rows}
    want = {s.key: s.score for s in scored if "vendor_financing" in s.flag_names}
    assert got.keys() == want.keys() and STARGATE in got
    assert all(got[k] == pytest.approx(want[k]) for k in want)
    first = _counts(seeded)
    write_scores(seeded, scored)
    assert _counts(seeded) == first
    rec = seeded.read("MATCH (l:Loop {key: $k}) RETURN l.score_parts AS p, l.scored_at AS at, l.ids AS ids",
                      {"k": STARGATE})[0]
    parts = json.loads(rec["p"])
    assert set(PARTS) <= set(parts) and "vendor_financing" in parts["flags"]
    assert rec["ids"] == ["nvidia", "openai", "oracle"]
    links = seeded.read("MATCH (l:Loop {key: $k})-[:HAS_DEAL]->(d:Deal) RETURN d.id AS id ORDER BY id",
                        {"k": STARGATE})
    assert [r["id"] for r in links] == ["D021", "D049", "D068", "D071", "D135"]
    from circfin import queries

    rows = seeded.read(queries.load("risk_flagged_loops").text, {"limit": 1000})
    assert [r["key"] for r in rows if r["flag"] == "paper_loop"] == ["nvidia>thinking-machines"]
    assert len(rows) == sum(len(s.flags) for s in scored)
    vendor = [r["key"] for r in rows if r["flag"] == "vendor_financing"]
    assert vendor == [s.key for s in sorted((s for s in scored if "vendor_financing" in s.flag_names),
                                            key=lambda s: (-s.score, s.key))]
    rows = seeded.read(queries.load("risk_loop_graph").text, {"limit": 1})
    best = min(scored, key=lambda s: (-s.score, s.key))
    assert {r["key"] for r in rows} == {best.key} and rows[0]["flags"] == best.flag_names
    assert {r["d"]["id"] for r in rows} == set(best.loop.deal_ids)


def test_write_back_keeps_what_the_report_recorded(seeded, tmp_path):
    from circfin.report.report import write_report

    t0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    write_report(seeded, tmp_path / "r1", engine=ENGINE, now=t0, max_len=4)
    before = seeded.read("MATCH (l:Loop)-[t:THROUGH]->(e:Entity) RETURN l.key AS k, l.first_seen AS f, "
                         "l.last_seen AS s, e.id AS e, t.ids AS ids, t.amount_usd AS a ORDER BY k, e")
    loops, _, _ = loops_from_store(seeded, engine=ENGINE, max_len=4)
    snap = snapshot(seeded)
    write_scores(seeded, score_loops(loops, snap.deals, snap.entities, now=NOW))
    after = seeded.read("MATCH (l:Loop)-[t:THROUGH]->(e:Entity) RETURN l.key AS k, l.first_seen AS f, "
                        "l.last_seen AS s, e.id AS e, t.ids AS ids, t.amount_usd AS a ORDER BY k, e")
    assert after == before
    again = write_report(seeded, tmp_path / "r2", engine=ENGINE, now=t0 + dt.timedelta(days=1), max_len=4)
    assert again.new_loops == [] and again.changed_loops == []
    scored_after = seeded.read("MATCH (l:Loop) WHERE l.score IS NOT NULL RETURN count(l) AS n")[0]["n"]
    assert scored_after == len(loops)  # the report's run kept the scores


# ---- CLI ----------------------------------------------------------------------------------

def test_cli_score_json_and_errors(seeded, risk_cli):
    proc = risk_cli("score", "--format", "json", "--limit", "3", "--engine", "cypher",
                    "--as-of", "2026-06-01", "--write")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["written"] == data["total"] > 50 and len(data["loops"]) == 3
    top = data["loops"][0]
    assert top["rank"] == 1 and set(PARTS) <= set(top["parts"]) and top["flags"][0]["deal_ids"]
    assert data["loops"][0]["score"] >= data["loops"][1]["score"]
    proc = risk_cli("score", "--format", "json", "--flag", "paper_loop", "--engine", "cypher")
    assert [lp["key"] for lp in json.loads(proc.stdout)["loops"]] == ["nvidia>thinking-machines"]
    proc = risk_cli("score", "--flag", "nope")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "unknown flag" in proc.stderr
    proc = risk_cli("score", "--as-of", "2025-02-30")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
