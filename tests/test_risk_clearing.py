"""Tests for circfin.risk.clearing (Eisenberg-Noe, Rogers-Veraart).

Published cases first (docstrings say where each number comes from), then
closed forms, hand-derived cascades, hypothesis properties, validation.
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

from circfin.risk import ClearingResult, clearing_vector

TOL = 1e-12  # clearing_vector's default: insolvent when net worth < -tol * (1 + pbar)


def clearing_map(L, e, x, p, alpha=1.0, beta=1.0):
    """Phi(p) of Rogers & Veraart (2013): pay in full if solvent,
    else alpha * e + beta * Pi^T p. Reference implementation for the tests,
    with the same documented solvency tolerance as clearing_vector (with
    default costs Phi jumps at the solvency boundary, so a shortfall of
    1e-12 would otherwise flip the answer)."""
    L = np.asarray(L, dtype=float)
    pbar = L.sum(axis=1) + x
    pi = np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)
    inflow = pi.T @ p
    return np.where(
        e + inflow - pbar >= -TOL * (1 + pbar), pbar, alpha * e + beta * inflow
    )


def greatest_by_enumeration(L, e, x, alpha=1.0, beta=1.0):
    """Exact greatest clearing vector by brute force over default sets.

    A fixed point of Phi is determined by its default set D: p_N = pbar_N
    and (I - beta Pi_DD^T) p_D = alpha e_D + beta Pi_ND^T pbar_N, and it is
    consistent when exactly the members of D are insolvent at p. The
    greatest clearing vector dominates all of them (Tarski), so it is their
    elementwise maximum. Only for tests: 2^n linear solves.
    """
    L = np.asarray(L, dtype=float)
    n = len(e)
    pbar = L.sum(axis=1) + x
    pi = np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)
    best = None
    for mask in range(2**n):
        d = np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)
        p = pbar.copy()
        if d.any():
            m = np.eye(d.sum()) - beta * pi[np.ix_(d, d)].T
            rhs = alpha * e[d] + beta * pi[np.ix_(~d, d)].T @ pbar[~d]
            try:
                p[d] = np.linalg.solve(m, rhs)
            except np.linalg.LinAlgError:
                continue
        insolvent = e + pi.T @ p - pbar < -TOL * (1 + pbar)
        if np.array_equal(insolvent, d) and np.all(p[d] <= pbar[d] + 1e-12):
            best = p if best is None else np.maximum(best, p)
    assert best is not None
    assert np.allclose(
        clearing_map(L, e, x, best, alpha, beta), best, rtol=1e-9, atol=1e-9
    )
    return best


# --------------------------------------------------------------------------
# Published case 1: systemicrisk (R; A. Gandy & L. A. M. Veraart),
# ?default_clearing example. "Example output" as printed on rdrr.io
# (cran/systemicrisk/man/default_clearing.html):
#   $defaultind [1] 1 1 0   $clearingvec [1] 1.473214 1.419643 1.500000
#   $defaultind [1] 1 1 1   $clearingvec [1] 0.5020200 0.5147049 0.5653806
# L <- matrix(c(0,x,1-x,1-x,0,x,x,1-x,0), nrow=3) with x = 0.5 (symmetric).
# --------------------------------------------------------------------------
SR_L = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
SR_EA = np.array([1 / 2, 5 / 8, 3 / 4])
SR_EL = np.array([3 / 2, 1 / 2, 1 / 2])


def test_systemicrisk_default_clearing_eisenberg_noe() -> None:
    """Printed: defaults 1 1 0, clearing vector 1.473214 1.419643 1.500000.

    By hand: pbar = (2.5, 1.5, 1.5). Round 1: bank 1 has .5 + .5 + .5 = 1.5
    < 2.5 (fundamental default). With p1 = 1.5, bank 2 has .625 + .2*1.5 +
    .5 = 1.425 < 1.5 (contagion, round 2). Solving p1 = 1 + p2/3,
    p2 = 1.125 + p1/5 gives p1 = 165/112, p2 = 159/112; bank 3 then has
    .75 + .2*p1 + p2/3 = 1.517857 >= 1.5 and pays in full.
    """
    r = clearing_vector(SR_L, SR_EA, external_liabilities=SR_EL)
    assert r.payments.round(6).tolist() == [1.473214, 1.419643, 1.5]
    np.testing.assert_allclose(r.payments, [165 / 112, 159 / 112, 1.5], rtol=1e-14)
    assert r.defaulted.astype(int).tolist() == [1, 1, 0]
    assert [d.tolist() for d in r.default_order] == [[0], [1]]
    assert r.default_round.tolist() == [1, 2, -1]
    assert r.equity[2] == pytest.approx(1 / 56, abs=1e-14)


def test_systemicrisk_default_clearing_rogers_veraart() -> None:
    """Printed for alpha = 0.5, beta = 0.7: defaults 1 1 1, greatest clearing
    vector 0.5020200 0.5147049 0.5653806 (Rogers-Veraart GA, Def. 3.6)."""
    r = clearing_vector(SR_L, SR_EA, external_liabilities=SR_EL, alpha=0.5, beta=0.7)
    assert r.payments.round(7).tolist() == [0.50202, 0.5147049, 0.5653806]
    assert r.defaulted.astype(int).tolist() == [1, 1, 1]
    # bank 1 fails first; the haircuts then take down 2 and 3 together
    assert [d.tolist() for d in r.default_order] == [[0], [1, 2]]


# --------------------------------------------------------------------------
# Published case 2: systemicrisk vignette "Introduction" (Gandy & Veraart),
# "To be able to talk about default of banks ... ea <- c(1,1,1);
# el <- c(1,1,1)"; default(L[[k]], ea = ea, el = el)$defaultind printed
# "## [1] 1 0 1" for each sampled matrix. The matrices are printed to 7
# digits in the CRAN vignette (two mirrors show different MCMC draws).
# --------------------------------------------------------------------------
VIGNETTE_MATRICES = [
    [[0.0, 0.0, 1.0], [0.4, 0.0, 2.1], [0.3, 2.7, 0.0]],
    [
        [0.0, 0.09298631, 0.9070137],
        [0.3070137, 0.0, 2.1929863],
        [0.3929863, 2.60701369, 0.0],
    ],
    [
        [0.0, 0.2436671, 0.7563329],
        [0.1563329, 0.0, 2.3436671],
        [0.5436671, 2.4563329, 0.0],
    ],
]


@pytest.mark.parametrize("L", VIGNETTE_MATRICES)
def test_systemicrisk_vignette_defaults(L: list) -> None:
    """Printed default indicators: 1 0 1."""
    r = clearing_vector(np.array(L), np.ones(3), external_liabilities=np.ones(3))
    assert r.defaulted.astype(int).tolist() == [1, 0, 1]


def test_systemicrisk_vignette_first_matrix_payments_by_hand() -> None:
    """Payments for the first vignette matrix, derived by hand.

    pbar = (2, 3.5, 4); net worth with full payment: bank 1 .7 + 1 - 2 =
    -.3 (round 1). Bank 1 pays 1 + .4 + .3 = 1.7, so bank 3 gets .85 instead
    of 1 and its .1 of equity goes (round 2). With D = {1, 3}:
    p1 = 1.4 + .075 p3, p3 = 3.1 + .5 p1  =>  p1 = 1.6325 / .9625,
    p3 = 3.1 + p1 / 2; bank 2 gets 1 + .675 p3 = 3.6649 >= 3.5.
    """
    r = clearing_vector(
        np.array(VIGNETTE_MATRICES[0]), np.ones(3), external_liabilities=np.ones(3)
    )
    p1 = 1.6325 / 0.9625
    np.testing.assert_allclose(r.payments, [p1, 3.5, 3.1 + p1 / 2], rtol=1e-14)
    assert r.default_round.tolist() == [1, -1, 2]
    np.testing.assert_allclose(
        r.external_payments, r.payments * np.array([1, 1, 1]) / [2, 3.5, 4]
    )


# --------------------------------------------------------------------------
# Closed forms and hand-derived cascades
# --------------------------------------------------------------------------
def test_ring_with_enough_external_assets_pays_in_full() -> None:
    """Ring 0 -> 1 -> 2 -> 0 owing 10 each; everyone's inflow covers its
    outflow, so p = pbar, nobody defaults, equity = external assets."""
    L = 10.0 * np.roll(np.eye(3), 1, axis=1)
    r = clearing_vector(L, [1.0, 0.0, 2.5])
    np.testing.assert_array_equal(r.payments, [10, 10, 10])
    assert not r.defaulted.any() and r.rounds == 0 and r.default_order == []
    np.testing.assert_allclose(r.equity, [1.0, 0.0, 2.5])


def test_ring_without_external_assets_is_still_solvent() -> None:
    """The greatest clearing vector of a pure ring is pbar even with e = 0
    (everyone pays with what it receives); p = 0 is also a clearing vector,
    but not the greatest one."""
    L = 10.0 * np.roll(np.eye(4), 1, axis=1)
    r = clearing_vector(L, np.zeros(4))
    np.testing.assert_array_equal(r.payments, np.full(4, 10.0))


def test_chain_cascade_exact() -> None:
    """Hand-derived chain 0 -> 1 -> 2 -> outside.

    0 owes 10 to 1 and has 4: pays 4 (round 1). 1 owes 8 to 2, has 3 + 4 = 7:
    pays 7 (round 2). 2 owes 5 outside, gets 7: pays 5, keeps 2.
    """
    L = np.array([[0, 10.0, 0], [0, 0, 8.0], [0, 0, 0]])
    r = clearing_vector(L, [4.0, 3.0, 0.0], external_liabilities=[0, 0, 5.0])
    np.testing.assert_allclose(r.payments, [4, 7, 5])
    assert [d.tolist() for d in r.default_order] == [[0], [1]]
    np.testing.assert_allclose(r.equity, [4 - 10, 3 + 4 - 8, 7 - 5])
    np.testing.assert_allclose(r.external_payments, [0, 0, 5])


def test_chain_cascade_with_default_costs() -> None:
    """Same chain with alpha = beta = 0.5: 0 realises 2 of its 4; 1 then has
    3 + 2 = 5 < 8 and realises 1.5 + 1 = 2.5; 2 has 2.5 < 5 and realises
    .5 * 2.5 = 1.25. Default costs carry the cascade one step further."""
    L = np.array([[0, 10.0, 0], [0, 0, 8.0], [0, 0, 0]])
    r = clearing_vector(
        L, [4.0, 3.0, 0.0], external_liabilities=[0, 0, 5.0], alpha=0.5, beta=0.5
    )
    np.testing.assert_allclose(r.payments, [2, 2.5, 1.25])
    assert [d.tolist() for d in r.default_order] == [[0], [1], [2]]


def test_external_creditors_share_pro_rata() -> None:
    """One bank owes 6 to a bank and 4 outside, has 5: pays 5, of which
    3 to the bank and 2 outside (pari passu)."""
    L = np.array([[0, 6.0], [0, 0]])
    r = clearing_vector(L, [5.0, 0.0], external_liabilities=[4.0, 0.0])
    assert r.payments[0] == pytest.approx(5.0)
    assert r.external_payments[0] == pytest.approx(2.0)
    assert r.equity[1] == pytest.approx(3.0)
    assert r.obligations.tolist() == [10.0, 0.0]


def test_sparse_large_default_block_matches_iteration() -> None:
    """A 3000-bank sparse network whose default set exceeds the dense-block
    size, so the sparse solver path is used; checked against the
    greatest-fixed-point iteration and against dense input."""
    rng = np.random.default_rng(3)
    n, m = 3000, 15000
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = rows != cols
    L = sp.coo_matrix(
        (rng.uniform(1, 5, keep.sum()), (rows[keep], cols[keep])), shape=(n, n)
    ).tocsr()
    L.sum_duplicates()
    owed, owns = np.asarray(L.sum(axis=1)).ravel(), np.asarray(L.sum(axis=0)).ravel()
    x = rng.uniform(0, 2, n)
    e = np.maximum(0.0, owed + x - owns + rng.normal(-1.5, 1.0, n))
    r = clearing_vector(L, e, external_liabilities=x)
    assert r.defaulted.sum() > 1500
    dense = clearing_vector(L.toarray(), e, external_liabilities=x)
    np.testing.assert_allclose(r.payments, dense.payments, rtol=1e-9, atol=1e-9)
    lt = L.T.tocsr()
    pbar = owed + x
    p = pbar.copy()
    for _ in range(5000):
        inflow = lt @ (p / pbar)
        q = np.minimum(pbar, e + inflow)
        if np.max(np.abs(q - p)) < 1e-13:
            break
        p = q
    np.testing.assert_allclose(r.payments, p, rtol=1e-8, atol=1e-8)


def test_fallbacks_give_the_same_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the dense solve fails the monotone iteration from above must find
    the same greatest clearing vector; if GMRES fails, sparse LU must."""
    module = importlib.import_module("circfin.risk.clearing")
    want = clearing_vector(
        SR_L, SR_EA, external_liabilities=SR_EL, alpha=0.5, beta=0.7
    ).payments

    def broken_solve(*args, **kwargs):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(module.np.linalg, "solve", broken_solve)
    got = clearing_vector(
        SR_L, SR_EA, external_liabilities=SR_EL, alpha=0.5, beta=0.7
    ).payments
    np.testing.assert_allclose(got, want, atol=1e-11)
    monkeypatch.undo()

    rng = np.random.default_rng(11)
    n = 1200
    L = sp.random(n, n, density=0.004, random_state=rng, format="csr") * 10
    L.setdiag(0)
    L.eliminate_zeros()
    owed, owns = np.asarray(L.sum(axis=1)).ravel(), np.asarray(L.sum(axis=0)).ravel()
    e = np.maximum(0, owed - owns + rng.normal(-2, 2, n))
    x = np.full(n, 1.0)
    want_big = clearing_vector(L, e, external_liabilities=x)
    assert want_big.defaulted.sum() > 500  # large enough for the sparse path
    monkeypatch.setattr(module, "_krylov", lambda *a, **k: None)
    got_big = clearing_vector(L, e, external_liabilities=x)
    np.testing.assert_allclose(
        got_big.payments, want_big.payments, rtol=1e-10, atol=1e-10
    )


# --------------------------------------------------------------------------
# Hypothesis properties
# --------------------------------------------------------------------------
@st.composite
def systems(draw: st.DrawFn):
    n = draw(st.integers(1, 7))
    L = draw(
        arrays(np.float64, (n, n), elements=st.floats(0, 10, allow_subnormal=False))
    )
    L = np.where(draw(arrays(np.bool_, (n, n))), L, 0.0)
    np.fill_diagonal(L, 0.0)
    e = draw(arrays(np.float64, n, elements=st.floats(0, 10, allow_subnormal=False)))
    x = draw(arrays(np.float64, n, elements=st.floats(0, 10, allow_subnormal=False)))
    return L, e, x


costs = st.tuples(st.floats(0, 1), st.floats(0, 1))


@settings(max_examples=200, deadline=None)
@given(systems(), costs)
def test_payments_bounded_and_fixed_point(system, ab) -> None:
    L, e, x = system
    a, b = ab
    r = clearing_vector(L, e, external_liabilities=x, alpha=a, beta=b)
    pbar = L.sum(axis=1) + x
    assert np.all(r.payments >= 0) and np.all(r.payments <= pbar + 1e-12)
    phi = clearing_map(L, e, x, r.payments, a, b)
    np.testing.assert_allclose(phi, r.payments, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(r.defaulted, r.payments < pbar - 1e-12)


@settings(max_examples=200, deadline=None)
@given(systems(), costs)
def test_result_is_the_greatest_clearing_vector(system, ab) -> None:
    L, e, x = system
    a, b = ab
    r = clearing_vector(L, e, external_liabilities=x, alpha=a, beta=b)
    np.testing.assert_allclose(
        r.payments, greatest_by_enumeration(L, e, x, a, b), rtol=1e-7, atol=1e-7
    )


@settings(max_examples=200, deadline=None)
@given(systems(), costs, costs)
def test_lower_alpha_beta_never_increases_payments(system, ab1, ab2) -> None:
    L, e, x = system
    hi = (max(ab1[0], ab2[0]), max(ab1[1], ab2[1]))
    lo = (min(ab1[0], ab2[0]), min(ab1[1], ab2[1]))
    r_hi = clearing_vector(L, e, external_liabilities=x, alpha=hi[0], beta=hi[1])
    r_lo = clearing_vector(L, e, external_liabilities=x, alpha=lo[0], beta=lo[1])
    assert np.all(r_lo.payments <= r_hi.payments + 1e-9)
    assert np.all(r_lo.defaulted >= r_hi.defaulted)


@settings(max_examples=150, deadline=None)
@given(systems(), st.data())
def test_more_external_assets_never_lower_payments(system, data: st.DataObject) -> None:
    L, e, x = system
    extra = data.draw(arrays(np.float64, e.shape, elements=st.floats(0, 5)))
    r = clearing_vector(L, e, external_liabilities=x)
    r2 = clearing_vector(L, e + extra, external_liabilities=x)
    assert np.all(r2.payments >= r.payments - 1e-9)


@settings(max_examples=150, deadline=None)
@given(systems())
def test_eisenberg_noe_value_is_conserved(system) -> None:
    """Without default costs no value is destroyed: external assets end up
    with external creditors or as equity of solvent banks."""
    L, e, x = system
    r = clearing_vector(L, e, external_liabilities=x)
    kept = np.where(r.defaulted, 0.0, r.equity).sum()
    assert kept + r.external_payments.sum() == pytest.approx(
        e.sum(), rel=1e-9, abs=1e-9
    )
    assert np.all(r.equity[~r.defaulted] >= -1e-9)


@settings(max_examples=80, deadline=None)
@given(systems(), costs)
def test_sparse_input_same_as_dense(system, ab) -> None:
    L, e, x = system
    rd = clearing_vector(L, e, external_liabilities=x, alpha=ab[0], beta=ab[1])
    rs = clearing_vector(
        sp.csr_matrix(L), e, external_liabilities=x, alpha=ab[0], beta=ab[1]
    )
    np.testing.assert_allclose(rs.payments, rd.payments, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(rs.default_round, rd.default_round)


@settings(max_examples=100, deadline=None)
@given(systems(), costs)
def test_default_order_is_consistent(system, ab) -> None:
    L, e, x = system
    r = clearing_vector(L, e, external_liabilities=x, alpha=ab[0], beta=ab[1])
    flat = (
        np.concatenate(r.default_order) if r.default_order else np.array([], dtype=int)
    )
    assert sorted(flat.tolist()) == np.flatnonzero(r.defaulted).tolist()
    for k, d in enumerate(r.default_order, start=1):
        assert np.all(r.default_round[d] == k)
    assert r.rounds == len(r.default_order)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"liabilities": np.array([[1.0, 1], [1, 0]])},
            r"liabilities\[0, 0\] must be 0",
        ),
        (
            {"liabilities": np.array([[0, -1.0], [1, 0]])},
            r"liabilities must be non-negative; liabilities\[0, 1\]",
        ),
        ({"liabilities": np.ones((2, 3))}, r"square"),
        ({"liabilities": np.array([[0, np.inf], [1, 0]])}, r"finite"),
        ({"external_assets": [1.0, -2.0]}, r"external_assets\[1\] must be >= 0"),
        ({"external_assets": [np.nan, 1.0]}, r"external_assets\[0\] must be finite"),
        (
            {"external_assets": [1.0, 1.0, 1.0]},
            r"external_assets must have shape \(2,\)",
        ),
        (
            {"external_liabilities": [-1.0, 0.0]},
            r"external_liabilities\[0\] must be >= 0",
        ),
        ({"alpha": 1.5}, r"alpha must be in \[0, 1\]"),
        ({"beta": -0.1}, r"beta must be in \[0, 1\]"),
        ({"alpha": float("nan")}, r"alpha must be in \[0, 1\]"),
        ({"tol": 0.0}, r"tol must be finite and > 0"),
        ({"max_iter": 0}, r"max_iter must be a positive integer"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    args = {
        "liabilities": np.array([[0, 1.0], [1.0, 0]]),
        "external_assets": [1.0, 1.0],
    }
    args.update(kwargs)
    L, e = args.pop("liabilities"), args.pop("external_assets")
    with pytest.raises(ValueError, match=match):
        clearing_vector(L, e, **args)


def test_result_is_frozen() -> None:
    r = clearing_vector(SR_L, SR_EA, external_liabilities=SR_EL)
    assert isinstance(r, ClearingResult)
    with pytest.raises(AttributeError):
        r.rounds = 0  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.payments[0] = 0.0


def test_docstring_examples_run() -> None:
    module = importlib.import_module("circfin.risk.clearing")
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def test_slow_network_takes_the_krylov_correction_and_stays_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Little money leaves the web, so the plain iteration crawls: the iteration
    hands over to the Krylov correction, whose answer must match the dense
    solve and a plain iteration run to the end, with the same default rounds."""
    module = importlib.import_module("circfin.risk.clearing")
    calls = []
    real = module._krylov

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "_krylov", counting)
    rng = np.random.default_rng(7)
    n, m = 800, 8000
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = rows != cols
    L = sp.coo_matrix(
        (rng.lognormal(0, 1, keep.sum()), (rows[keep], cols[keep])), shape=(n, n)
    ).tocsr()
    L.sum_duplicates()
    owed = np.asarray(L.sum(axis=1)).ravel()
    x = 0.001 * owed
    e = owed * rng.uniform(0, 0.05, n)
    r = clearing_vector(L, e, external_liabilities=x)
    assert calls and r.defaulted.sum() > 600  # above the dense-block size
    dense = clearing_vector(L.toarray(), e, external_liabilities=x)
    np.testing.assert_allclose(r.payments, dense.payments, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(r.default_round, dense.default_round)
    lt, pbar = L.T.tocsr(), owed + x
    p = pbar.copy()
    for _ in range(100_000):
        q = np.minimum(pbar, e + lt @ (p / pbar))
        if np.max(np.abs(q - p)) < 1e-14 * pbar.max():
            break
        p = q
    np.testing.assert_allclose(r.payments, p, rtol=1e-9, atol=1e-9)
    # the equity reported is the books at those payments
    np.testing.assert_allclose(r.equity, e + lt @ (r.payments / pbar) - pbar, atol=1e-9)


def test_default_rounds_read_later_use_the_matrix_as_it_was() -> None:
    """The rounds are worked out when first read: changing the caller's matrix in
    between must not change them."""
    L = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    r = clearing_vector(L, [1.0, 0.5, 0.0])
    Ls = sp.csr_matrix(L)
    rs = clearing_vector(Ls, [1.0, 0.5, 0.0])
    L[0, 1] = 1000.0  # would make 1 solvent if the rounds read it
    Ls.data[0] = 1000.0
    assert [d.tolist() for d in r.default_order] == [[0], [1]]
    assert [d.tolist() for d in rs.default_order] == [[0], [1]]
