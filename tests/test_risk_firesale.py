"""Tests for circfin.risk.fire_sale (Greenwood, Landier & Thesmar 2015, "Vulnerable banks").

(1) the paper's closed forms for AV, IV_n and S_n written as matrix products,
(2) a two-holder, two-asset example computed by hand, (3) rounds as repeated
one-round maps, (4) hypothesis against a plain-Python loop implementation,
(5) degenerate cases, sparse input and validation.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin.risk import FireSaleResult, fire_sale


def test_docstring_example() -> None:
    mod = importlib.import_module("circfin.risk.firesale")
    res = doctest.testmod(mod)
    assert res.attempted > 0 and res.failed == 0


# -- the closed forms ------------------------------------------------------------------------------

RNG = np.random.default_rng(7)
H = RNG.uniform(0, 10, size=(5, 4)) * (RNG.uniform(size=(5, 4)) < 0.7)
A_ = H.sum(axis=1) + RNG.uniform(1, 20, size=5)  # other assets on top of the holdings
B_ = RNG.uniform(0, 15, size=5)
E_ = A_ / (1 + B_)  # debt / equity = b
F_ = RNG.uniform(0, 0.2, size=4)
L_ = RNG.uniform(0, 0.01, size=4)


def test_paper_closed_forms_one_round() -> None:
    """AV = 1'AMLM'BAMF / E, IV_n = d_n'AMLM'BAMF / e_n, S_n = 1'AMLM'd_n d_n'BAMF / E,
    with A, B, L diagonal and M = holdings / a (GLT 2015, section 2)."""
    a, m, lmat, b = np.diag(A_), H / A_[:, None], np.diag(L_), np.diag(B_)
    ones, total = np.ones(5), E_.sum()
    r = fire_sale(H, A_, B_, E_, F_, price_impact=L_)
    av = ones @ a @ m @ lmat @ m.T @ b @ a @ m @ F_ / total
    assert r.aggregate_vulnerability == pytest.approx(av, rel=1e-12)
    iv = (a @ m @ lmat @ m.T @ b @ a @ m @ F_) / E_
    np.testing.assert_allclose(r.indirect_vulnerability, iv, rtol=1e-12)
    for n in range(5):
        d = np.zeros(5)
        d[n] = 1.0
        s_n = ones @ a @ m @ lmat @ m.T @ np.outer(d, d) @ b @ a @ m @ F_ / total
        assert r.systemicness[n] == pytest.approx(s_n, rel=1e-12, abs=1e-15)
    # the pieces of the definition, one by one
    np.testing.assert_allclose(r.first_round_loss, a @ m @ F_, rtol=1e-12)
    np.testing.assert_allclose(r.sales, m.T @ b @ a @ m @ F_, rtol=1e-12)
    np.testing.assert_allclose(r.price_fall, lmat @ m.T @ b @ a @ m @ F_, rtol=1e-12)
    assert r.systemicness.sum() == pytest.approx(r.aggregate_vulnerability, rel=1e-12)
    assert r.forced_vulnerability == 0.0


def test_systemicness_and_forced_sales_add_up_to_av() -> None:
    forced = np.array([5.0, 0.0, 2.0, 0.0])
    for rounds in (1, 3):
        r = fire_sale(H, A_, B_, E_, F_, price_impact=L_, forced_sales=forced, rounds=rounds)
        assert r.forced_vulnerability > 0
        assert r.systemicness.sum() + r.forced_vulnerability == pytest.approx(
            r.aggregate_vulnerability, rel=1e-12)
        # forced sales add to the first round's sales: the first price fall moves by L * forced
        plain = fire_sale(H, A_, B_, E_, F_, price_impact=L_, rounds=rounds)
        assert r.aggregate_vulnerability > plain.aggregate_vulnerability
    one = fire_sale(H, A_, B_, E_, F_, price_impact=L_, forced_sales=forced)
    base = fire_sale(H, A_, B_, E_, F_, price_impact=L_)
    np.testing.assert_allclose(one.sales - base.sales, forced, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.second_round_loss - base.second_round_loss, H @ (L_ * forced),
                               rtol=1e-12)


# -- by hand ---------------------------------------------------------------------------------------


def test_two_holders_two_assets_by_hand() -> None:
    """Holder 0: assets $200, $60 of asset 0 and $40 of asset 1, leverage 4, equity $40.
    Holder 1: assets $100, $80 of asset 1, leverage 9, equity $10. Shock 10 % / 5 %,
    price impact 0.1 % / 0.2 % per dollar.

    l1 = (6 + 2, 4) = (8, 4); phi = (32, 36); weights (.3, .2) and (0, .8):
    s = (.3*32, .2*32 + .8*36) = (9.6, 35.2); p = (.0096, .0704);
    l2 = (60*.0096 + 40*.0704, 80*.0704) = (3.392, 5.632); AV = 9.024 / 50 = .18048;
    IV = (3.392/40, 5.632/10) = (.0848, .5632). Everyone's loss per dollar sold:
    w = (.001*60, .002*120) = (.06, .24); S_0 = (.3*.06 + .2*.24) * 32 / 50 = .04224,
    S_1 = .8*.24 * 36 / 50 = .13824 (sum .18048).
    Round 2: phi = (4*3.392, 9*5.632) = (13.568, 50.688); s = (4.0704, 43.264);
    p = (.0040704, .086528); l3 = (.244224 + 3.46112, 6.92224) = (3.705344, 6.92224).
    """
    h = [[60.0, 40.0], [0.0, 80.0]]
    args = (h, [200.0, 100.0], [4.0, 9.0], [40.0, 10.0], [0.1, 0.05])
    r = fire_sale(*args, price_impact=[0.001, 0.002])
    assert isinstance(r, FireSaleResult) and r.rounds == 1
    np.testing.assert_allclose(r.first_round_loss, [8, 4])
    np.testing.assert_allclose(r.sales, [9.6, 35.2])
    np.testing.assert_allclose(r.price_fall, [0.0096, 0.0704])
    np.testing.assert_allclose(r.second_round_loss, [3.392, 5.632])
    assert r.aggregate_vulnerability == pytest.approx(0.18048)
    np.testing.assert_allclose(r.indirect_vulnerability, [0.0848, 0.5632])
    np.testing.assert_allclose(r.systemicness, [0.04224, 0.13824])

    r2 = fire_sale(*args, price_impact=[0.001, 0.002], rounds=2)
    np.testing.assert_allclose(r2.losses_by_round, [[8, 4], [3.392, 5.632], [3.705344, 6.92224]])
    np.testing.assert_allclose(r2.sales, [9.6 + 4.0704, 35.2 + 43.264])
    np.testing.assert_allclose(r2.price_fall, [0.0096 + 0.0040704, 0.0704 + 0.086528])
    np.testing.assert_allclose(r2.second_round_loss, [3.392 + 3.705344, 5.632 + 6.92224])
    assert r2.aggregate_vulnerability == pytest.approx((9.024 + 3.705344 + 6.92224) / 50)
    # systemicness over both rounds: (M_n . w) * (phi_1 + phi_2) / E
    np.testing.assert_allclose(r2.systemicness, [0.066 * (32 + 13.568) / 50, 0.192 * (36 + 50.688) / 50])


# -- rounds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [2, 3, 5])
def test_rounds_are_repeated_one_round_maps(rounds: int) -> None:
    """l_{t+1} = A M p_t is the first-round loss of a shock p_t, so round t+1 of the
    model is the one-round model run on the price fall of round t."""
    forced = np.array([3.0, 0.0, 0.0, 1.0])
    r = fire_sale(H, A_, B_, E_, F_, price_impact=L_, forced_sales=forced, rounds=rounds)
    step = fire_sale(H, A_, B_, E_, F_, price_impact=L_, forced_sales=forced)  # forced: round 1 only
    falls, sales, losses = [step.price_fall], [step.sales], [step.second_round_loss]
    for _ in range(rounds - 1):
        step = fire_sale(H, A_, B_, E_, falls[-1], price_impact=L_)
        falls.append(step.price_fall)
        sales.append(step.sales)
        losses.append(step.second_round_loss)
    np.testing.assert_allclose(r.price_fall, np.sum(falls, axis=0), rtol=1e-12)
    np.testing.assert_allclose(r.sales, np.sum(sales, axis=0), rtol=1e-12)
    np.testing.assert_allclose(r.second_round_loss, np.sum(losses, axis=0), rtol=1e-12)
    np.testing.assert_allclose(r.losses_by_round[1:], losses, rtol=1e-12)
    assert r.aggregate_vulnerability == pytest.approx(np.sum(losses) / E_.sum(), rel=1e-12)
    np.testing.assert_allclose(r.indirect_vulnerability, np.sum(losses, axis=0) / E_, rtol=1e-12)
    assert r.rounds == rounds


# -- cross-check against loops ---------------------------------------------------------------------


def loop_fire_sale(h, a, b, e, f, lam, forced, rounds):
    """The model written out with Python loops over holders and assets, independently:
    returns (l1, sales, price_fall, l2_sum, av, iv, systemicness)."""
    n, k = len(h), len(h[0])
    held = [sum(h[x][j] for x in range(n)) for j in range(k)]  # everyone's holdings of asset j
    loss = [sum(h[i][j] * f[j] for j in range(k)) for i in range(n)]
    l1 = list(loss)
    sales_tot, fall_tot, l2_tot = [0.0] * k, [0.0] * k, [0.0] * n
    caused = [0.0] * n  # losses each holder's sales cause, summed over rounds
    for t in range(rounds):
        phi = [b[i] * loss[i] for i in range(n)]
        sold = [0.0] * k
        for i in range(n):
            for j in range(k):
                sold[j] += phi[i] * h[i][j] / a[i]
                # this sale's price fall, times everyone's holdings of asset j
                caused[i] += lam[j] * phi[i] * h[i][j] / a[i] * held[j]
        if t == 0:
            sold = [sold[j] + forced[j] for j in range(k)]
        fall = [lam[j] * sold[j] for j in range(k)]
        loss = [sum(h[i][j] * fall[j] for j in range(k)) for i in range(n)]
        for j in range(k):
            sales_tot[j] += sold[j]
            fall_tot[j] += fall[j]
        for i in range(n):
            l2_tot[i] += loss[i]
    total_e = sum(e)
    return (l1, sales_tot, fall_tot, l2_tot, sum(l2_tot) / total_e,
            [l2_tot[i] / e[i] for i in range(n)], [c / total_e for c in caused])


@st.composite
def portfolios(draw):
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 5))
    amount = st.one_of(st.just(0.0), st.floats(0.01, 1e4))
    h = [[draw(amount) for _ in range(k)] for _ in range(n)]
    a = [sum(row) + draw(st.one_of(st.just(0.0), st.floats(0.01, 1e4))) for row in h]
    a = [x if x > 0 else 1.0 for x in a]
    b = [draw(st.floats(0, 30)) for _ in range(n)]
    e = [draw(st.floats(0.01, 1e4)) for _ in range(n)]
    f = [draw(st.floats(0, 1)) for _ in range(k)]
    lam = [draw(st.floats(0, 1e-3)) for _ in range(k)]
    forced = [draw(st.one_of(st.just(0.0), st.floats(0, 1e3))) for _ in range(k)]
    rounds = draw(st.integers(1, 4))
    return h, a, b, e, f, lam, forced, rounds


@settings(max_examples=150, deadline=None)
@given(portfolios(), st.booleans())
def test_matches_a_plain_loop_implementation(case, sparse) -> None:
    h, a, b, e, f, lam, forced, rounds = case
    want = loop_fire_sale(h, a, b, e, f, lam, forced, rounds)
    hold = sp.csr_matrix(np.array(h)) if sparse else h
    r = fire_sale(hold, a, b, e, f, price_impact=lam, forced_sales=forced, rounds=rounds)
    got = (r.first_round_loss, r.sales, r.price_fall, r.second_round_loss, r.aggregate_vulnerability,
           r.indirect_vulnerability, r.systemicness)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9 * (1 + np.max(np.abs(w))))
    fv = sum(lam[j] * forced[j] * sum(row[j] for row in h) for j in range(len(f))) / sum(e)
    assert r.forced_vulnerability == pytest.approx(fv, rel=1e-9, abs=1e-12)
    assert r.systemicness.sum() + r.forced_vulnerability == pytest.approx(
        r.aggregate_vulnerability, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(portfolios(), st.floats(0.1, 10))
def test_linear_in_the_shock_and_in_the_price_impact(case, c) -> None:
    """Without forced sales the second-round losses of one round are linear in the shock
    and in the price impact (both enter once)."""
    h, a, b, e, f, lam, _, _ = case
    f = np.array(f) / 10  # keep c * f within [0, 1]
    base = fire_sale(h, a, b, e, f, price_impact=lam)
    scaled = fire_sale(h, a, b, e, f * (c / 10), price_impact=np.array(lam) * 10)
    np.testing.assert_allclose(scaled.second_round_loss, base.second_round_loss * c,
                               rtol=1e-9, atol=1e-12)


# -- degenerate cases ------------------------------------------------------------------------------


def test_no_leverage_no_second_round() -> None:
    r = fire_sale(H, A_, 0.0, E_, F_, price_impact=L_, rounds=3)
    assert np.all(r.first_round_loss > 0)
    assert not r.sales.any() and not r.price_fall.any() and not r.second_round_loss.any()
    assert r.aggregate_vulnerability == 0 and not r.systemicness.any()


def test_disjoint_portfolios_no_contagion() -> None:
    """Holder 0 holds only asset 0, holder 1 only asset 1: a shock to asset 0 makes holder 0
    sell asset 0, which only holder 0 holds; holder 1 loses nothing in any round."""
    r = fire_sale([[100.0, 0.0], [0.0, 100.0]], [150.0, 150.0], 10.0, [15.0, 15.0], [0.2, 0.0],
                  price_impact=0.001, rounds=4)
    assert r.second_round_loss[0] > 0 and r.second_round_loss[1] == 0
    assert r.indirect_vulnerability[1] == 0 and r.systemicness[1] == 0
    assert r.sales[1] == 0 and r.price_fall[1] == 0
    # a holder with no common asset at all (nothing but other assets) is never touched
    r = fire_sale([[100.0, 50.0], [0.0, 0.0]], [150.0, 80.0], 10.0, [15.0, 8.0], [0.2, 0.1],
                  price_impact=0.001, rounds=2)
    assert r.first_round_loss[1] == 0 and r.second_round_loss[1] == 0 and r.second_round_loss[0] > 0


def test_zero_price_impact_nothing_moves() -> None:
    r = fire_sale(H, A_, B_, E_, F_, price_impact=0.0, forced_sales=10.0, rounds=3)
    assert r.sales.sum() > 0  # holders still sell ...
    assert not r.price_fall.any() and not r.second_round_loss.any()  # ... and no price moves
    assert r.aggregate_vulnerability == 0 and r.forced_vulnerability == 0


def test_no_shock_only_forced_sales_move_prices() -> None:
    r = fire_sale(H, A_, B_, E_, 0.0, price_impact=L_)
    assert not r.first_round_loss.any() and r.aggregate_vulnerability == 0
    forced = np.array([0.0, 0.0, 0.0, 40.0])
    r = fire_sale(H, A_, B_, E_, 0.0, price_impact=L_, forced_sales=forced, rounds=2)
    # round 1 sells only the forced sales; in round 2 the holders of asset 3 that have leverage sell
    assert not r.systemicness[H[:, 3] == 0].any() and np.all(r.systemicness[H[:, 3] > 0] > 0)
    assert not fire_sale(H, A_, B_, E_, 0.0, price_impact=L_, forced_sales=forced).systemicness.any()
    np.testing.assert_allclose(r.losses_by_round[1], H[:, 3] * L_[3] * 40.0, rtol=1e-12)
    assert r.systemicness.sum() + r.forced_vulnerability == pytest.approx(r.aggregate_vulnerability)


def test_sparse_and_dense_agree() -> None:
    rng = np.random.default_rng(3)
    h = rng.uniform(0, 5, size=(40, 30)) * (rng.uniform(size=(40, 30)) < 0.1)
    a = h.sum(axis=1) + 1
    args = (a, rng.uniform(0, 20, 40), a / 10, rng.uniform(0, 0.3, 30))
    kw = {"price_impact": rng.uniform(0, 1e-3, 30), "forced_sales": rng.uniform(0, 2, 30), "rounds": 3}
    dense = fire_sale(h, *args, **kw)
    for mat in (sp.csr_matrix(h), sp.csc_matrix(h), sp.coo_array(h)):
        s = fire_sale(mat, *args, **kw)
        for name in ("first_round_loss", "sales", "price_fall", "second_round_loss",
                     "indirect_vulnerability", "systemicness", "losses_by_round"):
            np.testing.assert_allclose(getattr(s, name), getattr(dense, name), rtol=1e-12, atol=1e-15)
        assert s.aggregate_vulnerability == pytest.approx(dense.aggregate_vulnerability, rel=1e-12)


def test_results_are_read_only_and_inputs_untouched() -> None:
    h = H.copy()
    r = fire_sale(h, A_, B_, E_, F_, price_impact=L_)
    with pytest.raises(ValueError):
        r.sales[0] = 1.0
    np.testing.assert_array_equal(h, H)


# -- validation ------------------------------------------------------------------------------------


GOOD = {"holdings": [[1.0, 2.0], [3.0, 0.0]], "total_assets": [5.0, 5.0], "leverage": [2.0, 3.0],
        "equity": [1.0, 1.0], "shock": [0.1, 0.2], "price_impact": [0.01, 0.01]}


def call(**over):
    kw = {**GOOD, **over}
    return fire_sale(kw.pop("holdings"), kw.pop("total_assets"), kw.pop("leverage"), kw.pop("equity"),
                     kw.pop("shock"), **kw)


@pytest.mark.parametrize(("over", "message"), [
    ({"holdings": [[1.0, -2.0], [3.0, 0.0]]}, r"holdings must be non-negative; holdings\[0, 1\]"),
    ({"holdings": sp.csr_matrix(np.array([[1.0, 0.0], [0.0, -3.0]]))}, r"holdings\[1, 1\] < 0"),
    ({"holdings": [[1.0, np.nan], [3.0, 0.0]]}, "holdings must be finite"),
    ({"holdings": [1.0, 2.0]}, "2-D"),
    ({"holdings": [[1.0, 2.0], [3.0, 4.0]]}, "holdings of holder 1 add up to 7.0, more than its total_assets 5.0"),
    ({"total_assets": [5.0, 5.0, 5.0]}, r"total_assets must have shape \(2,\)"),
    ({"total_assets": [5.0, 0.0]}, r"total_assets\[1\] must be > 0"),
    ({"equity": [1.0, np.inf]}, r"equity\[1\] must be finite"),
    ({"equity": [0.0, 1.0]}, r"equity\[0\] must be > 0"),
    ({"leverage": [2.0, -1.0]}, r"leverage\[1\] must be >= 0"),
    ({"shock": [0.1, 0.2, 0.3]}, r"shock must have shape \(2,\)"),
    ({"shock": [0.1, 1.5]}, r"shock\[1\] must be in \[0, 1\]"),
    ({"price_impact": [0.01, -0.01]}, r"price_impact\[1\] must be >= 0"),
    ({"price_impact": [[0.01, 0.01]]}, r"price_impact must have shape \(2,\)"),
    ({"forced_sales": [1.0, -1.0]}, r"forced_sales\[1\] must be >= 0"),
    ({"forced_sales": [1.0, np.nan]}, r"forced_sales\[1\] must be finite"),
    ({"rounds": 0}, "rounds must be a whole number >= 1"),
    ({"rounds": 1.5}, "rounds must be a whole number >= 1"),
    ({"rounds": True}, "rounds must be a whole number >= 1"),
    ({"rounds": float("nan")}, "rounds must be a whole number >= 1"),
    ({"rounds": "2"}, "rounds must be a whole number >= 1"),
])
def test_bad_input_is_refused_with_a_clear_message(over, message) -> None:
    with pytest.raises(ValueError, match=message):
        call(**over)


def test_holdings_equal_to_total_assets_are_fine_and_scalars_broadcast() -> None:
    r = call(holdings=[[2.0, 3.0], [5.0, 0.0]], leverage=2.0, shock=0.1, price_impact=0.01)
    np.testing.assert_allclose(r.first_round_loss, [0.5, 0.5])
    empty = fire_sale(np.zeros((0, 3)), [], [], [], [0.1, 0.1, 0.1], price_impact=0.01)
    assert empty.sales.tolist() == [0.0, 0.0, 0.0] and empty.second_round_loss.size == 0
