"""Members carry the exposure (issue 11): a syndicated deal's members take their shares of its
exposures and debts; capital buffers say which dated figure they came from; split_members opens
syndicate legs for the loop engine. Worked examples with numbers computed by hand."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import circfin.loops.members
from circfin.ingest import ingest
from circfin.loops.engine import find_loops
from circfin.loops.from_store import snapshot
from circfin.loops.members import member_parts, split_members
from circfin.risk import build_exposures, shock
from circfin.risk.clearing import clearing_vector
from circfin.risk.exposures import EXPOSURE_RULES
from circfin.risk.shock import propagate

from .conftest import write

COLS = ("deal_id", "payer", "payee", "type", "amount_usd", "status", "date", "amount_qualifier")


def frame(*rows) -> pd.DataFrame:
    """Deals from (deal_id, payer, payee, type, amount, status[, date])."""
    full = [(*r, "2025-03-01")[:7] + ("exact",) for r in rows]
    return pd.DataFrame(full, columns=list(COLS))


def member(deal_id, side, who, share, basis="disclosed"):
    return {"deal_id": deal_id, "side": side, "member": who, "share": share, "share_basis": basis,
            "source_url": None}


def ent(eid, **figures):
    """An entity as snapshot() gives it: figures, and ``financials`` meta for those given as (value, as_of, basis)."""
    e = {"id": eid, "name": eid.title(), "kind": "bank"}
    meta = {}
    for k, v in figures.items():
        if isinstance(v, tuple):
            e[k] = v[0]
            meta[k] = {"as_of": v[1], "basis": v[2], "source_url": f"https://www.sec.gov/{eid}/{v[1]}"}
        else:
            e[k] = v
    e["financials"] = meta
    return e


LOAN = frame(("L1", "s", "oracle", "loan", 18e9, "funded"))
# as snapshot() reads them after ingest: Deutsche Bank and MUFG had no share, split 0.6 equally
SYNDICATE = [member("L1", "payer", "jpmorgan", 0.4), member("L1", "payer", "deutsche-bank", 0.3, "equal_split"),
             member("L1", "payer", "mufg", 0.3, "equal_split")]


def records(net, deal_id="L1"):
    return {r.holder: r for r in net.records if r.deal_id == deal_id}


def mat(net, which, i, j):
    x, lia = net.matrices()
    return (x if which == "x" else lia)[net.index[i], net.index[j]]


# -- exposures ----------------------------------------------------------------------------------


def test_each_member_holds_its_share_of_the_claim_disclosed_and_equal_split():
    net = build_exposures(LOAN, participants=SYNDICATE)
    recs = records(net)
    assert set(recs) == {"jpmorgan", "deutsche-bank", "mufg"}  # nothing left with the syndicate
    jpm, db = recs["jpmorgan"], recs["deutsche-bank"]
    assert (jpm.on, jpm.kind, jpm.amount_usd) == ("oracle", "claim", pytest.approx(7.2e9))
    assert (jpm.member, jpm.share, jpm.share_basis, jpm.estimate) == ("jpmorgan", 0.4, "disclosed", False)
    assert db.amount_usd == pytest.approx(5.4e9) and recs["mufg"].amount_usd == pytest.approx(5.4e9)
    assert (db.share_basis, db.estimate) == ("equal_split", True)
    d = jpm.to_dict()
    assert (d["member"], d["share"], d["share_basis"], d["estimate"]) == ("jpmorgan", 0.4, "disclosed", False)
    assert d["split"] == [{"side": "payer", "syndicate": "s", "member": "jpmorgan", "share": 0.4,
                           "share_basis": "disclosed", "estimate": False}]
    assert mat(net, "x", "jpmorgan", "oracle") == pytest.approx(7.2e9)
    assert mat(net, "x", "s", "oracle") == 0
    assert net.exposures.sum() == pytest.approx(18e9)


def test_members_without_a_share_split_what_the_disclosed_ones_leave():
    raw = [member("L1", "payer", "jpmorgan", 0.4), member("L1", "payer", "deutsche-bank", None, None),
           member("L1", "payer", "mufg", None, None)]
    recs = records(build_exposures(LOAN, participants=raw))
    assert recs["deutsche-bank"].amount_usd == pytest.approx(0.3 * 18e9)
    assert recs["mufg"].share == pytest.approx(0.3) and recs["mufg"].estimate


def test_the_share_no_member_covers_stays_with_the_syndicate():
    net = build_exposures(LOAN, participants=[member("L1", "payer", "jpmorgan", 0.4),
                                              member("L1", "payer", "deutsche-bank", 0.25)])
    recs = records(net)
    s = recs["s"]
    assert s.amount_usd == pytest.approx(0.35 * 18e9)  # 6.3e9
    assert (s.share, s.share_basis, s.member) == (pytest.approx(0.35), "remainder", None)
    assert recs["deutsche-bank"].amount_usd == pytest.approx(4.5e9)
    # Oracle owes each lender its part, and the syndicate the rest
    assert mat(net, "l", "oracle", "jpmorgan") == pytest.approx(7.2e9)
    assert mat(net, "l", "oracle", "deutsche-bank") == pytest.approx(4.5e9)
    assert mat(net, "l", "oracle", "s") == pytest.approx(6.3e9)
    assert net.liabilities.sum() == pytest.approx(18e9)


def test_payee_side_members_a_jv_selling_compute():
    # OpenAI buys $10B of compute from a JV owned 60/40: each owner carries its share of the
    # unpaid orders as revenue at risk, and OpenAI owes each its share.
    deals = frame(("C1", "openai", "jv", "cloud_commitment", 10e9, "signed"))
    net = build_exposures(deals, participants=[member("C1", "payee", "a", 0.6), member("C1", "payee", "b", 0.4)])
    assert mat(net, "x", "a", "openai") == pytest.approx(6e9)
    assert mat(net, "x", "b", "openai") == pytest.approx(4e9)
    assert mat(net, "l", "openai", "a") == pytest.approx(6e9)
    assert mat(net, "x", "jv", "openai") == 0
    assert records(net, "C1")["a"].split[0].side == "payee"


def test_members_on_both_sides_meet_pairwise():
    # syndicate s (jpm 0.5, rest with s) lends $100 to jv (a 0.75, b 0.25): four parts
    deals = frame(("L9", "s", "jv", "loan", 100.0, "funded"))
    net = build_exposures(deals, participants=[member("L9", "payer", "jpm", 0.5),
                                               member("L9", "payee", "a", 0.75),
                                               member("L9", "payee", "b", 0.25)])
    assert mat(net, "x", "jpm", "a") == pytest.approx(37.5)
    assert mat(net, "x", "jpm", "b") == pytest.approx(12.5)
    assert mat(net, "x", "s", "a") == pytest.approx(37.5)
    assert mat(net, "l", "b", "s") == pytest.approx(12.5)
    assert net.exposures.sum() == pytest.approx(100.0)


def test_without_participants_nothing_changes():
    for parts in (None, []):
        net = build_exposures(LOAN, participants=parts)
        (r,) = net.records
        assert (r.holder, r.amount_usd, r.share, r.split, r.member, r.share_basis) == ("s", 18e9, 1.0, (), None, None)


def test_members_of_deals_not_in_the_frame_are_ignored_and_bad_shares_refused():
    net = build_exposures(LOAN, participants=[member("X9", "payer", "jpmorgan", 0.4)])
    assert [r.holder for r in net.records] == ["s"] and "jpmorgan" not in net.ids
    with pytest.raises(ValueError, match="payer-side members' shares add up to 1.1"):
        build_exposures(LOAN, participants=[member("L1", "payer", "a", 0.6), member("L1", "payer", "b", 0.5)])
    with pytest.raises(ValueError, match="share must be a number in"):
        build_exposures(LOAN, participants=[member("L1", "payer", "a", -0.1)])
    with pytest.raises(ValueError, match="side must be payer or payee"):
        build_exposures(LOAN, participants=[member("L1", "lender", "a", 0.1)])
    with pytest.raises(ValueError, match="named twice"):
        build_exposures(LOAN, participants=[member("L1", "payer", "a", 0.1), member("L1", "payer", "a", 0.2)])


# -- shocks ---------------------------------------------------------------------------------------


BANKS = [ent("oracle", equity_usd=20e9), ent("jpmorgan", equity_usd=36e9),
         ent("deutsche-bank", equity_usd=10.8e9), ent("mufg", equity_usd=5e9)]


def test_debtrank_a_member_bank_is_distressed_by_its_own_share():
    net = build_exposures(LOAN, BANKS, participants=SYNDICATE)
    res = propagate(net, "oracle", [], loss=1.0, model="debtrank")
    hits = {h.id: h for h in res.hits}
    # distress = its share of the $18B over its own equity, at most 1
    assert hits["jpmorgan"].distress == pytest.approx(7.2 / 36)  # 0.2
    assert hits["deutsche-bank"].distress == pytest.approx(5.4 / 10.8)  # 0.5
    assert hits["mufg"].distress == pytest.approx(1.0)  # 5.4 > 5: wiped out
    assert hits["jpmorgan"].loss_usd == pytest.approx(7.2e9)
    assert hits["mufg"].loss_usd == pytest.approx(5e9)
    assert "s" not in hits  # the syndicate itself holds nothing
    assert res.total_loss_usd == pytest.approx(20e9 + 7.2e9 + 5.4e9 + 5e9)
    # without the members the banks would see nothing
    plain = propagate(build_exposures(LOAN, BANKS), "oracle", [], loss=1.0)
    assert {h.id for h in plain.hits} == {"oracle", "s"}


def test_clearing_oracle_owes_each_member_its_share():
    net = build_exposures(LOAN, BANKS, participants=SYNDICATE)
    _, lia = net.matrices()
    o = net.index["oracle"]
    assert {net.ids[j]: lia[o, j] for j in np.flatnonzero(lia[o])} == pytest.approx(
        {"jpmorgan": 7.2e9, "deutsche-bank": 5.4e9, "mufg": 5.4e9})
    # Oracle with nothing outside the network pays nothing: each lender's equity falls by its share
    cv = clearing_vector(lia, np.zeros(net.n))
    assert cv.payments[o] == pytest.approx(0.0)
    res = propagate(net, "oracle", [], loss=1.0, model="clearing")
    hits = {h.id: h for h in res.hits}
    assert hits["jpmorgan"].loss_usd == pytest.approx(7.2e9)
    assert hits["jpmorgan"].distress == pytest.approx(0.2)
    assert hits["deutsche-bank"].loss_usd == pytest.approx(5.4e9)
    # MUFG's $5.4B claim is more than its $5B buffer: its outside assets are clipped at 0, so its
    # equity before the shock is the claim itself, and it loses all of it
    assert (hits["mufg"].buffer_usd, hits["mufg"].loss_usd) == (pytest.approx(5.4e9), pytest.approx(5.4e9))
    # half a shock: Oracle's outside assets, $20B equity + $18B owed = $38B, lose half; $19B still
    # pays the $18B in full, and no lender loses
    half = {h.id: h for h in propagate(net, "oracle", [], loss=0.5, model="clearing").hits}
    assert "jpmorgan" not in half


# -- buffers --------------------------------------------------------------------------------------


def buffers(net):
    return {b["id"]: b for b in net.to_dict()["buffers"]}


def test_buffers_say_which_figure_and_date_they_came_from():
    ents = [
        ent("oracle", equity_usd=(24e9, "2025-11-30", "10-Q"), total_assets_usd=(200e9, "2025-11-30", "10-Q"),
            revenue_usd=(57e9, "2025-05-31", "10-K")),
        ent("bank", total_assets_usd=(300e9, "2025-11-30", "10-Q"),
            total_liabilities_usd=(250e9, "2025-11-30", "10-Q")),
        ent("mixed", total_assets_usd=(90e9, "2025-11-30", "10-Q"),
            total_liabilities_usd=(60e9, "2025-08-31", "10-Q")),
        ent("underwater", total_assets_usd=(10e9, "2025-11-30", None),
            total_liabilities_usd=(12e9, "2025-11-30", None), revenue_usd=(8e9, "2025-05-31", None)),
        ent("plain", equity_usd=7e9),  # no dates known
        ent("nothing"),
        # a stated deficit rules out a positive assets-minus-liabilities of another date
        ent("deficit", equity_usd=(-1.6e9, "2026-01-30", "10-Q"), total_assets_usd=(90e9, "2025-01-31", None),
            total_liabilities_usd=(80e9, "2025-01-31", None), revenue_usd=(95e9, "2026-01-30", "10-K")),
        ent("deficit-only", equity_usd=(-2e9, "2025-12-31", None)),
    ]
    net = build_exposures(frame(), ents)
    b = buffers(net)
    assert (b["oracle"]["buffer_usd"], b["oracle"]["source"]) == (24e9, "equity 2025-11-30 (10-Q)")
    assert (b["oracle"]["figure"], b["oracle"]["as_of"], b["oracle"]["source_url"]) == (
        "equity_usd", "2025-11-30", "https://www.sec.gov/oracle/2025-11-30")
    assert (b["bank"]["buffer_usd"], b["bank"]["source"]) == (50e9, "assets minus liabilities 2025-11-30 (10-Q)")
    assert b["bank"]["figure"] == "total_assets_usd - total_liabilities_usd" and b["bank"]["as_of"] == "2025-11-30"
    assert (b["mixed"]["buffer_usd"], b["mixed"]["source"], b["mixed"]["as_of"]) == (
        30e9, "assets 2025-11-30 (10-Q) minus liabilities 2025-08-31 (10-Q)", "2025-08-31")
    # negative book equity is no buffer: half of revenue instead
    assert (b["underwater"]["buffer_usd"], b["underwater"]["source"], b["underwater"]["figure"]) == (
        4e9, "proxy: 50% of revenue 2025-05-31", "revenue_usd")
    assert (b["plain"]["source"], b["plain"]["as_of"]) == ("equity", None)
    assert (b["deficit"]["buffer_usd"], b["deficit"]["source"], b["deficit"]["figure"]) == (
        47.5e9, "proxy: 50% of revenue 2026-01-30 (10-K) (equity -$1.6B at 2026-01-30)", "revenue_usd")
    known = sorted([24e9, 50e9, 30e9, 4e9, 7e9, 47.5e9])
    med = (known[2] + known[3]) / 2
    assert b["nothing"]["buffer_usd"] == med and b["nothing"]["source"] == "proxy: median buffer of 6 entities"
    assert (b["nothing"]["figure"], b["nothing"]["as_of"], b["nothing"]["source_url"]) == (None, None, None)
    assert (b["deficit-only"]["buffer_usd"], b["deficit-only"]["source"]) == (
        med, "proxy: median buffer of 6 entities (equity -$2B at 2025-12-31)")


def test_shock_hits_carry_the_buffer_figure_and_date():
    ents = [ent("oracle", equity_usd=(20e9, "2025-05-31", "10-K")),
            ent("jpmorgan", equity_usd=(360e9, "2025-09-30", "10-Q"))]
    net = build_exposures(LOAN, ents, participants=SYNDICATE)
    hit = {h["id"]: h for h in propagate(net, "oracle", []).to_dict()["hits"]}["jpmorgan"]
    assert (hit["buffer_usd"], hit["buffer_source"], hit["buffer_figure"], hit["buffer_as_of"],
            hit["buffer_source_url"]) == (360e9, "equity 2025-09-30 (10-Q)", "equity_usd", "2025-09-30",
                                          "https://www.sec.gov/jpmorgan/2025-09-30")


# -- end to end: ingested tables ------------------------------------------------------------------


T11 = {
    "deals.csv": """deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence
L1,2025-03-01,Bank Syndicate,Oracle,loan,18000000000,exact,funded,Loan,https://www.reuters.com/x,high
D2,2025-01-10,Oracle,Nvidia,chip_purchase,40000000000,approx,signed,chips,https://nvidianews.nvidia.com/y,medium
D3,2025-02-01,Nvidia,Bank Syndicate,equity_investment,1000000,exact,completed,odd,https://example.org/z,low
""",
    "entities.csv": """entity_id,name,kind,country,revenue_usd,equity_usd,as_of,source_url
oracle,Oracle,hyperscaler,US,57000000000,20000000000,2025-05-31,https://www.oracle.com/ir
nvidia,Nvidia,chipmaker,US,130000000000,,2025-01-26,
jpmorgan,JPMorgan,bank,US,,,,
deutsche-bank,Deutsche Bank,bank,DE,,,,
mufg,MUFG,bank,JP,,,,
""",
    "events.csv": """deal_id,date,status,source_url
L1,2025-03-01,announced,
L1,2025-06-01,signed,
L1,2025-09-01,funded,
""",
    "fin.csv": """entity_id,as_of,equity_usd,total_assets_usd,total_liabilities_usd,basis,source_url
Oracle,2025-11-30,24000000000,200000000000,,10-Q,https://www.sec.gov/q
JPMorgan,2025-09-30,360000000000,,,10-Q,https://www.sec.gov/jpm
MUFG,2025-09-30,,3000000000000,2880000000000,10-Q,https://www.sec.gov/mufg
""",
    "members.csv": """deal_id,side,member,share,source_url
L1,payer,JPMorgan,0.4,
L1,payer,Deutsche Bank,,
L1,payer,MUFG,,
""",
}


@pytest.fixture
def t11(store, tmp_path):
    ingest(store, [write(tmp_path / "t11" / name, text) for name, text in T11.items()])
    return store


def test_shock_oracle_jpmorgan_loses_its_share_of_the_loan(t11):
    res = shock(t11, "Oracle", loss=1.0, engine="memory")
    hits = {h.id: h for h in res.hits}
    jpm = hits["jpmorgan"]
    # JPMorgan's claim: 0.4 x $18B; its buffer $360B equity (10-Q of 2025-09-30); nothing else to lose
    assert jpm.loss_usd == pytest.approx(0.4 * 18e9)
    assert jpm.distress == pytest.approx(7.2e9 / 360e9)
    assert (jpm.buffer_source, jpm.buffer_figure, jpm.buffer_as_of, jpm.buffer_source_url) == (
        "equity 2025-09-30 (10-Q)", "equity_usd", "2025-09-30", "https://www.sec.gov/jpm")
    # MUFG: book equity 3000 - 2880 = $120B; its 0.3 (equal split) = $5.4B
    mufg = hits["mufg"]
    assert mufg.buffer_usd == pytest.approx(120e9)
    assert mufg.buffer_source == "assets minus liabilities 2025-09-30 (10-Q)"
    assert mufg.loss_usd == pytest.approx(5.4e9)
    # Oracle's buffer is its latest equity: the 10-Q, not the entities table's May figure
    assert (hits["oracle"].buffer_usd, hits["oracle"].buffer_source) == (24e9, "equity 2025-11-30 (10-Q)")
    assert "bank-syndicate" not in hits  # it holds no part of the loan any more
    assert res.loops and "L1" in {d for leg in res.cut_legs for d in leg["deal_ids"]}
    snap = snapshot(t11)
    net = build_exposures(snap.deals, snap.entities, participants=snap.participants)
    assert {r.holder: (r.share_basis, r.estimate) for r in net.records if r.deal_id == "L1"} == {
        "jpmorgan": ("disclosed", False), "deutsche-bank": ("equal_split", True), "mufg": ("equal_split", True)}


def test_buffers_use_the_latest_figure_on_or_before_the_as_of_date(t11):
    def oracle(as_of):
        snap = snapshot(t11, as_of=as_of)
        b = buffers(build_exposures(snap.deals, snap.entities, participants=snap.participants))["oracle"]
        return b["buffer_usd"], b["source"], b["as_of"], b["source_url"]

    assert oracle("2025-10-31") == (20e9, "equity 2025-05-31", "2025-05-31", "https://www.oracle.com/ir")
    assert oracle("2025-12-31") == (24e9, "equity 2025-11-30 (10-Q)", "2025-11-30", "https://www.sec.gov/q")
    # before any equity figure: no buffer of its own (the revenue figure is from May too)
    assert oracle("2025-04-30")[1].startswith("proxy: median buffer")
    # the shock's hits say the same, and JPMorgan's buffer before its 10-Q is a proxy
    hits = {h.id: h for h in shock(t11, "Oracle", engine="memory", as_of="2025-10-31").hits}
    assert (hits["oracle"].buffer_usd, hits["oracle"].buffer_as_of) == (20e9, "2025-05-31")
    assert hits["jpmorgan"].buffer_source == "equity 2025-09-30 (10-Q)"
    early = {h.id: h for h in shock(t11, "Oracle", engine="memory", as_of="2025-09-29").hits}
    assert early["jpmorgan"].buffer_source.startswith("proxy: median buffer")


def test_cli_shock_shows_the_dated_figure(t11, cli, tmp_path):
    import json

    out = cli("shock", "Oracle", "--format", "json", "--engine", "memory", "--as-of", "2025-12-31", check=True)
    hits = {h["id"]: h for h in json.loads(out.stdout)["hits"]}
    assert hits["jpmorgan"]["loss_usd"] == pytest.approx(7.2e9)
    assert hits["jpmorgan"]["buffer_as_of"] == "2025-09-30"
    table = cli("shock", "Oracle", "--engine", "memory", "--as-of", "2025-12-31", check=True).stdout
    assert "equity 2025-11-30 (10-Q)" in table and "JPMorgan" in table


# -- property: splitting keeps each deal's total ----------------------------------------------------


@st.composite
def side_members(draw, prefix):
    n = draw(st.integers(0, 4))
    total = draw(st.floats(0, 1))
    weights = draw(st.lists(st.floats(0.01, 1), min_size=n, max_size=n))
    open_ = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    w = sum(weights) or 1.0
    return [(f"{prefix}{i}", None if o else total * x / w) for i, (x, o) in enumerate(zip(weights, open_, strict=True))]


@settings(max_examples=150, deadline=None)
@given(typ=st.sampled_from(sorted(EXPOSURE_RULES)), amount=st.floats(1.0, 1e12),
       payers=side_members("p"), payees=side_members("q"))
def test_splitting_keeps_the_total_of_a_deal(typ, amount, payers, payees):
    status = EXPOSURE_RULES[typ][2][-1]
    deals = frame(("D1", "s", "t", typ, amount, status))
    parts = ([member("D1", "payer", m, s, None) for m, s in payers]
             + [member("D1", "payee", m, s, None) for m, s in payees])
    plain = build_exposures(deals)
    net = build_exposures(deals, participants=parts)
    assert net.exposures.sum() == pytest.approx(plain.exposures.sum(), rel=1e-9)
    assert net.liabilities.sum() == pytest.approx(plain.liabilities.sum(), rel=1e-9)
    assert sum(r.share for r in net.records) == pytest.approx(1.0, rel=1e-9)
    # every member's part is its share of its side times the other side's part
    by_member = {}
    for r in net.records:
        for p in r.split:
            by_member[p.member] = by_member.get(p.member, 0.0) + r.amount_usd
    for m, s in payers + payees:
        if s is not None and s > 0:
            assert by_member.get(m, 0.0) == pytest.approx(s * amount, rel=1e-9)
    out = split_members(deals, parts)
    assert out["amount_usd"].sum() == pytest.approx(amount, rel=1e-9)
    assert set(out["parent_deal"]) == {"D1"} and out["deal_id"].is_unique


# -- split_members ----------------------------------------------------------------------------------


def test_split_members_turns_a_syndicate_leg_into_member_legs():
    deals = frame(("L1", "s", "oracle", "loan", 18e9, "funded"), ("D2", "oracle", "nvidia", "chip_purchase", 4e10,
                                                                 "signed"))
    out = split_members(deals, [member("L1", "payer", "jpmorgan", 0.4),
                                member("L1", "payer", "mufg", 0.3, "equal_split")])
    rows = {r["deal_id"]: r for r in out.to_dict("records")}
    assert set(rows) == {"L1@jpmorgan", "L1@mufg", "L1@s", "D2"}
    assert (rows["L1@jpmorgan"]["payer"], rows["L1@jpmorgan"]["payee"]) == ("jpmorgan", "oracle")
    assert rows["L1@jpmorgan"]["amount_usd"] == pytest.approx(7.2e9)
    assert rows["L1@jpmorgan"]["amount_qualifier"] == "exact"
    assert (rows["L1@mufg"]["share_basis"], rows["L1@mufg"]["amount_qualifier"]) == ("equal_split", "estimate")
    assert (rows["L1@s"]["payer"], rows["L1@s"]["amount_usd"], rows["L1@s"]["share_basis"]) == (
        "s", pytest.approx(5.4e9), "remainder")
    assert {r["parent_deal"] for r in rows.values()} == {"L1", "D2"}
    assert (rows["D2"]["member_share"], rows["D2"]["share_basis"], rows["D2"]["payer"]) == (1.0, None, "oracle")
    assert [c for c in deals.columns] == list(out.columns)[:len(deals.columns)]
    assert deals["deal_id"].tolist() == ["L1", "D2"]  # the input is untouched


def test_split_members_payee_side_both_sides_and_undisclosed():
    deals = frame(("C1", "openai", "jv", "cloud_commitment", None, "signed"),
                  ("L9", "s", "jv", "loan", 100.0, "funded"))
    out = split_members(deals, [member("C1", "payee", "a", 0.5), member("C1", "payee", "b", 0.5),
                                member("L9", "payer", "a", 1.0), member("L9", "payee", "a", 0.5),
                                member("L9", "payee", "b", 0.5)])
    rows = {r["deal_id"]: r for r in out.to_dict("records")}
    assert (rows["C1@a"]["payer"], rows["C1@a"]["payee"]) == ("openai", "a")
    assert math.isnan(rows["C1@b"]["amount_usd"])  # undisclosed stays undisclosed
    # a pays itself half of L9: dropped; a -> b keeps the other half
    assert "L9@a@a" not in rows
    assert (rows["L9@a@b"]["payer"], rows["L9@a@b"]["payee"], rows["L9@a@b"]["amount_usd"]) == ("a", "b", 50.0)


def test_split_members_shows_loops_through_individual_banks():
    # JPMorgan lends to Oracle through a syndicate; Oracle buys from Nvidia; Nvidia invests in JPMorgan
    deals = frame(("L1", "s", "oracle", "loan", 18e9, "funded"),
                  ("D2", "oracle", "nvidia", "chip_purchase", 40e9, "signed"),
                  ("D3", "nvidia", "jpmorgan", "equity_investment", 1e9, "completed"))
    parts = [member("L1", "payer", "jpmorgan", 0.4), member("L1", "payer", "mufg", 0.6)]
    assert [lp.key for lp in find_loops(deals)] == []
    loops = find_loops(split_members(deals, parts))
    assert [lp.key for lp in loops] == ["jpmorgan>oracle>nvidia"]
    leg = next(leg for leg in loops[0].legs if leg.payer_id == "jpmorgan")
    assert leg.deal_ids == ("L1@jpmorgan",) and leg.amount_usd == pytest.approx(7.2e9)


def test_split_members_without_members_and_bad_input():
    out = split_members(LOAN, None)
    assert out["deal_id"].tolist() == ["L1"] and out["parent_deal"].tolist() == ["L1"]
    with pytest.raises(ValueError, match="add up to"):
        split_members(LOAN, [member("L1", "payee", "a", 0.7), member("L1", "payee", "b", 0.7)])
    bad = frame(("L1", "s", "oracle", "loan", "lots", "funded"))
    with pytest.raises(ValueError, match="deal L1: amount_usd 'lots' is not a number"):
        split_members(bad, [member("L1", "payer", "a", 0.5)])


def test_member_parts_remainder_and_doctests():
    parts = member_parts([member("L1", "payer", "a", 0.25)], {"L1": ("s", "o")})[("L1", "payer")]
    assert [(p.member, p.share, p.share_basis) for p in parts] == [("a", 0.25, "disclosed"),
                                                                    ("s", 0.75, "remainder")]
    res = doctest.testmod(circfin.loops.members)
    assert res.attempted > 0 and res.failed == 0
