"""Tests for circfin.risk.debtrank.

Published cases first (each docstring says where the numbers come from),
then closed forms, hand-derived cases, hypothesis properties and input
validation.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from circfin.risk import DebtRankResult, debtrank

# --------------------------------------------------------------------------
# Published case 1: NetworkRiskMeasures (R), README of carloscinelli/
# NetworkRiskMeasures and the examples of ?debt_rank.
#   assets_matrix <- matrix(c(0, 10, 3, 1, 0, 2, 0, 3, 0), ncol = 3)
# R fills column-major, so rows are a = (0, 1, 0), b = (10, 0, 3),
# c = (3, 2, 0); "A -> B means that A has an asset with B", i.e. our
# exposures[i, j]. buffer = (2, 5, 2), weights = (10, 100, 30).
# --------------------------------------------------------------------------
NRM_EXPOSURES = np.array([[0.0, 1.0, 0.0], [10.0, 0.0, 3.0], [3.0, 2.0, 0.0]])
NRM_BUFFER = np.array([2.0, 5.0, 2.0])
NRM_WEIGHTS = np.array([10.0, 100.0, 30.0])


def test_networkriskmeasures_ten_percent_shock() -> None:
    """README output of ``debt_rank_shock`` with a 10 % shock to a, b, c.

    Printed: "Shock causes additional stress of 16.07% in the network.
    Additional defaulted entities: 0", final stress a 0.15, b 0.26, c 0.30.
    By hand (W capped at 1): W = [[0, .5, 0], [1, 0, .6], [1, 1, 0]];
    all three are distressed at t = 1 and pass 0.1 on once:
    a = .1 + .5*.1 = .15, b = .1 + .1 + .06 = .26, c = .1 + .1 + .1 = .30;
    R = (.05*10 + .16*100 + .2*30) / 140 = 22.5 / 140 = 0.160714.
    """
    r = debtrank(NRM_EXPOSURES, NRM_BUFFER, [0.1, 0.1, 0.1], weights=NRM_WEIGHTS)
    np.testing.assert_allclose(r.distress, [0.15, 0.26, 0.30], atol=5e-3)
    np.testing.assert_allclose(r.distress, [0.15, 0.26, 0.30], rtol=1e-12)
    assert round(r.debtrank * 100, 2) == 16.07
    assert int(np.sum(r.distress == 1) - np.sum(r.history[0] == 1)) == 0
    assert r.rounds == 1
    assert r.converged


@pytest.mark.parametrize(
    ("vertex", "additional_stress", "additional_defaults"),
    [(0, 0.9285714, 2), (1, 0.2500000, 1), (2, 0.6642857, 0)],
)
def test_networkriskmeasures_debt_rank_per_vertex(
    vertex: int, additional_stress: float, additional_defaults: int
) -> None:
    """README output of ``debt_rank`` (each vertex defaults in turn, h = 1).

    Printed table (decreasing order): a 0.9285714 / 2 additional defaults,
    c 0.6642857 / 0, b 0.2500000 / 1. Vertex c by hand: c -> b gets .6;
    round 3 b -> a gets .5*.6 = .3; round 4 a -> b gets another 1*.3 (b is
    inactive by then and keeps it): b = .9; R = (.3*10 + .9*100)/140.
    """
    shock = np.zeros(3)
    shock[vertex] = 1.0
    r = debtrank(NRM_EXPOSURES, NRM_BUFFER, shock, weights=NRM_WEIGHTS)
    assert r.debtrank == pytest.approx(additional_stress, abs=5e-8)
    assert int(np.sum(r.distress == 1) - 1) == additional_defaults


# --------------------------------------------------------------------------
# Published case 2: Battiston et al. (2012), Supplementary Information,
# Figure 5 network, as reproduced with printed output in V. Voutilainen,
# "An example of the DebtRank algorithm" (vvoutilainen.github.io,
# assets/notebooks/debtrank_example.html). Edges source -> target mean
# "source invested in target": exposures[source, target]. Equity of each
# node is the sum invested in it plus jitter (1, 3, 0, 6, 8, 0, 0, 0), and
# 56, 90, 50 for nodes 3, 7, 8. Node values v_k = total invested by k.
# --------------------------------------------------------------------------
FIG5_EDGES = [
    (2, 1, 4),
    (5, 2, 3),
    (7, 5, 5),
    (2, 5, 2),
    (3, 1, 6),
    (4, 1, 3),
    (6, 4, 2),
    (8, 6, 7),
    (5, 6, 2),
]
FIG5_EQUITY = np.array([14.0, 6.0, 56.0, 8.0, 15.0, 9.0, 90.0, 50.0])


def _fig5_exposures() -> np.ndarray:
    x = np.zeros((8, 8))
    for src, dst, amount in FIG5_EDGES:
        x[src - 1, dst - 1] = amount
    return x


def test_battiston_fig5_equity_investments() -> None:
    """Node 1 fails (h = 1); printed h = 1, .711111, .107143, .375, .144444,
    .083333, .007407, .011667 and "DebtRank: 0.207".

    Note node 2: hit by 1 in round 1 (4/6), inactive after round 2, and in
    round 3 hit again by node 5 (2/6 * 0.133333), giving 0.711111 -- the
    original algorithm keeps losses arriving at inactive nodes.
    """
    x = _fig5_exposures()
    shock = np.zeros(8)
    shock[0] = 1.0
    r = debtrank(x, FIG5_EQUITY, shock, weights=x.sum(axis=1))
    expected = [1.0, 0.711111, 0.107143, 0.375, 0.144444, 0.083333, 0.007407, 0.011667]
    np.testing.assert_allclose(r.distress, expected, atol=5e-7)
    assert round(r.debtrank, 3) == 0.207
    # who is hit in which round: 2, 3, 4 by node 1; 5 and 6 next; 7, 8 last
    assert r.first_hit_round.tolist() == [0, 1, 1, 1, 2, 2, 3, 3]
    assert r.hit_in_round(2).tolist() == [4, 5]


def test_battiston_fig5_all_impacts_one_half() -> None:
    """Same network "with values of the impact matrix as in Figure 5 of the
    main reference supplementary material; that is, all impacts have been
    forced to 0.5": printed h = 1, .625, .5, .5, .375, .25, .125, .125 and
    "DebtRank: 0.357" (= 12.125 / 34).
    """
    x = _fig5_exposures()
    exposures = (x > 0) * 0.5 * FIG5_EQUITY[:, None]  # W[i, j] = 0.5 on every edge
    shock = np.zeros(8)
    shock[0] = 1.0
    r = debtrank(exposures, FIG5_EQUITY, shock, weights=x.sum(axis=1))
    np.testing.assert_allclose(
        r.distress, [1, 0.625, 0.5, 0.5, 0.375, 0.25, 0.125, 0.125], atol=1e-12
    )
    assert r.debtrank == pytest.approx(12.125 / 34, abs=1e-12)
    assert round(r.debtrank, 3) == 0.357


# --------------------------------------------------------------------------
# Closed forms and hand-derived cases
# --------------------------------------------------------------------------
def _subcritical(
    seed: int, n: int, density: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < density)
    np.fill_diagonal(x, 0.0)
    w = x / x.sum(axis=1, keepdims=True).clip(min=1e-12)  # row-stochastic pattern
    rho_target = rng.uniform(0.3, 0.8)
    equity = x.sum(axis=1).clip(min=1e-12) / rho_target  # W = rho_target * w
    equity[x.sum(axis=1) == 0] = 1.0
    shock = rng.uniform(0.0, 0.02, n)
    del w
    return x, equity, shock


@pytest.mark.parametrize("seed", range(6))
def test_linear_equals_leontief_inverse(seed: int) -> None:
    """Bardoscia et al. (2015): without saturation and with spectral radius
    below 1, linear DebtRank ends at sum_k W^k h(1) = (I - W)^{-1} h(1).
    Random networks scaled to row sums rho < 1 (so the spectral radius is
    < 1) and small shocks (so nothing reaches 1)."""
    x, equity, shock = _subcritical(seed, n=30, density=0.2)
    w = x / equity[:, None]
    assert max(abs(np.linalg.eigvals(w))) < 1
    closed = np.linalg.solve(np.eye(30) - w, shock)
    assert closed.max() < 1
    r = debtrank(x, equity, shock, method="linear", cap_impact=False, max_rounds=5000)
    assert r.converged
    np.testing.assert_allclose(r.distress, closed, rtol=1e-9, atol=1e-12)
    rs = debtrank(
        sp.csr_matrix(x),
        equity,
        shock,
        method="linear",
        cap_impact=False,
        max_rounds=5000,
    )
    np.testing.assert_allclose(rs.distress, closed, rtol=1e-9, atol=1e-12)


def test_two_node_ring_geometric_series() -> None:
    """Hand-derived: W = [[0, .5], [.5, 0]], h(1) = (.2, 0).

    Linear: h = (I - W)^{-1} h(1) = (1/.75) * (.2, .1) = (.26667, .13333).
    Original: round 1 node 1 gets .5*.2 = .1; round 2 node 0 (now
    inactive) gets .5*.1 = .05 -> .25; node 0 does not pass it on again.
    """
    ring = np.array([[0.0, 5.0], [5.0, 0.0]])
    orig = debtrank(ring, [10.0, 10.0], [0.2, 0.0])
    lin = debtrank(ring, [10.0, 10.0], [0.2, 0.0], method="linear")
    np.testing.assert_allclose(orig.distress, [0.25, 0.1], atol=1e-15)
    np.testing.assert_allclose(lin.distress, [0.2 / 0.75, 0.1 / 0.75], atol=1e-11)
    assert orig.rounds == 2


def test_diamond_original_undercounts_late_arrivals() -> None:
    """Hand-derived DAG where the original passes on a partial loss.

    0 is shocked (.4). 1 and 2 hold exposures to 0 (W = .5 each), 2 also to
    1 (W = .5), 3 to 2 (W = 1). Round 1: h1 = h2 = .2. Round 2: 2 gets
    .5*.2 = .1 more (.3) and 3 gets 1*.2 = .2 from 2's round-1 level.
    Original stops there: h = (.4, .2, .3, .2). Linear also passes 2's late
    .1 on: h3 = .3, i.e. h = (.4, .2, .3, .3).
    """
    x = np.zeros((4, 4))
    x[1, 0] = x[2, 0] = x[2, 1] = 0.5
    x[3, 2] = 1.0
    equity = np.ones(4)
    shock = [0.4, 0, 0, 0]
    orig = debtrank(x, equity, shock)
    lin = debtrank(x, equity, shock, method="linear")
    np.testing.assert_allclose(orig.distress, [0.4, 0.2, 0.3, 0.2], atol=1e-15)
    np.testing.assert_allclose(lin.distress, [0.4, 0.2, 0.3, 0.3], atol=1e-15)
    assert orig.first_hit_round.tolist() == [0, 1, 1, 2]
    assert [h.tolist() for h in orig.history][:2] == [
        [0.4, 0, 0, 0],
        [0.4, 0.2, 0.2, 0],
    ]


def test_cap_impact_limits_single_counterparty_loss() -> None:
    """Exposure 3x equity: capped, a full default costs exactly all equity;
    uncapped the loss saturates at 1 anyway, but a 10 % shock passes 30 %."""
    x = np.array([[0.0, 0.0], [30.0, 0.0]])
    assert debtrank(x, [1.0, 10.0], [0.1, 0.0]).distress[1] == pytest.approx(0.1)
    assert debtrank(x, [1.0, 10.0], [0.1, 0.0], cap_impact=False).distress[
        1
    ] == pytest.approx(0.3)
    assert debtrank(x, [1.0, 10.0], [1.0, 0.0], cap_impact=False).distress[1] == 1.0


def test_original_not_monotone_across_supports() -> None:
    """Documented limitation of the original algorithm: shocking an extra
    node early makes it pass on its *small* initial loss and go inactive
    before the big loss arrives. Chain 0 -> 1 -> 2 (W = 1): shock (1, 0, 0)
    gives h2 = 1, shock (1, .01, 0) gives h2 = .01. Linear is monotone."""
    x = np.array([[0.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]])
    e = np.ones(3)
    assert debtrank(x, e, [1, 0, 0]).distress[2] == 1.0
    assert debtrank(x, e, [1, 0.01, 0]).distress[2] == pytest.approx(0.01)
    assert debtrank(x, e, [1, 0.01, 0], method="linear").distress[2] == 1.0


def test_no_shock_no_rounds() -> None:
    for method in ("original", "linear"):
        r = debtrank(np.ones((3, 3)), np.ones(3), 0.0, method=method)
        assert r.rounds == 0 and r.debtrank == 0.0 and r.converged
        assert r.first_hit_round.tolist() == [-1, -1, -1]


def test_empty_network() -> None:
    r = debtrank(np.zeros((0, 0)), [], [])
    assert r.distress.shape == (0,) and r.debtrank == 0.0


def test_max_rounds_stops_early() -> None:
    chain = np.diag(np.ones(5), k=-1)  # i holds exposure to i - 1
    r = debtrank(chain, np.ones(6), [1, 0, 0, 0, 0, 0], max_rounds=2)
    assert r.rounds == 2 and not r.converged
    assert r.distress.tolist() == [1, 1, 1, 0, 0, 0]
    assert debtrank(chain, np.ones(6), [1, 0, 0, 0, 0, 0]).distress.tolist() == [1] * 6


def test_keep_history_false_keeps_first_and_last() -> None:
    x = _fig5_exposures()
    shock = np.zeros(8)
    shock[0] = 1.0
    for method in ("original", "linear"):
        full = debtrank(x, FIG5_EQUITY, shock, method=method)
        lean = debtrank(x, FIG5_EQUITY, shock, method=method, keep_history=False)
        assert len(lean.history) == 2 and len(full.history) == full.rounds + 1
        np.testing.assert_array_equal(lean.history[0], full.history[0])
        np.testing.assert_array_equal(lean.history[-1], full.distress)
        np.testing.assert_array_equal(lean.first_hit_round, full.first_hit_round)
        assert lean.rounds == full.rounds


def test_result_is_frozen() -> None:
    r = debtrank(NRM_EXPOSURES, NRM_BUFFER, 0.1)
    assert isinstance(r, DebtRankResult)
    with pytest.raises(AttributeError):
        r.rounds = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.distress[0] = 0.0


def test_sparse_matches_dense_on_larger_network() -> None:
    rng = np.random.default_rng(7)
    n, m = 2000, 12000
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = rows != cols
    x = sp.csr_matrix(
        (rng.lognormal(0, 1, keep.sum()), (rows[keep], cols[keep])), shape=(n, n)
    )
    equity = np.asarray(x.sum(axis=1)).ravel() * rng.uniform(0.2, 2.0, n) + 0.1
    shock = np.where(rng.uniform(size=n) < 0.01, 0.5, 0.0)
    for method in ("original", "linear"):
        rs = debtrank(x, equity, shock, method=method)
        rd = debtrank(x.toarray(), equity, shock, method=method)
        np.testing.assert_allclose(rs.distress, rd.distress, atol=1e-12)
        assert rs.rounds == rd.rounds
        np.testing.assert_array_equal(rs.first_hit_round, rd.first_hit_round)
    # scipy sparse arrays (not just matrices) and other formats are accepted
    np.testing.assert_allclose(
        debtrank(sp.coo_array(x), equity, shock).distress,
        debtrank(x, equity, shock).distress,
    )


# --------------------------------------------------------------------------
# Hypothesis properties
# --------------------------------------------------------------------------
@st.composite
def networks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 7))
    x = draw(
        arrays(np.float64, (n, n), elements=st.floats(0, 10, allow_subnormal=False))
    )
    mask = draw(arrays(np.bool_, (n, n)))
    x = np.where(mask, x, 0.0)
    equity = draw(
        arrays(np.float64, n, elements=st.floats(0.05, 20, allow_subnormal=False))
    )
    shock = draw(arrays(np.float64, n, elements=st.floats(0, 1, allow_subnormal=False)))
    return x, equity, shock


@settings(max_examples=150, deadline=None)
@given(networks(), st.sampled_from(["original", "linear"]), st.booleans())
def test_distress_in_unit_interval_and_nondecreasing(
    net, method: str, cap: bool
) -> None:
    x, equity, shock = net
    r = debtrank(x, equity, shock, method=method, cap_impact=cap, max_rounds=3000)
    hist = np.array(r.history)
    assert np.all(hist >= 0) and np.all(hist <= 1)
    assert np.all(np.diff(hist, axis=0) >= -1e-15)
    np.testing.assert_array_equal(hist[0], shock)
    assert r.debtrank >= -1e-15
    # first_hit_round agrees with the history
    for i in range(len(shock)):
        hit = np.flatnonzero(hist[:, i] > 0)
        assert r.first_hit_round[i] == (hit[0] if hit.size else -1)


@settings(max_examples=150, deadline=None)
@given(networks(), st.booleans())
def test_linear_at_least_original(net, cap: bool) -> None:
    """Every increment travels on in linear DebtRank, so h_lin(t) >= h_orig(t)
    in every round (induction on rounds), hence also at the end."""
    x, equity, shock = net
    orig = debtrank(x, equity, shock, cap_impact=cap)
    lin = debtrank(
        x, equity, shock, method="linear", cap_impact=cap, max_rounds=3000, tol=1e-14
    )
    assert np.all(lin.distress >= orig.distress - 1e-9)
    for t in range(min(len(orig.history), len(lin.history))):
        assert np.all(lin.history[t] >= orig.history[t] - 1e-12)


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_linear_monotone_in_shock(net, data: st.DataObject) -> None:
    x, equity, shock = net
    extra = data.draw(arrays(np.float64, shock.shape, elements=st.floats(0, 1)))
    bigger = np.minimum(1.0, shock + extra)
    small = debtrank(x, equity, shock, method="linear", max_rounds=3000, tol=1e-14)
    big = debtrank(x, equity, bigger, method="linear", max_rounds=3000, tol=1e-14)
    assert np.all(big.distress >= small.distress - 1e-9)


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_original_monotone_in_shock_with_same_support(net, data: st.DataObject) -> None:
    """With the same set of initially shocked entities the D/I schedule is
    the same, and each round's update is monotone in h."""
    x, equity, shock = net
    extra = data.draw(arrays(np.float64, shock.shape, elements=st.floats(0, 1)))
    bigger = np.where(shock > 0, np.minimum(1.0, shock + extra), 0.0)
    small = debtrank(x, equity, shock)
    big = debtrank(x, equity, bigger)
    assert np.all(big.distress >= small.distress - 1e-12)
    assert big.rounds == small.rounds


@settings(max_examples=60, deadline=None)
@given(networks(), st.sampled_from(["original", "linear"]))
def test_sparse_input_same_as_dense(net, method: str) -> None:
    x, equity, shock = net
    rd = debtrank(x, equity, shock, method=method)
    rs = debtrank(sp.csr_matrix(x), equity, shock, method=method)
    np.testing.assert_allclose(rs.distress, rd.distress, atol=1e-12)
    assert rs.rounds == rd.rounds


@settings(max_examples=60, deadline=None)
@given(networks(), st.data())
def test_debtrank_is_weighted_increase(net, data: st.DataObject) -> None:
    x, equity, shock = net
    w = data.draw(arrays(np.float64, shock.shape, elements=st.floats(0.01, 5)))
    r = debtrank(x, equity, shock, weights=w)
    v = w / w.sum()
    assert r.debtrank == pytest.approx(float(v @ (r.distress - shock)), abs=1e-12)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"equity": [1.0, 0.0, 1.0]}, r"equity\[1\] must be > 0"),
        ({"equity": [1.0, 1.0, -2.0]}, r"equity\[2\] must be > 0"),
        ({"equity": [np.nan, 1.0, 1.0]}, r"equity\[0\] must be finite"),
        ({"equity": [1.0, np.inf, 1.0]}, r"equity\[1\] must be finite"),
        ({"equity": [1.0, 1.0]}, r"equity must have shape \(3,\)"),
        ({"shock": [0.1, 1.5, 0.0]}, r"shock\[1\] must be in \[0, 1\]"),
        ({"shock": [-0.1, 0.5, 0.0]}, r"shock\[0\] must be in \[0, 1\]"),
        (
            {"exposures": -np.eye(3)},
            r"exposures must be non-negative; exposures\[0, 0\]",
        ),
        ({"exposures": np.ones((3, 2))}, r"square"),
        ({"exposures": np.full((3, 3), np.nan)}, r"finite"),
        ({"weights": [0.0, 0.0, 0.0]}, r"weights must not all be zero"),
        ({"weights": [1.0, -1.0, 0.0]}, r"weights\[1\] must be >= 0"),
        ({"method": "nonlinear"}, r"method must be one of"),
        ({"max_rounds": -1}, r"max_rounds"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    args = {
        "exposures": np.ones((3, 3)),
        "equity": np.ones(3),
        "shock": np.full(3, 0.1),
    }
    args.update(kwargs)
    exposures, equity, shock = (
        args.pop("exposures"),
        args.pop("equity"),
        args.pop("shock"),
    )
    with pytest.raises(ValueError, match=match):
        debtrank(exposures, equity, shock, **args)


def test_sparse_negative_entry_named() -> None:
    x = sp.csr_matrix(np.array([[0, 1.0], [-2.0, 0]]))
    with pytest.raises(ValueError, match=r"exposures\[1, 0\]"):
        debtrank(x, [1, 1], [0, 0])


def test_docstring_examples_run() -> None:
    # the package re-exports the function under the module's name, so fetch
    # the module itself from sys.modules
    module = importlib.import_module("circfin.risk.debtrank")
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
