"""Insider-deal flags: each pattern and its near miss on hand-built frames, then the seed."""

from __future__ import annotations

import pandas as pd
import pytest

from circfin.graph.model import Leg, Loop
from circfin.ingest import ingest
from circfin.loops.from_store import loops_from_store, snapshot
from circfin.risk import FLAGS, flag_loops, flags_for
from circfin.risk.flags import deal_table

from .conftest import SEED

ENGINE = "cypher"  # the in-memory engine is being rewritten; Cypher answers in the database
STARGATE = "nvidia>openai>oracle"
COLUMNS = ("deal_id", "payer", "payee", "type", "amount_usd", "amount_qualifier", "status",
           "confidence", "date")


def make_frame(rows) -> pd.DataFrame:
    """Deals from tuples; missing trailing fields default to (amount 1e9, exact, signed, high, 2025-01-01)."""
    defaults = (None, None, None, None, 1e9, "exact", "signed", "high", "2025-01-01")
    full = [tuple(r) + defaults[len(r):] for r in rows]
    return pd.DataFrame(full, columns=list(COLUMNS))


def make_loop(deals: pd.DataFrame, ids) -> Loop:
    """The loop through ``ids`` in flow order, every deal of each leg counting (as circfin builds it)."""
    legs = []
    for i, a in enumerate(ids):
        b = ids[(i + 1) % len(ids)]
        d = deals[(deals.payer == a) & (deals.payee == b)].sort_values("deal_id")
        assert len(d), f"no deal {a} -> {b}"
        amounts = [float(x) for x in d.amount_usd if x is not None and x == x]
        dates = sorted(d.date)
        legs.append(Leg(payer_id=a, payee_id=b, payer=a.title(), payee=b.title(),
                        deal_ids=tuple(d.deal_id), amount_usd=sum(amounts) if len(amounts) == len(d) else None,
                        types=tuple(sorted(set(d.type))), first_date=dates[0], last_date=dates[-1]))
    start = min(range(len(ids)), key=lambda i: ids[i])
    legs = legs[start:] + legs[:start]
    return Loop(ids=tuple(leg.payer_id for leg in legs), entities=tuple(leg.payer for leg in legs),
                legs=tuple(legs))


def names(flags) -> list[str]:
    return [f.name for f in flags]


def by_name(flags, name):
    return next(f for f in flags if f.name == name)


# ---- vendor financing -------------------------------------------------------------------

def test_vendor_financing_funding_out_and_purchases_back():
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "b", "c", "cloud_commitment"),
                    ("D3", "c", "a", "chip_purchase"), ("D4", "a", "b", "chip_purchase")])
    flags = flags_for(make_loop(d, ["a", "b", "c"]), d, {})
    vf = by_name(flags, "vendor_financing")
    # the funding deal out of a and the purchase into a; the purchase D4 a -> b is not funding
    assert vf.deal_ids == ("D1", "D3")
    assert "A funds B (D1)" in vf.why and "C's purchases from A (D3)" in vf.why


def test_vendor_financing_near_misses():
    # the leg back into the funder is not a purchase
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "b", "c", "cloud_commitment"),
                    ("D3", "c", "a", "other")])
    assert "vendor_financing" not in names(flags_for(make_loop(d, ["a", "b", "c"]), d, {}))
    # ... and when it is a stake, that stake funds the next party, whose purchases come back
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "b", "c", "cloud_commitment"),
                    ("D3", "c", "a", "equity_investment")])
    vf = by_name(flags_for(make_loop(d, ["a", "b", "c"]), d, {}), "vendor_financing")
    assert vf.deal_ids == ("D2", "D3") and vf.why.startswith("C funds A (D3)")
    # purchases all round: ordinary trade, nobody funds anybody
    d = make_frame([("D1", "a", "b", "compute_purchase"), ("D2", "b", "c", "cloud_commitment"),
                    ("D3", "c", "a", "chip_purchase")])
    assert flags_for(make_loop(d, ["a", "b", "c"]), d, {}) == []


def test_vendor_financing_in_a_two_loop_and_with_several_funders():
    d = make_frame([("D1", "x", "y", "loan"), ("D2", "y", "x", "lease")])
    assert by_name(flags_for(make_loop(d, ["x", "y"]), d, {}), "vendor_financing").deal_ids == ("D1", "D2")
    # a funds b and buys from c, c funds a... two funders, evidence from both
    d = make_frame([("D1", "a", "b", "warrant"), ("D2", "b", "c", "compute_purchase"),
                    ("D3", "c", "a", "lease"), ("D5", "b", "c", "credit_facility"),
                    ("D6", "a", "b", "compute_purchase")])
    vf = by_name(flags_for(make_loop(d, ["a", "b", "c"]), d, {}), "vendor_financing")
    assert vf.deal_ids == ("D1", "D3", "D5", "D6")  # a: D1 out, D3 back; b: D5 out, D6 back
    assert vf.why.count("funds") == 2


# ---- round trip ---------------------------------------------------------------------------

def test_round_trip_needs_two_parties_and_different_kinds():
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "b", "a", "cloud_commitment")])
    rt = by_name(flags_for(make_loop(d, ["a", "b"]), d, {}), "round_trip")
    assert rt.deal_ids == ("D1", "D2") and "equity_investment" in rt.why and "cloud_commitment" in rt.why
    # near miss: money both ways of the same kind (cross-holdings)
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "b", "a", "equity_investment")])
    assert "round_trip" not in names(flags_for(make_loop(d, ["a", "b"]), d, {}))
    # near miss: three parties with different kinds is not a round trip
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "b", "c", "cloud_commitment"),
                    ("D3", "c", "a", "loan")])
    assert "round_trip" not in names(flags_for(make_loop(d, ["a", "b", "c"]), d, {}))


def test_round_trip_compares_type_sets():
    # the same set of kinds both ways, though the deals differ
    d = make_frame([("D1", "a", "b", "equity_investment"), ("D2", "a", "b", "lease"),
                    ("D3", "b", "a", "lease"), ("D4", "b", "a", "equity_investment")])
    assert "round_trip" not in names(flags_for(make_loop(d, ["a", "b"]), d, {}))
    d = d[d.deal_id != "D4"]
    assert "round_trip" in names(flags_for(make_loop(d, ["a", "b"]), d, {}))


# ---- related party ------------------------------------------------------------------------

def test_related_party_control_shared_parent_and_ancestors():
    d = make_frame([("D1", "a", "spv", "spv_financing"), ("D2", "spv", "b", "lease"),
                    ("D3", "b", "a", "lease")])
    lp = make_loop(d, ["a", "spv", "b"])
    rp = by_name(flags_for(lp, d, {"spv": "a"}), "related_party")
    assert rp.why == "A controls Spv" and set(rp.deal_ids) == {"D1", "D2", "D3"}
    # a grandparent counts as control too, and siblings share a parent
    assert "related_party" in names(flags_for(lp, d, {"spv": "mid", "mid": "a"}))
    assert "share the parent" in by_name(flags_for(lp, d, {"spv": "p", "b": "p"}), "related_party").why
    assert "related_party" in names(flags_for(lp, d, {"spv": "p", "b": "q", "q": "p"}))
    # near misses: different parents; a parent that is not on the loop and unrelated to the rest
    assert "related_party" not in names(flags_for(lp, d, {"spv": "p", "b": "q"}))
    assert "related_party" not in names(flags_for(lp, d, {"spv": "x"}))
    # a cycle in the parents cannot hang the search
    assert isinstance(flags_for(lp, d, {"spv": "x", "x": "spv"}), list)


def test_related_party_evidence_is_the_legs_touching_related_members():
    d = make_frame([("D1", "a", "b", "lease"), ("D2", "b", "c", "lease"), ("D3", "c", "d", "lease"),
                    ("D4", "d", "a", "lease")])
    lp = make_loop(d, ["a", "b", "c", "d"])
    rp = by_name(flags_for(lp, d, {"b": "p", "c": "p"}), "related_party")
    assert rp.deal_ids == ("D1", "D2", "D3")  # legs into b, b -> c, out of c


# ---- paper and contingent loops ----------------------------------------------------------

def test_paper_loop_every_deal_announced_or_stalled():
    d = make_frame([("D1", "a", "b", "equity_investment", 1e9, "exact", "announced"),
                    ("D2", "b", "a", "cloud_commitment", 1e9, "exact", "stalled")])
    pl = by_name(flags_for(make_loop(d, ["a", "b"]), d, {}), "paper_loop")
    assert pl.deal_ids == ("D1", "D2")
    # near miss: one signed deal on one leg makes the loop real
    d2 = pd.concat([d, make_frame([("D3", "b", "a", "lease", 1e9, "exact", "signed")])])
    assert "paper_loop" not in names(flags_for(make_loop(d2, ["a", "b"]), d2, {}))


def test_contingent_loop_a_leg_of_only_up_to_or_warrants():
    d = make_frame([("D1", "a", "b", "equity_investment", 1e9, "up_to"),
                    ("D2", "a", "b", "warrant", None, "undisclosed"),
                    ("D3", "b", "a", "cloud_commitment")])
    cl = by_name(flags_for(make_loop(d, ["a", "b"]), d, {}), "contingent_loop")
    assert cl.deal_ids == ("D1", "D2") and "may never pay" in cl.why
    # near miss: the same leg also has a firm deal
    d2 = pd.concat([d, make_frame([("D4", "a", "b", "equity_investment", 1e9, "approx")])])
    assert "contingent_loop" not in names(flags_for(make_loop(d2, ["a", "b"]), d2, {}))


def test_flags_come_in_order_and_missing_deals_are_errors():
    d = make_frame([("D1", "a", "b", "warrant", 1e9, "up_to", "announced"),
                    ("D2", "b", "a", "chip_purchase", 1e9, "exact", "announced")])
    lp = make_loop(d, ["a", "b"])
    got = names(flags_for(lp, d, {"b": "a"}))
    assert got == list(FLAGS)  # every flag at once, in FLAGS order
    assert flags_for(lp, deal_table(d), {"b": "a"}) == flags_for(lp, d, {"b": "a"})
    with pytest.raises(ValueError, match="D2"):
        flags_for(lp, d[d.deal_id != "D2"], {})


# ---- the seed -----------------------------------------------------------------------------

@pytest.fixture
def seeded(store):
    ingest(store, [SEED])
    return store


def test_seed_stargate_is_vendor_financing_and_d071_is_outweighed(seeded):
    loops, _, _ = loops_from_store(seeded, engine=ENGINE, max_len=4)
    marked = flag_loops(seeded, loops)
    assert set(marked) == {lp.key for lp in loops}
    stargate = marked[STARGATE]
    vf = by_name(stargate, "vendor_financing")
    # Nvidia funds OpenAI (D021, D071, D135); Oracle buys Nvidia chips (D049)
    assert vf.deal_ids == ("D021", "D049", "D071", "D135")
    assert "Nvidia funds OpenAI" in vf.why and "Oracle's purchases from Nvidia (D049)" in vf.why
    # D071 (up to $100B, stalled) shares its leg with a completed and a signed stake
    assert "contingent_loop" not in names(stargate) and "paper_loop" not in names(stargate)
    # the paper loop of the seed: an announced chip order against an announced stake
    assert "paper_loop" in names(marked["nvidia>thinking-machines"])
    assert "related_party" in names(marked["hyperion-jv>meta"])


def test_seed_stargate_with_only_d071_on_its_first_leg_is_contingent(seeded):
    loops, _, _ = loops_from_store(seeded, engine=ENGINE, max_len=3, since="2025-01-01",
                                   until="2025-12-31")
    stargate = next(lp for lp in loops if lp.key == STARGATE)
    assert stargate.legs[0].deal_ids == ("D071",)
    snap = snapshot(seeded)
    flags = flags_for(stargate, snap.deals, snap.parents)
    assert names(flags) == ["vendor_financing", "contingent_loop"]
    assert by_name(flags, "contingent_loop").deal_ids == ("D071",)
    # D068 and D049 are signed: the loop is contingent, not paper
    assert "paper_loop" not in names(flags)


def test_graph_page_highlights_flagged_loops(seeded):
    from circfin.report.graph_page import graph_data

    data = graph_data(seeded, flag="paper_loop", max_len=4, engine=ENGINE)
    assert data["highlight"] == ["nvidia>thinking-machines"]
