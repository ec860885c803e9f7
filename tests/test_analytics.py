"""Concentration, self-funded demand, reciprocal pairs and hubs: Cypher in FalkorDB vs pandas."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circfin.analytics import measures as an

from .graphload import load_frame
from .strategies import deal_frames

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _amounts(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    f["amt"] = pd.to_numeric(f["amount_usd"], errors="coerce")
    return f


def pandas_concentration(frame, statuses):
    f = _amounts(frame)
    f = f[f["amt"].notna() & f["status"].isin(statuses)]
    out = {}
    for direction, me, other in (("in", "payee", "payer"), ("out", "payer", "payee")):
        for ent, g in f.groupby(me):
            by = g.groupby(other)["amt"].sum()
            total = by.sum()
            if total <= 0:
                continue
            shares = by / total
            out[(ent, direction)] = (total, len(by), shares.max(), float((shares ** 2).sum()),
                                     min(by[by == by.max()].index))
    return out


@SETTINGS
@given(frame=deal_frames(), statuses=st.sets(st.sampled_from(
    ["announced", "signed", "funded", "completed", "stalled", "cancelled"]), min_size=1))
def test_concentration_matches_pandas(store, frame, statuses):
    store.clear()
    load_frame(store, frame)
    got = {(r["id"], r["direction"]): r for r in an.concentration(store, status=sorted(statuses))}
    want = pandas_concentration(frame, statuses)
    assert set(got) == set(want)
    for k, (total, n, top, hhi, top_id) in want.items():
        r = got[k]
        assert math.isclose(r["total_usd"], total, rel_tol=1e-9)
        assert r["counterparties"] == n and r["top_counterparty"] == top_id
        assert math.isclose(r["top_share"], top, rel_tol=1e-9)
        assert math.isclose(r["hhi"], hhi, rel_tol=1e-9)
        assert 1 / n - 1e-12 <= r["hhi"] <= 1 + 1e-12


@SETTINGS
@given(frame=deal_frames())
def test_self_funded_and_reciprocal_match_pandas(store, frame):
    store.clear()
    load_frame(store, frame)
    f = _amounts(frame)
    funds = {(r.payer, r.payee) for r in f.itertuples() if r.type in an.FUNDING_TYPES}
    want = {}
    disclosed = f[f["amt"].notna()]
    for ent, g in disclosed.groupby("payee"):
        inflow = g["amt"].sum()
        if inflow <= 0:
            continue
        mask = [(ent, p) in funds for p in g["payer"]]
        want[ent] = (inflow, g[mask]["amt"].sum(), sorted(set(g[mask]["payer"])))
    got = {r["id"]: r for r in an.self_funded_demand(store)}
    assert set(got) == set(want)
    for ent, (inflow, own, payers) in want.items():
        assert math.isclose(got[ent]["inflow_usd"], inflow, rel_tol=1e-9)
        assert math.isclose(got[ent]["self_funded_usd"], own, rel_tol=1e-9, abs_tol=1e-9)
        assert got[ent]["funded_payers"] == payers

    pairs = {(r["funder_id"], r["funded_id"]): r for r in an.reciprocal_pairs(store)}
    want_pairs = {}
    for a, b in {(r.payer, r.payee) for r in f.itertuples()}:
        fd = f[(f.payer == a) & (f.payee == b) & f.type.isin(an.FUNDING_TYPES)]
        pd_ = f[(f.payer == b) & (f.payee == a) & f.type.isin(an.PURCHASE_TYPES)]
        if len(fd) and len(pd_):
            want_pairs[(a, b)] = (sorted(fd.deal_id), sorted(pd_.deal_id))
    assert set(pairs) == set(want_pairs)
    for k, (fdeals, pdeals) in want_pairs.items():
        assert (pairs[k]["funding_deals"], pairs[k]["purchase_deals"]) == (fdeals, pdeals)


@SETTINGS
@given(frame=deal_frames())
def test_hubs_match_pandas(store, frame):
    store.clear()
    load_frame(store, frame)
    f = _amounts(frame)
    got = {r["id"]: r for r in an.hubs(store)}
    parents = {k: v for k, v in frame.attrs.get("parents", {}).items() if v}
    ents = set(f.payer) | set(f.payee) | set(parents) | set(parents.values())  # every entity stored
    assert set(got) == ents
    for e in ents:  # entities with no deals (parents only) show zeros
        out_, in_ = f[f.payer == e], f[f.payee == e]
        r = got[e]
        assert (r["out_deals"], r["in_deals"]) == (len(out_), len(in_))
        assert (r["out_partners"], r["in_partners"]) == (out_.payee.nunique(), in_.payer.nunique())
        assert math.isclose(r["volume_usd"], out_.amt.sum() + in_.amt.sum(), rel_tol=1e-9, abs_tol=1e-9)
    vols = [r["volume_usd"] for r in an.hubs(store)]
    assert vols == sorted(vols, reverse=True)


def test_loops_through_entity_agrees_with_loops(store):
    frame = pd.DataFrame({
        "deal_id": ["d1", "d2", "d3", "d4", "d5"], "date": ["2024"] * 5,
        "payer": ["a", "b", "c", "b", "a"], "payee": ["b", "c", "a", "a", "c"],
        "type": ["loan"] * 5, "amount_usd": [1.0] * 5, "amount_qualifier": ["exact"] * 5,
        "status": ["signed"] * 5,
    })
    load_frame(store, frame)
    rows = an.loops_through(store, "b", max_len=3)
    got = {(tuple(r["ids"]), tuple(r["deal_ids"])) for r in rows}
    assert got == {(("b", "c", "a"), ("d2", "d3", "d1")), (("b", "a"), ("d4", "d1"))}
    assert an.loops_through(store, "b", max_len=2) == [{"ids": ["b", "a"], "deal_ids": ["d4", "d1"]}]


@pytest.mark.parametrize("name", ["concentration", "self_funded_demand", "reciprocal_pairs", "hubs"])
def test_empty_graph(store, name):
    assert getattr(an, name)(store) == []


@SETTINGS
@given(frame=deal_frames(), max_len=st.integers(2, 5), pick=st.integers(0, 20))
def test_loops_through_matches_oracle(store, frame, max_len, pick):
    from circfin.graph.model import loop_key

    from .oracle import brute_force_loops

    ents = sorted(set(frame.payer) | set(frame.payee))
    if not ents:
        return  # an empty frame: nothing to walk from
    entity = ents[pick % len(ents)]
    store.clear()
    load_frame(store, frame)
    want = brute_force_loops(frame, max_len=max_len, entity=entity)
    got: dict[str, list[set[str]]] = {}
    for r in an.loops_through(store, entity, max_len=max_len):
        assert r["ids"][0] == entity
        key = loop_key(r["ids"])
        legs = got.setdefault(key, [set() for _ in r["ids"]])
        start = r["ids"].index(min(r["ids"]))  # align legs with the oracle's canonical start
        for i, d in enumerate(r["deal_ids"]):
            legs[(i - start) % len(r["ids"])].add(d)
    assert set(got) == set(want)
    for key, legs in want.items():
        assert [tuple(sorted(s)) for s in got[key]] == list(legs)
