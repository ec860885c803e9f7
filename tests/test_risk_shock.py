"""Exposures per deal type, shocks with and without the loops' closing legs, margin calls,
the report's shock summary and the CLI."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import circfin.risk
from circfin.analytics import measures as analytics
from circfin.ingest import ingest
from circfin.risk import build_exposures, shock, shock_summary
from circfin.risk.shock import propagate

from .conftest import SEED
from .test_risk_flags import make_frame, make_loop
from .test_risk_score import risk_cli  # noqa: F401  (fixture)

ENGINE = "cypher"


def _m(net, which, i, j):
    x, lia = net.matrices()
    return (x if which == "x" else lia)[net.index[i], net.index[j]]


def test_exposure_rules_per_type():
    d = make_frame([
        ("E1", "inv", "co", "equity_investment", 100, "exact", "signed"),
        ("E2", "co", "holder", "warrant", 30, "exact", "signed"),  # issuer co -> holder
        ("L1", "bank", "co", "loan", 50, "exact", "funded"),
        ("L2", "bank", "co", "credit_facility", 20, "up_to", "signed"),
        ("B1", "inv", "co", "bond", 10, "exact", "completed"),
        ("G1", "bank", "co", "guarantee", 5, "exact", "signed"),
        ("P1", "co", "seller", "cloud_commitment", 40, "exact", "signed"),
        ("P2", "co", "seller", "chip_purchase", 25, "exact", "completed"),
        ("P3", "co", "seller", "lease", 15, "exact", "announced"),
        ("X1", "inv", "co", "equity_investment", 1000, "exact", "announced"),
        ("X2", "inv", "co", "equity_investment", None, "undisclosed", "signed"),
        ("O1", "co", "seller", "other", 7, "exact", "signed"),
        ("C1", "bank", "co", "loan", 9, "exact", "cancelled"),
    ])
    ents = [{"id": "inv", "equity_usd": 500, "revenue_usd": 9999}, {"id": "bank", "revenue_usd": 400},
            {"id": "co", "name": "Co"}, {"id": "seller"}, {"id": "holder"}]
    net = build_exposures(d, ents)
    assert _m(net, "x", "inv", "co") == 110  # equity 100 + bond 10; the announced stake is not invested
    assert _m(net, "x", "holder", "co") == 30  # the warrant holder holds the issuer's equity
    assert _m(net, "x", "bank", "co") == 75  # loan 50 + facility 20 (at its cap) + guarantee 5
    assert _m(net, "x", "seller", "co") == 55  # signed 40 + announced 15; the completed order is paid
    assert _m(net, "x", "co", "seller") == 0 and _m(net, "x", "co", "inv") == 0
    assert _m(net, "l", "co", "bank") == 70  # the borrower owes the lender; a guarantee is contingent
    assert _m(net, "l", "co", "inv") == 10  # the bond; equity is not debt
    assert _m(net, "l", "co", "seller") == 55  # the buyer owes the seller its unpaid orders
    assert _m(net, "l", "co", "holder") == 0 and _m(net, "l", "bank", "co") == 0
    x, lia = net.matrices()
    assert x.sum() == 110 + 30 + 75 + 55 and lia.sum() == 70 + 10 + 55
    skipped = {s["deal_id"]: s["reason"] for s in net.skipped}
    assert set(skipped) == {"P2", "X1", "X2", "O1", "C1"} and "undisclosed" in skipped["X2"]
    buf = dict(zip(net.ids, zip(net.buffers, net.buffer_source, strict=True), strict=True))
    assert buf["inv"] == (500, "equity")
    assert buf["bank"] == (200, "proxy: 50% of revenue")
    assert buf["co"] == (350, "proxy: median buffer of 2 entities")
    x_cut, _ = net.matrices(exclude={"E1", "L1"})
    assert x_cut[net.index["inv"], net.index["co"]] == 10 and x_cut[net.index["bank"], net.index["co"]] == 25
    with pytest.raises(ValueError):
        build_exposures(d, ents, revenue_share=2)


def _vendor_pair(purchase=8.0):
    """S funds X with a $10 stake; X buys $purchase from S. S has $20 of equity, X $5."""
    d = make_frame([("F1", "s", "x", "equity_investment", 10.0), ("P1", "x", "s", "compute_purchase", purchase)])
    net = build_exposures(d, [{"id": "s", "equity_usd": 20}, {"id": "x", "equity_usd": 5}])
    return net, [make_loop(d, ["s", "x"])]


def test_two_node_vendor_financing_loop_amplifies():
    net, loops = _vendor_pair()
    r = propagate(net, "x", loops, loss=1.0)
    # with the loop S loses its stake and X's unpaid order: 18 of its 20
    assert r.distress["s"] == pytest.approx(0.9) and r.total_loss_usd == pytest.approx(5 + 18)
    # cutting the leg into X (S's stake, F1) leaves the order only
    assert r.cut_legs == [{"payer_id": "s", "payer": "S", "payee_id": "x", "deal_ids": ["F1"], "loops": ["s>x"]}]
    assert r.cut_total_loss_usd == pytest.approx(5 + 8)
    assert r.amplification == pytest.approx(23 / 13) and r.amplification > 1
    assert [h.round for h in r.hits] == [1, 0] and [h.id for h in r.hits] == ["s", "x"]
    # shocking the vendor: nobody has anything at stake in S, with or without the loop
    r = propagate(net, "s", loops, loss=1.0)
    assert r.total_loss_usd == r.cut_total_loss_usd == 20 and r.amplification == 1


def test_losses_that_come_back_round_a_loop():
    # mutual purchases: each is exposed to the other; S's own shock returns to it
    d = make_frame([("A", "s", "x", "cloud_commitment", 10.0), ("B", "x", "s", "chip_purchase", 10.0)])
    net = build_exposures(d, [{"id": "s", "equity_usd": 20}, {"id": "x", "equity_usd": 20}])
    r = propagate(net, "s", [make_loop(d, ["s", "x"])], loss=0.5)
    assert r.distress["s"] > 0.5 and r.self_feedback_usd > 0
    assert r.amplification > 1
    assert {h.id: h.distress_cut for h in r.hits} == pytest.approx({"s": 0.5, "x": 0.25})
    r = propagate(net, "s", [make_loop(d, ["s", "x"])], loss=0.5, method="original")
    assert r.distress["s"] == pytest.approx(0.5 + 0.25 * 0.5)  # passed on once


def test_clearing_amplifies_through_the_loan_into_the_shocked_entity():
    d = make_frame([("L1", "s", "x", "loan", 10.0), ("P1", "x", "s", "compute_purchase", 8.0)])
    net = build_exposures(d, [{"id": "s", "equity_usd": 20}, {"id": "x", "equity_usd": 5}])
    r = propagate(net, "x", [make_loop(d, ["s", "x"])], model="clearing", loss=1.0)
    # X's external assets (5 + 18 owed) are gone: it pays nothing, S loses all 18 it is owed
    assert r.distress["x"] == 1 and r.distress["s"] == pytest.approx(18 / 20)
    # with the loan settled outside the network S keeps its 10 and loses the order only
    assert r.cut_total_loss_usd == pytest.approx(5 + 8) and r.amplification == pytest.approx(23 / 13)
    assert {h.id: h.round for h in r.hits} == {"x": 0, "s": 1}


def _cycles(d):
    g = nx.DiGraph()
    g.add_edges_from(zip(d.payer, d.payee, strict=True))
    return [make_loop(d, list(c)) for c in nx.simple_cycles(g, length_bound=4) if len(c) >= 2]


TYPES = ("equity_investment", "loan", "bond", "warrant", "capacity_backstop", "cloud_commitment",
         "chip_purchase", "lease")


@st.composite
def deal_webs(draw):
    n = draw(st.integers(2, 5))
    rows = []
    for k in range(draw(st.integers(1, 10))):
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 2))
        b = b + 1 if b >= a else b
        rows.append((f"D{k}", f"e{a}", f"e{b}", draw(st.sampled_from(TYPES)),
                     draw(st.floats(1, 100)), "exact", draw(st.sampled_from(["signed", "completed"]))))
    eq = [{"id": f"e{i}", "equity_usd": draw(st.floats(1, 200))} for i in range(n)]
    return make_frame(rows), eq, draw(st.integers(0, n - 1)), draw(st.floats(0.05, 1))


@settings(max_examples=80, deadline=None)
@given(web=deal_webs(), model=st.sampled_from(["debtrank", "clearing"]))
def test_loops_never_lower_losses_and_distress_stays_in_range(web, model):
    d, ents, who, loss = web
    net = build_exposures(d, ents)
    eid = f"e{who}"
    if eid not in net.index:
        return
    r = propagate(net, eid, _cycles(d), loss=loss, model=model)
    assert r.total_loss_usd >= r.cut_total_loss_usd - 1e-9 * (1 + r.total_loss_usd)
    assert r.amplification is None or r.amplification >= 1 - 1e-9
    for h in r.hits:
        assert 0 <= h.distress <= 1 and 0 <= h.distress_cut <= h.distress + 1e-9
        assert h.loss_usd <= h.buffer_usd * (1 + 1e-9)


def test_margin_calls_for_leveraged_holders():
    d = make_frame([("F1", "s", "x", "equity_investment", 10.0), ("P1", "x", "s", "compute_purchase", 8.0),
                    ("H1", "fund", "s", "equity_investment", 6.0), ("H2", "fund", "x", "loan", 3.0)])
    ents = [{"id": "s", "equity_usd": 20}, {"id": "x", "equity_usd": 5},
            {"id": "fund", "kind": "hedge_fund", "name": "Fund"}]
    net = build_exposures(d, ents)
    loops = [make_loop(d, ["s", "x"])]
    r = propagate(net, "x", loops, loss=1.0)
    assert r.margin is not None and r.margin["deal_ids"] == ["H1"]  # the loan is no margin position
    (holder,) = r.margin["holders"]
    assert holder["id"] == "fund" and holder["equity_source"] == "proxy: positions / 3"
    assert holder["equity_usd"] == pytest.approx(2.0)
    # S's stock falls by its distress (90%): the fund is called at once and wiped out
    assert r.margin["assets"][0]["price_shock"] == pytest.approx(0.9)
    assert holder["called_round"] == 1 and holder["wiped_out"]
    gentle = propagate(net, "x", loops, loss=0.05, margin={"leverage": 1.0})
    assert gentle.margin["holders"][0]["called_round"] == -1  # unlevered: never called
    with pytest.raises(ValueError):
        propagate(net, "x", loops, margin={"haircut": 0})
    with pytest.raises(ValueError):
        propagate(net, "x", loops, loss=1.5)
    with pytest.raises(ValueError):
        propagate(net, "x", loops, model="nope")


# ---- the seed -----------------------------------------------------------------------------

@pytest.fixture
def seeded(store):
    ingest(store, [SEED])
    return store


def test_seed_shock_nvidia(seeded):
    r = shock(seeded, "Nvidia", engine=ENGINE, loss=0.5)
    assert r.entity == "nvidia" and r.hits[0].id == "nvidia" and r.hits[0].round == 0
    rounds = {h.id: h.round for h in r.hits}
    # CoreWeave and Lambda sell compute to Nvidia under signed contracts: hit in round 1
    assert rounds["coreweave"] == 1 and rounds["lambda"] == 1
    assert all(0 <= h.distress <= 1 for h in r.hits)
    assert r.total_loss_usd >= r.cut_total_loss_usd and r.amplification >= 1
    assert r.self_feedback_usd > 0  # via its stake in CoreWeave
    assert "D049" in {d for c in r.cut_legs for d in c["deal_ids"]}  # Oracle -> Nvidia closes Stargate
    assert "nvidia>openai>oracle" in r.loops
    # hedge funds hold stakes in the loops' members (Coatue in OpenAI's rounds): a margin spiral
    assert r.margin is not None and "coatue" in {h["id"] for h in r.margin["holders"]}
    json.dumps(r.to_dict())
    c = shock(seeded, "nvidia", engine=ENGINE, model="clearing")
    assert all(0 <= h.distress <= 1 for h in c.hits) and c.amplification >= 1
    o = shock(seeded, "openai", engine=ENGINE)
    assert o.amplification > 1  # its investors' stakes close its loops


def test_shock_summary_for_the_report(seeded):
    from circfin.report.report import shock_function

    assert circfin.risk.shock_summary is shock_summary and shock_function() is shock_summary
    rows = shock_summary(seeded, engine=ENGINE)
    hubs = analytics.hubs(seeded, status=[s for s in ("announced", "signed", "funded", "completed",
                                                      "stalled")], limit=5)
    assert [r["id"] for r in rows] == [h["id"] for h in hubs]
    for r in rows:
        assert r["loss_usd"] >= r["without_loops_usd"] > 0 and r["amplification"] >= 1
    json.dumps(rows)
    assert shock_summary(seeded, top=0) == []


def test_cli_shock(seeded, risk_cli):  # noqa: F811
    proc = risk_cli("shock", "nvidia", "--format", "json", "--engine", "cypher")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["entity"] == "nvidia" and data["hits"][0]["id"] == "nvidia" and data["amplification"] >= 1
    proc = risk_cli("shock", "no-such-company", "--format", "json")
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert "no entity called 'no-such-company'" in proc.stderr
    proc = risk_cli("shock", "nvidia", "--loss", "2")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "loss" in proc.stderr
    proc = risk_cli("shock", "OpenAI", "--model", "clearing", "--engine", "cypher")
    assert proc.returncode == 0 and "Loop amplification" in proc.stdout
