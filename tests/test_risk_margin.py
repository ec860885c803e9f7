"""Tests for circfin.risk.margin (margin calls and fire sales).

No small published run of this exact rule with printed numbers was found,
so the cases below are (1) the leverage-targeting identity of Greenwood,
Landier & Thesmar (2015) that the first round must reproduce, (2) closed
forms derived by hand in the docstrings, then hypothesis properties and
validation.
"""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from circfin.risk import MarginResult, margin_spiral


def price_map(x, equity, shock, haircut, lam, p, impact="linear"):
    """The price map of the docstring, written out independently."""
    x = np.asarray(x, float)
    debt = x.sum(axis=1) - np.asarray(equity, float)
    value = x @ p
    eq = value - debt
    f = np.zeros(len(value))
    ok = value > 0
    with np.errstate(over="ignore"):
        f[ok] = np.clip(
            1 - eq[ok] / (np.broadcast_to(haircut, value.shape)[ok] * value[ok]), 0, 1
        )
    f[eq <= 0] = 1.0  # equity gone: liquidate, even at zero prices
    q = f @ x
    z = np.asarray(lam) * q
    g = np.maximum(0, 1 - z) if impact == "linear" else np.exp(-z)
    return (1 - np.asarray(shock)) * g, f


# --------------------------------------------------------------------------
# Greenwood, Landier & Thesmar (2015), "Vulnerable banks", JFE 115(3):
# a bank that targets its leverage b = D/E and loses L on its assets sells
# b * L of assets (their first-round fire-sale rule), pro rata to its
# holdings; with linear price impact the asset's return is
# -l * (amount sold).
# --------------------------------------------------------------------------
def test_first_round_is_glt_leverage_targeting() -> None:
    """Three holders that start exactly at their haircut (E = h V), two
    assets hit by 10 % and 30 %. Round 1 must sell b * loss per holder, pro
    rata to post-shock holdings, and move prices by lambda * units sold."""
    x = np.array([[40.0, 60.0], [10.0, 90.0], [50.0, 0.0]])
    h = np.array([0.25, 0.1, 0.5])
    equity = h * x.sum(axis=1)  # exactly at the maintenance level
    shock = np.array([0.02, 0.05])  # small enough that nobody is wiped out
    lam = np.array([0.002, 0.001])
    r = margin_spiral(x, equity, shock, haircut=h, price_impact=lam, max_rounds=1)

    p0 = 1 - shock
    loss = x @ (1 - p0)
    b = (x.sum(axis=1) - equity) / equity  # debt / equity = 1/h - 1
    sold_value = b * loss  # GLT: sales = leverage x loss
    value_after_shock = x @ p0
    units = (sold_value / value_after_shock)[:, None] * x  # pro rata
    np.testing.assert_allclose(r.units_sold, units, rtol=1e-12)
    np.testing.assert_allclose((r.units_sold @ p0), sold_value, rtol=1e-12)
    np.testing.assert_allclose(
        r.price_path[1], p0 * (1 - lam * units.sum(axis=0)), rtol=1e-12
    )
    assert np.all(sold_value < value_after_shock)  # inside GLT's linear regime
    assert r.called_round.tolist() == [1, 1, 1] and not r.converged


def test_single_holder_closed_form_fixed_point() -> None:
    """Hand-derived fixed point for one holder and one asset, linear impact.

    Holder: 100 units, equity 20 (debt 80), haircut .15, shock 10 %,
    lambda = .001 per unit. At price p it must sell
    f(p) = 1 - 1/h + D/(h x p), so Q = x f = x (1 - 1/h) + D/(h p) and
    p = (1 - s)(1 - lambda Q) is p^2 - a p + c = 0 with
    a = (1 - s)(1 + lambda x (1/h - 1)) = .9 * 1.566667 = 1.41,
    c = (1 - s) lambda D / h = .9 * .001 * 80 / .15 = .48;
    the greatest root p* = (1.41 + sqrt(.0681)) / 2 = (1.41 + .260960) / 2
    = 0.835480.
    """
    a = 0.9 * (1 + 0.001 * 100 * (1 / 0.15 - 1))
    c = 0.9 * 0.001 * 80 / 0.15
    p_star = (a + math.sqrt(a * a - 4 * c)) / 2
    assert p_star == pytest.approx(0.835480, abs=1e-6)
    r = margin_spiral(
        [[100.0]], [20.0], 0.1, haircut=0.15, price_impact=0.001, max_rounds=1000
    )
    assert r.converged
    assert r.prices[0] == pytest.approx(p_star, abs=1e-10)
    f_star = 1 - 1 / 0.15 + 80 / (0.15 * 100 * p_star)
    assert r.sale_fraction[0] == pytest.approx(f_star, abs=1e-9)
    # after selling, equity / remaining position is back at the haircut
    remaining = (1 - r.sale_fraction[0]) * 100 * r.prices[0]
    assert r.equity[0] / remaining == pytest.approx(0.15, abs=1e-9)


def test_two_funds_called_in_successive_rounds() -> None:
    """Hand-derived (the docstring example). One stock, 5 % shock, impact
    .01 per unit, haircut 20 %; fund 0 has 10 units and equity 2, fund 1 10
    units and equity 2.5.

    Round 1 at p = .95: fund 0 has E/V = 1.5/9.5 = .158 < .2, sells
    f = 1 - 1.5/1.9 = .210526 (2.105 units); fund 1 has 2/9.5 = .2105, fine.
    p = .95 (1 - .0210526) = .93. Round 2: fund 0 f = 1 - 1.3/1.86 =
    .301075; fund 1 E/V = 1.8/9.3 = .1935 < .2, f = 1 - 1.8/1.86 = .032258;
    Q = 3.33333, p = .95 (1 - .0333333) = .918333. The spiral goes on until
    fund 0 is wiped out (f = 1, 10 units) and fund 1 sells f1 with
    f1 = 1 - (10p - 7.5) / (2p) = -4 + 3.75/p and
    p = .95 (1 - .01 (10 + 10 f1)) = 1.235 - .35625/p, i.e.
    p^2 - 1.235 p + .35625 = 0, p* = (1.235 + sqrt(.100225)) / 2 = 0.775792,
    f1 = 0.833772; fund 0's equity 7.75792 - 8 < 0.
    """
    r = margin_spiral(
        [[10.0], [10.0]], [2.0, 2.5], 0.05, haircut=0.2, price_impact=0.01
    )
    np.testing.assert_allclose(
        r.price_path[:3, 0], [0.95, 0.93, 0.95 * (1 - 1 / 30)], rtol=1e-12
    )
    assert r.called_round.tolist() == [1, 2]
    assert [c.tolist() for c in r.called_by_round[:2]] == [[0], [1]]
    assert r.converged and r.wiped_out.tolist() == [True, False]
    assert r.prices[0] == pytest.approx((1.235 + math.sqrt(0.100225)) / 2, abs=1e-10)
    p = r.prices[0]
    f1 = 1 - (10 * p - 7.5) / (0.2 * 10 * p)
    assert p == pytest.approx(0.95 * (1 - 0.01 * (10 + 10 * f1)), abs=1e-10)
    assert r.sale_fraction.tolist() == [1.0, pytest.approx(f1, abs=1e-9)]


def test_exponential_impact_solves_cifuentes_ferrucci_shin_fixed_point() -> None:
    """Cifuentes, Ferrucci & Shin (2005): inverse demand p = exp(-alpha q).
    The final price satisfies p = (1 - s) exp(-lambda Q(p))."""
    x = np.array([[100.0, 20.0], [30.0, 80.0]])
    equity = np.array([25.0, 30.0])
    r = margin_spiral(
        x,
        equity,
        [0.05, 0.02],
        haircut=[0.2, 0.3],
        price_impact=[0.001, 0.002],
        impact="exponential",
        max_rounds=2000,
    )
    assert r.converged
    again, _ = price_map(
        x,
        equity,
        [0.05, 0.02],
        np.array([0.2, 0.3]),
        [0.001, 0.002],
        r.prices,
        "exponential",
    )
    np.testing.assert_allclose(again, r.prices, atol=1e-10)
    assert np.all(r.prices < [0.95, 0.98])


def test_wiped_out_holder_liquidates_everything() -> None:
    """Equity 5 on 100 units: a 10 % shock makes equity -5, so the holder
    sells all 100 units; with lambda = .001 the price falls to .9 * .9."""
    r = margin_spiral([[100.0]], [5.0], 0.1, haircut=0.1, price_impact=0.001)
    assert r.sale_fraction[0] == 1.0 and r.wiped_out[0]
    assert r.units_sold[0, 0] == 100.0
    assert r.prices[0] == pytest.approx(0.9 * 0.9)
    assert r.equity[0] == pytest.approx(100 * 0.81 - 95)


def test_nothing_happens_without_a_call() -> None:
    r = margin_spiral([[10.0, 10.0]], [10.0], 0.0, haircut=0.3, price_impact=0.1)
    assert r.rounds == 0 and r.converged
    assert r.called_round.tolist() == [-1] and r.called_by_round == []
    np.testing.assert_array_equal(r.prices, [1.0, 1.0])
    np.testing.assert_array_equal(r.units_sold, [[0.0, 0.0]])


def test_zero_impact_one_round_of_sales() -> None:
    r = margin_spiral([[10.0]], [2.0], 0.1, haircut=0.2, price_impact=0.0)
    assert r.rounds == 1 and r.converged
    assert r.prices[0] == pytest.approx(0.9)
    assert r.sale_fraction[0] == pytest.approx(1 - 1.0 / (0.2 * 9.0))


def test_cash_rich_holder_is_never_called() -> None:
    r = margin_spiral(
        [[10.0], [10.0]], [15.0, 1.0], 0.5, haircut=0.5, price_impact=0.01
    )
    assert r.called_round[0] == -1 and r.sale_fraction[0] == 0.0
    assert r.called_round[1] == 1


def test_linear_impact_can_take_price_to_zero() -> None:
    r = margin_spiral([[100.0]], [1.0], 0.5, haircut=0.5, price_impact=0.05)
    assert r.prices[0] == 0.0 and r.wiped_out[0]


# --------------------------------------------------------------------------
# Hypothesis properties
# --------------------------------------------------------------------------
@st.composite
def books(draw: st.DrawFn):
    n_h = draw(st.integers(1, 5))
    n_a = draw(st.integers(1, 4))
    x = draw(
        arrays(
            np.float64, (n_h, n_a), elements=st.floats(0, 100, allow_subnormal=False)
        )
    )
    frac = draw(arrays(np.float64, n_h, elements=st.floats(0.02, 1.5)))
    equity = np.maximum(frac * x.sum(axis=1), 0.5)
    haircut = draw(arrays(np.float64, n_h, elements=st.floats(0.05, 1.0)))
    lam = draw(arrays(np.float64, n_a, elements=st.floats(0, 0.01)))
    shock = draw(arrays(np.float64, n_a, elements=st.floats(0, 0.6)))
    impact = draw(st.sampled_from(["linear", "exponential"]))
    return x, equity, shock, haircut, lam, impact


@settings(max_examples=150, deadline=None)
@given(books())
def test_prices_never_rise(book) -> None:
    x, equity, shock, haircut, lam, impact = book
    r = margin_spiral(
        x,
        equity,
        shock,
        haircut=haircut,
        price_impact=lam,
        impact=impact,
        max_rounds=300,
    )
    path = r.price_path
    assert np.all(np.diff(path, axis=0) <= 0)
    np.testing.assert_array_equal(path[0], 1 - shock)
    assert np.all(path >= 0) and np.all(path <= 1)
    assert np.all(r.sale_fraction >= 0) and np.all(r.sale_fraction <= 1)
    # once called, a holder keeps selling (rounds are the order of calls)
    called = r.called_round[r.called_round > 0]
    assert np.all(called <= r.rounds)


@settings(max_examples=150, deadline=None)
@given(books(), st.data())
def test_monotone_in_shock(book, data: st.DataObject) -> None:
    x, equity, shock, haircut, lam, impact = book
    extra = data.draw(arrays(np.float64, shock.shape, elements=st.floats(0, 0.4)))
    bigger = np.minimum(1.0, shock + extra)
    kw = {"haircut": haircut, "price_impact": lam, "impact": impact, "max_rounds": 300}
    small = margin_spiral(x, equity, shock, **kw)
    big = margin_spiral(x, equity, bigger, **kw)
    assert np.all(big.prices <= small.prices + 1e-12)
    k = min(len(small.price_path), len(big.price_path))
    assert np.all(big.price_path[:k] <= small.price_path[:k] + 1e-12)
    assert np.all(big.sale_fraction >= small.sale_fraction - 1e-9)


@settings(max_examples=150, deadline=None)
@given(books())
def test_converged_prices_are_a_fixed_point(book) -> None:
    x, equity, shock, haircut, lam, impact = book
    r = margin_spiral(
        x,
        equity,
        shock,
        haircut=haircut,
        price_impact=lam,
        impact=impact,
        max_rounds=5000,
        tol=1e-13,
    )
    if not r.converged:
        return
    again, _f = price_map(x, equity, shock, haircut, lam, r.prices, impact)
    np.testing.assert_allclose(again, r.prices, atol=1e-8)
    np.testing.assert_allclose(r.units_sold, r.sale_fraction[:, None] * x)


@settings(max_examples=100, deadline=None)
@given(books())
def test_more_impact_never_raises_prices(book) -> None:
    x, equity, shock, haircut, lam, impact = book
    kw = {"haircut": haircut, "impact": impact, "max_rounds": 300}
    r1 = margin_spiral(x, equity, shock, price_impact=lam, **kw)
    r2 = margin_spiral(x, equity, shock, price_impact=2 * lam, **kw)
    k = min(len(r1.price_path), len(r2.price_path))
    assert np.all(r2.price_path[:k] <= r1.price_path[:k] + 1e-12)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"holdings": [[1.0, -1.0]]},
            r"holdings must be non-negative; holdings\[0, 1\]",
        ),
        ({"holdings": [1.0, 1.0]}, r"2-D"),
        ({"holdings": [[np.nan, 1.0]]}, r"finite"),
        ({"equity": [0.0]}, r"equity\[0\] must be > 0"),
        ({"equity": [1.0, 1.0]}, r"equity must have shape \(1,\)"),
        ({"price_shock": [0.1, 1.2]}, r"price_shock\[1\] must be in \[0, 1\]"),
        ({"haircut": 0.0}, r"haircut\[0\] must be in \(0, 1\]"),
        ({"haircut": 1.5}, r"haircut\[0\] must be in \[0, 1\]"),
        ({"price_impact": [-0.1, 0.0]}, r"price_impact\[0\] must be >= 0"),
        ({"impact": "sqrt"}, r"impact must be one of"),
        ({"max_rounds": -2}, r"max_rounds"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    args = {
        "holdings": [[1.0, 2.0]],
        "equity": [1.0],
        "price_shock": [0.1, 0.1],
        "haircut": 0.2,
        "price_impact": 0.01,
    }
    args.update(kwargs)
    holdings, equity, shock = (
        args.pop("holdings"),
        args.pop("equity"),
        args.pop("price_shock"),
    )
    with pytest.raises(ValueError, match=match):
        margin_spiral(holdings, equity, shock, **args)


def test_result_is_frozen() -> None:
    r = margin_spiral([[10.0]], [2.0], 0.05, haircut=0.2, price_impact=0.01)
    assert isinstance(r, MarginResult)
    with pytest.raises(AttributeError):
        r.rounds = 0  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.prices[0] = 1.0


def test_docstring_examples_run() -> None:
    module = importlib.import_module("circfin.risk.margin")
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
