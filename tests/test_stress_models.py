"""circfin.risk.stress in process: the credit models (clearing, DebtRank, both) worked
by hand, the channels feeding each other in closed form, and properties of random
small webs (hypothesis).

The webs are in-memory snapshots (no database), so every example runs in milliseconds.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from circfin.loops.from_store import Snapshot
from circfin.risk.stress import Scenario, run_stress

DEAL_COLS = ["deal_id", "date", "payer", "payee", "type", "amount_usd", "status", "confidence"]


def _snap(entities: list[dict[str, Any]], deals: list[tuple[str, str, str, str, float]] = (),
          assets: list[dict[str, Any]] = (), holdings: list[tuple[str, str, float]] = ()) -> Snapshot:
    """entities: dicts with id, kind and figures; deals: (id, payer, payee, type, amount), funded."""
    ents = [{"name": e["id"].title(), "country": "US", "aliases": [], "name_keys": [], **e} for e in entities]
    frame = pd.DataFrame([{"deal_id": d, "date": "2025-01-01", "payer": a, "payee": b, "type": t,
                           "amount_usd": amt, "status": "funded", "confidence": "high"}
                          for d, a, b, t, amt in deals], columns=DEAL_COLS)
    return Snapshot(deals=frame, entities=ents,
                    assets=[{"class": "equity", "issuer": None, **a} for a in assets],
                    holdings=[{"holder": h, "asset": a, "value_usd": v} for h, a, v in holdings])


def _sc(*, falls: dict[str, float] | None = None, partial: dict[str, float] | None = None,
        channels: tuple[str, ...] = ("credit", "fire_sale", "margin"), credit: str = "both",
        rounds: int = 60) -> Scenario:
    return Scenario(name="t", channels=channels, credit=credit, rounds=rounds,
                    shocks=[{"by": "asset", "target": a, "fall": f, "line": 1} for a, f in (falls or {}).items()],
                    partial_payers=[{"entity": e, "pays": p, "line": 1} for e, p in (partial or {}).items()])


def _loss(res: Any) -> dict[str, dict[str, float]]:
    return {e["id"]: e["by_channel"] for e in res.entities}


# -- worked by hand ----------------------------------------------------------------------

def test_a_partial_payer_pushes_its_creditor_into_default_and_the_loss_on():
    # A owes B 40 and pays half. B (equity 10) owes C 60: B is 20 short, its equity
    # absorbs 10 and it pays C 50 of 60. Clearing: C loses 10. DebtRank caps each link's
    # impact at 1 (40 / 10 -> 1): B's distress is 0.5, a loss of 5, and C loses 60 / 100 x
    # 0.5 of its equity, 30 -- and nobody defaults.
    snap = _snap([{"id": "a", "kind": "ai_lab", "equity_usd": 100.0},
                  {"id": "b", "kind": "neocloud", "equity_usd": 10.0},
                  {"id": "c", "kind": "bank", "equity_usd": 100.0}],
                 [("D1", "b", "a", "loan", 40.0), ("D2", "c", "b", "loan", 60.0)])
    for model in ("clearing", "both"):
        res = run_stress(_sc(partial={"a": 0.5}, credit=model), snap)
        got = _loss(res)
        assert got["b"]["credit"] == pytest.approx(20.0) and got["c"]["credit"] == pytest.approx(10.0)
        assert res.defaults == ["b"] and res.credit == model
        assert res.to_dict()["credit"] == model and res.to_dict()["defaults"] == ["b"]
    dr = run_stress(_sc(partial={"a": 0.5}, credit="debtrank"), snap)
    assert _loss(dr)["b"]["credit"] == pytest.approx(5.0)
    assert _loss(dr)["c"]["credit"] == pytest.approx(30.0)
    assert dr.defaults == []


def test_both_keeps_equity_stakes_in_debtrank():
    # C holds 30 of A's equity and lent A 50; A pays 40 % of what it owes. Both: the loan
    # is cleared (C is paid 20 of 50) and the stake loses A's distress 0.6 (DebtRank): 18.
    snap = _snap([{"id": "a", "kind": "ai_lab", "equity_usd": 1000.0},
                  {"id": "c", "kind": "bank", "equity_usd": 1000.0}],
                 [("L", "c", "a", "loan", 50.0), ("E", "c", "a", "equity_investment", 30.0)])
    got = _loss(run_stress(_sc(partial={"a": 0.4}), snap))
    assert got["c"]["credit"] == pytest.approx(30.0 + 18.0)
    clearing_only = _loss(run_stress(_sc(partial={"a": 0.4}, credit="clearing"), snap))
    assert clearing_only["c"]["credit"] == pytest.approx(30.0)


def test_a_fire_sale_drives_a_bank_into_default_round_by_round():
    # Bank B: total assets 1e11, equity 1e10 (leverage 9), holds 5e10 of asset X (depth
    # 1e12) and owes C 2e10. X falls 30 %: B loses 1.5e10 (more than its equity) and
    # sells 9 x its loss spread by weight 0.5, so each round's loss is g = 9 x 0.5 x 5e10
    # / 1e12 = 0.225 of the last: B loses 1.5e10 / (1 - g) in all. Each clearing round
    # passes what B has lost beyond its equity to C: 1.5e10 / (1 - g) - 1e10 in all.
    snap = _snap([{"id": "b", "kind": "bank", "equity_usd": 1e10, "total_assets_usd": 1e11},
                  {"id": "c", "kind": "asset_manager", "equity_usd": 1e12}],
                 [("L", "c", "b", "loan", 2e10)],
                 [{"asset_id": "x", "depth": 1e12}], [("b", "x", 5e10)])
    g = 9 * 0.5 * 5e10 / 1e12
    res = run_stress(_sc(falls={"x": 0.3}), snap)
    got = _loss(res)
    assert got["b"]["price"] == pytest.approx(1.5e10)
    assert got["b"]["fire_sale"] == pytest.approx(1.5e10 * g / (1 - g), rel=1e-9)
    assert got["c"]["credit"] == pytest.approx(1.5e10 / (1 - g) - 1e10, rel=1e-9)
    assert res.defaults == ["b"] and res.rounds > 5
    # round by round: C's credit loss of round t is B's fire-sale loss of round t
    c_rounds = [r.get("credit", 0.0) for r in next(e for e in res.entities if e["id"] == "c")["by_round"]]
    b_rounds = [r.get("price", 0.0) + r.get("fire_sale", 0.0)
                for r in next(e for e in res.entities if e["id"] == "b")["by_round"]]
    assert c_rounds[0] == pytest.approx(1.5e10 - 1e10)
    assert c_rounds[1:] == pytest.approx(b_rounds[1:], rel=1e-9, abs=1e-3)
    # without the credit channel C loses nothing; without fire sales B's loss is the shock
    assert "c" not in _loss(run_stress(_sc(falls={"x": 0.3}, channels=("fire_sale",)), snap))
    assert _loss(run_stress(_sc(falls={"x": 0.3}, channels=("credit",)), snap))["c"]["credit"] == \
        pytest.approx(0.5e10)


def test_scenario_credit_model_is_read_and_checked(tmp_path):
    from circfin.errors import ValidationError
    from circfin.risk.stress import load_scenario

    p = tmp_path / "s.yaml"
    p.write_text("name: x\ncredit: clearing\n", encoding="utf-8")
    assert load_scenario(p).credit == "clearing"
    p.write_text("name: x\n", encoding="utf-8")
    assert load_scenario(p).credit == "both"
    p.write_text("name: x\ncredit: merton\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="s.yaml:2.*'merton' is not one of both, clearing, debtrank"):
        load_scenario(p)


# -- properties of random small webs ---------------------------------------------------------

KINDS = ("bank", "hedge_fund", "asset_manager", "ai_lab", "private_credit")


@st.composite
def webs(draw: st.DrawFn) -> Snapshot:
    n = draw(st.integers(2, 5))
    k = draw(st.integers(1, 3))
    money = st.floats(1.0, 100.0)
    ents = []
    for i in range(n):
        e: dict[str, Any] = {"id": f"e{i}", "kind": draw(st.sampled_from(KINDS))}
        if draw(st.booleans()):
            e["equity_usd"] = draw(money)
            e["total_assets_usd"] = e["equity_usd"] * draw(st.floats(1.0, 20.0))
        ents.append(e)
    deals = []
    for j in range(draw(st.integers(0, 6))):
        a, b = draw(st.sampled_from(range(n))), draw(st.sampled_from(range(n)))
        if a != b:
            typ = draw(st.sampled_from(("loan", "bond", "equity_investment", "guarantee")))
            deals.append((f"D{j}", f"e{a}", f"e{b}", typ, draw(money)))
    assets = [{"asset_id": f"x{i}", "depth": draw(st.floats(50.0, 1e4))} for i in range(k)]
    holdings = [(f"e{i}", f"x{a}", draw(money)) for i in range(n) for a in range(k) if draw(st.booleans())]
    return _snap(ents, deals, assets, holdings)


CREDIT = st.sampled_from(("both", "clearing", "debtrank"))
FALL = st.floats(0.0, 1.0)
SET = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _total(res: Any) -> float:
    return float(sum(e["loss_usd"] for e in res.entities))


@SET
@given(webs(), FALL, CREDIT, st.booleans())
def test_losses_are_never_negative(snap, fall, credit, partial):
    sc = _sc(falls={a["asset_id"]: fall for a in snap.assets}, credit=credit,
             partial={"e0": 0.5} if partial else None)
    res = run_stress(sc, snap)
    for e in res.entities:
        assert all(v >= 0 for v in e["by_channel"].values())
        assert all(v >= 0 for r in e["by_round"] for v in r.values())
    assert res.total_loss_usd >= 0


@SET
@given(webs(), FALL, FALL, CREDIT)
def test_a_larger_shock_never_loses_less(snap, f1, f2, credit):
    lo, hi = sorted((f1, f2))
    small = run_stress(_sc(falls={a["asset_id"]: lo for a in snap.assets}, credit=credit), snap)
    large = run_stress(_sc(falls={a["asset_id"]: hi for a in snap.assets}, credit=credit), snap)
    assert _total(small) <= _total(large) * (1 + 1e-9) + 1e-6


@SET
@given(webs(), FALL)
def test_with_no_channel_on_only_the_shock_itself_costs(snap, fall):
    res = run_stress(_sc(falls={a["asset_id"]: fall for a in snap.assets}, channels=()), snap)
    held: dict[str, float] = {}
    for h in snap.holdings:
        held[h["holder"]] = held.get(h["holder"], 0.0) + h["value_usd"]
    got = {e["id"]: e for e in res.entities}
    for holder, value in held.items():
        loss = got[holder]["loss_usd"] if holder in got else 0.0
        assert loss == pytest.approx(value * fall, rel=1e-12, abs=1e-12)
        if holder in got:
            assert got[holder]["by_channel"]["price"] == pytest.approx(loss)
    assert set(got) <= set(held) and res.rounds <= 2


@SET
@given(st.floats(0.01, 1.0), st.floats(1.0, 50.0), st.floats(1.0, 50.0), st.floats(2.0, 30.0))
def test_disjoint_portfolios_no_fire_sale_contagion(fall, h0, h1, lev):
    # two leverage targeters, each alone in its asset; only the first asset falls
    snap = _snap([{"id": "a", "kind": "bank", "equity_usd": 10.0, "total_assets_usd": 10.0 * (1 + lev)},
                  {"id": "b", "kind": "bank", "equity_usd": 10.0, "total_assets_usd": 10.0 * (1 + lev)}],
                 assets=[{"asset_id": "x", "depth": 100.0}, {"asset_id": "y", "depth": 100.0}],
                 holdings=[("a", "x", h0), ("b", "y", h1)])
    res = run_stress(_sc(falls={"x": fall}), snap)
    got = _loss(res)
    assert "b" not in got and "y" not in res.price_fall
    assert got["a"]["price"] == pytest.approx(h0 * fall)


@SET
@given(webs(), FALL, CREDIT, st.booleans())
def test_each_entity_loses_at_most_what_the_models_let_it(snap, fall, credit, partial):
    res = run_stress(_sc(falls={a["asset_id"]: fall for a in snap.assets}, credit=credit,
                         partial={"e0": 0.3} if partial else None), snap)
    held: dict[str, float] = {}
    for h in snap.holdings:
        held[h["holder"]] = held.get(h["holder"], 0.0) + h["value_usd"]
    from circfin.risk.exposures import build_exposures

    net = build_exposures(snap.deals, snap.entities)
    _, lia = net.matrices()
    for e in res.entities:
        ch = e["by_channel"]
        # prices fall at most 100 %: no more than the holdings are lost through them
        assert ch["price"] + ch["fire_sale"] + ch["margin"] <= held.get(e["id"], 0.0) * (1 + 1e-9) + 1e-9
        i = net.index.get(e["id"], None)
        claims = float(lia[:, i].sum()) if i is not None else 0.0
        buffer = float(net.buffers[i]) if i is not None else 0.0
        # clearing: at most the debts owed to it; DebtRank: at most its capital buffer
        cap = {"clearing": claims, "debtrank": buffer, "both": claims + buffer}[credit]
        assert ch["credit"] <= cap * (1 + 1e-9) + 1e-9
    for p in res.price_fall.values():
        assert 0 <= p <= 1 + 1e-12


@st.composite
def books(draw: st.DrawFn) -> tuple[Snapshot, int]:
    """A web whose entities all have equity and total assets covering their holdings, and
    the index of one holding to turn from own to managed."""
    snap = draw(webs())
    held: dict[str, float] = {}
    for h in snap.holdings:
        held[h["holder"]] = held.get(h["holder"], 0.0) + h["value_usd"]
    for e in snap.entities:
        eq = e.get("equity_usd") or draw(st.floats(1.0, 100.0))
        e["equity_usd"] = eq
        e["total_assets_usd"] = max(e.get("total_assets_usd") or 0.0, held.get(e["id"], 0.0) + eq)
    if not snap.holdings:
        snap.holdings.append({"holder": "e0", "asset": "x0", "value_usd": 10.0})
        snap.entities[0]["total_assets_usd"] += 10.0
    return snap, draw(st.integers(0, len(snap.holdings) - 1))


@SET
@given(books(), FALL, CREDIT, st.booleans())
def test_managing_a_holding_for_clients_never_raises_the_managers_own_loss(book, fall, credit, partial):
    import copy

    snap, j = book
    sc = _sc(falls={a["asset_id"]: fall for a in snap.assets}, credit=credit,
             partial={"e1": 0.5} if partial else None)
    own = run_stress(sc, snap)
    managed = copy.deepcopy(snap)
    managed.holdings[j]["capacity"] = "managed"
    h = managed.holdings[j]
    res = run_stress(copy.deepcopy(sc), managed)
    before = _loss_of(own, h["holder"])
    after = _loss_of(res, h["holder"])
    assert after <= before * (1 + 1e-9) + 1e-9
    # what the clients lose is the stake at the final price fall, apart from every loss
    got = next(m for m in res.managed if m["id"] == h["holder"])
    assert got["loss_usd"] == pytest.approx(h["value_usd"] * res.price_fall.get(h["asset"], 0.0))
    assert res.managed_loss_usd == pytest.approx(got["loss_usd"])


def _loss_of(res: Any, eid: str) -> float:
    return next((float(e["loss_usd"]) for e in res.entities if e["id"] == eid), 0.0)
