"""Clearing payments when some debtors cannot pay in full.

Eisenberg & Noe (2001): every entity pays its creditors pro rata out of what
it has -- its external assets plus what its own debtors pay it -- up to what
it owes. The greatest such clearing vector is found exactly by the
*fictitious default* algorithm: assume only the entities already known to be
insolvent default, solve the linear system for their payments, look for new
insolvencies, repeat. Rogers & Veraart (2013) add default costs: a
defaulting entity realises only ``alpha`` of its external assets and
``beta`` of its interbank receivables; their Greatest Clearing Vector
Algorithm is the same sequence with those haircuts, and reduces to
Eisenberg-Noe at ``alpha = beta = 1``.
"""

from __future__ import annotations

__all__ = ["ClearingResult", "clearing_vector"]

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import as_matrix, as_nonneg_vector, is_sparse

_DENSE_BLOCK_MAX = 500  # sparse input: larger default sets use GMRES, then sparse LU
_EXACT = 1e-15  # an iterate that moves no payment by more than this (relative) is a fixed point
_LOOSE = 1e-9  # the iteration may hand over to a Krylov correction from here ...
_SLOW = 0.2  # ... when a step gains less than a factor 5,
_LOOSE_SLOW, _VERY_SLOW = 1e-4, 0.5  # or from here when it gains less than 2 and no new default came


@dataclass(frozen=True)
class ClearingResult:
    """The outcome of one :func:`clearing_vector` run.

    Attributes
    ----------
    payments : ndarray, shape (n,)
        Clearing payment ``p_i``: what entity ``i`` pays in total, to other
        entities and to external creditors together.
    defaulted : ndarray of bool, shape (n,)
        ``p_i < pbar_i - tol``: the entity does not pay its obligations in full.
    equity : ndarray, shape (n,)
        Net worth after clearing at face value of liabilities,
        ``e_i + sum_j Pi[j, i] p_j - pbar_i``: non-negative for solvent
        entities, minus the shortfall for defaulted ones (with default costs
        the shortfall on the books is smaller than ``pbar_i - p_i``, the rest
        being lost to bankruptcy).
    obligations : ndarray, shape (n,)
        Total nominal obligations ``pbar_i = sum_j L[i, j] + external_i``.
    external_payments : ndarray, shape (n,)
        Paid to external creditors, ``p_i * external_i / pbar_i``.
    rounds : int
        Rounds of the fictitious-default sequence that found new defaults.
    default_order : list of ndarray
        ``default_order[k]`` holds the entities that first default in round
        ``k + 1``; round 1 are the fundamental defaults (insolvent even if
        everyone else pays in full), later rounds are contagion.
    default_round : ndarray of int, shape (n,)
        Round (1-based) in which each entity defaulted, -1 if it did not.

    ``rounds``, ``default_order`` and ``default_round`` are worked out when
    first read (the payments do not need them; see :func:`clearing_vector`'s
    Notes) and kept.
    """

    payments: np.ndarray
    defaulted: np.ndarray
    equity: np.ndarray
    obligations: np.ndarray
    external_payments: np.ndarray
    _order_fn: Callable[[], tuple[list[np.ndarray], np.ndarray]] = field(repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _order(self) -> tuple[list[np.ndarray], np.ndarray]:
        if "order" not in self._cache:
            self._cache["order"] = self._order_fn()
        got: tuple[list[np.ndarray], np.ndarray] = self._cache["order"]
        return got

    @property
    def default_order(self) -> list[np.ndarray]:
        return list(self._order()[0])

    @property
    def default_round(self) -> np.ndarray:
        return self._order()[1]

    @property
    def rounds(self) -> int:
        return len(self._order()[0])


def _check_unit(value: float, name: str) -> float:
    v = float(value)
    if not (np.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def _row_sums(m: Any) -> np.ndarray:
    if is_sparse(m):  # a matrix-vector product: several times faster than .sum(axis=1)
        return np.asarray(m @ np.ones(m.shape[1]), dtype=np.float64).ravel()
    return np.asarray(m.sum(axis=1), dtype=np.float64).ravel()


def _receipts(lt: Any, p: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """``Pi^T p`` computed as ``L^T (p / pbar)`` (``lt`` is ``L^T``)."""
    return np.asarray(lt @ (p * inv), dtype=np.float64).ravel()


def clearing_vector(
    liabilities: Any,
    external_assets: Any,
    *,
    external_liabilities: Any = None,
    alpha: float = 1.0,
    beta: float = 1.0,
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> ClearingResult:
    """Greatest clearing payment vector (Eisenberg-Noe, Rogers-Veraart).

    Parameters
    ----------
    liabilities : (n, n) array_like or scipy.sparse matrix
        ``liabilities[i, j] >= 0`` is what entity ``i`` owes entity ``j``;
        the diagonal must be zero.
    external_assets : (n,) array_like
        ``e_i >= 0``: assets outside the network (cash, loans to the real
        economy, after any shock).
    external_liabilities : (n,) array_like, optional
        Debt owed outside the network, ranking equally (pari passu) with
        interbank debt. Default: none.
    alpha : float in [0, 1], default 1
        Share of its external assets a defaulting entity realises.
    beta : float in [0, 1], default 1
        Share of its interbank receivables a defaulting entity realises.
    tol : float, default 1e-12
        An entity is insolvent when its net worth is below ``-tol * (1 +
        pbar_i)`` and defaulted when ``p_i < pbar_i - tol``; also the stopping
        tolerance of the fallback iteration (see Notes).
    max_iter : int, default 10000
        Cap on fictitious-default rounds and on fallback iterations.

    Returns
    -------
    ClearingResult
        Payments, who defaulted and in which round, equity after clearing.

    Raises
    ------
    ValueError
        On a non-square, negative or non-finite ``liabilities`` or one with a
        non-zero diagonal; negative or non-finite ``external_assets`` or
        ``external_liabilities`` (the message names the index); ``alpha`` or
        ``beta`` outside ``[0, 1]``; ``tol <= 0``; ``max_iter < 1``.

    Notes
    -----
    Obligations are ``pbar_i = sum_j L[i, j] + x_i`` (``x`` the external
    liabilities) and relative liabilities ``Pi[i, j] = L[i, j] / pbar_i``
    (0 if ``pbar_i = 0``); external creditors get ``p_i x_i / pbar_i``. A
    clearing vector is a fixed point of

    ``Phi(p)_i = pbar_i``                        if ``e_i + (Pi^T p)_i >= pbar_i``,
    ``Phi(p)_i = alpha e_i + beta (Pi^T p)_i``   otherwise,

    which for ``alpha = beta = 1`` is Eisenberg-Noe's
    ``min(pbar, e + Pi^T p)``. The Greatest Clearing Vector Algorithm
    (Rogers & Veraart 2013, Def. 3.6, as cited by systemicrisk; Eisenberg & Noe's
    fictitious default algorithm when ``alpha = beta = 1``) starts from
    ``p = pbar`` and in round ``k`` marks every entity with
    ``e_i + (Pi^T p)_i - pbar_i < 0`` as defaulted (set ``D``), then solves

    ``(I - beta Pi_DD^T) p_D = alpha e_D + beta Pi_ND^T pbar_N``,  ``p_N = pbar_N``

    and repeats until no new entity defaults. ``D`` only grows, so there are
    at most ``n`` rounds, and the result is exact up to the linear solves.
    If a block is singular (a closed group of defaulters with nothing
    leaving it, where Eisenberg-Noe's regularity condition fails) the
    greatest solution is taken by monotone iteration of ``Phi`` from the
    current ``p``, which converges from above.

    How it is computed: the sequence may start from any set of entities that
    surely default. The iterates of ``Phi`` from ``pbar`` fall towards the
    greatest clearing vector and stay above it, so whoever is insolvent at an
    iterate defaults in it too. The iteration runs until it is a fixed point
    to machine precision (no payment moves by more than 1e-15 of it: the
    answer), or, when it slows down (within 1e-9 and gaining less than a
    factor 5 a step, or within 1e-4, gaining less than 2 and finding no new
    default), hands its default set to the sequence above: the first
    system is solved for the correction to the iterate, whose residual is
    known and small, then checked against the fixed-point equation, and
    the sequence goes on if it finds new defaults. ``rounds``,
    ``default_order`` and ``default_round`` (the rounds of the sequence from
    the fundamental defaults) are worked out when first read, each round's
    system solved as above, stopping once the final default set is reached.

    Complexity: an iteration is one matrix-vector product, ``O(nnz)``. A
    solve of size ``|D|``: dense input, and default sets of up to 500
    entities, by dense LU, ``O(|D|^3)``; larger blocks of sparse input by
    GMRES (to a residual of 1e-14 of the right-hand side; checked against
    the fixed-point equation; sparse LU if that fails), one masked
    matrix-vector product, ``O(nnz)``, a step. ``O(nnz + n)`` memory, plus
    at most 51 vectors of length ``n`` in a Krylov solve; ``scipy`` is
    imported only for the sparse LU fallback.

    References
    ----------
    .. [1] L. Eisenberg, T. H. Noe, "Systemic risk in financial systems",
       Management Science 47(2):236-249 (2001). doi:10.1287/mnsc.47.2.236.9835
    .. [2] L. C. G. Rogers, L. A. M. Veraart, "Failure and rescue in an
       interbank network", Management Science 59(4):882-898 (2013).
       doi:10.1287/mnsc.1120.1569
    .. [3] A. Gandy, L. A. M. Veraart, systemicrisk (R package), function
       ``default_clearing``.

    Examples
    --------
    The example of ``default_clearing`` in the R package systemicrisk: three
    banks each owing 0.5 to each of the other two, with external debts.

    >>> import numpy as np
    >>> from circfin.risk import clearing_vector
    >>> L = np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    >>> r = clearing_vector(L, [1/2, 5/8, 3/4], external_liabilities=[3/2, 1/2, 1/2])
    >>> r.payments.round(6).tolist()
    [1.473214, 1.419643, 1.5]
    >>> r.defaulted.tolist(), [d.tolist() for d in r.default_order]
    ([True, True, False], [[0], [1]])

    With default costs (Rogers-Veraart) everyone defaults:

    >>> r = clearing_vector(L, [1/2, 5/8, 3/4], external_liabilities=[3/2, 1/2, 1/2],
    ...                     alpha=0.5, beta=0.7)
    >>> r.payments.round(7).tolist()
    [0.50202, 0.5147049, 0.5653806]
    """
    # a copy: the default rounds are worked out later, from the matrix as it was now
    l_in = as_matrix(liabilities, "liabilities")
    n = l_in.shape[0]
    sparse = is_sparse(l_in)
    diag = l_in.diagonal() if sparse else np.diagonal(l_in)
    if np.any(diag != 0):
        i = int(np.flatnonzero(diag != 0)[0])
        raise ValueError(
            f"liabilities[{i}, {i}] must be 0: an entity cannot owe itself"
        )
    e = as_nonneg_vector(external_assets, "external_assets", n)
    x = (
        np.zeros(n)
        if external_liabilities is None
        else as_nonneg_vector(external_liabilities, "external_liabilities", n)
    )
    a = _check_unit(alpha, "alpha")
    b = _check_unit(beta, "beta")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be finite and > 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    max_iter = int(max_iter)

    pbar = _row_sums(l_in) + x
    inv = np.divide(1.0, pbar, out=np.zeros(n), where=pbar > 0)
    lt = l_in.T if sparse else np.ascontiguousarray(l_in.T)  # sparse: a CSC view, no copy
    thresh = -tol * (1.0 + pbar)

    # 1. fixed-point iteration from above: every entity it finds insolvent is in
    #    the greatest clearing vector's default set too (the iterates bound it above)
    q, q_in, fundamental, defaulted, exact = _iterate_from_above(lt, e, pbar, inv, thresh, a, b, max_iter)
    # 2. exact: the fictitious-default sequence, started from that set
    p, inflow = (q, q_in) if exact else (pbar.copy(), None)
    for k in range(max_iter):
        if exact or not defaulted.any():
            break
        if k == 0:  # a correction of the iterate, whose residual is at hand
            p, inflow = _correct(l_in, lt, e, pbar, inv, defaulted, q, q_in, a, b, tol, max_iter)
        else:
            p, inflow = _solve_round(l_in, lt, e, pbar, inv, defaulted, q, a, b, tol, max_iter)
        if inflow is None:
            inflow = _receipts(lt, p, inv)
        new = (e + inflow - pbar < thresh) & ~defaulted
        if not new.any():
            break
        defaulted |= new
        q = p

    really = p < pbar - tol
    if inflow is None:
        inflow = _receipts(lt, p, inv)
    equity = e + inflow - pbar
    ext_paid = p * x * inv
    for arr in (p, really, equity, pbar, ext_paid):
        arr.setflags(write=False)

    def order() -> tuple[list[np.ndarray], np.ndarray]:
        return _default_order(l_in, lt, e, pbar, inv, thresh, fundamental, defaulted, really,
                              a, b, tol, max_iter)

    return ClearingResult(
        payments=p,
        defaulted=really,
        equity=equity,
        obligations=pbar,
        external_payments=ext_paid,
        _order_fn=order,
    )


def _iterate_from_above(
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    thresh: np.ndarray,
    a: float,
    b: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Iterate the clearing map from ``pbar``.

    Returns an iterate ``p`` (above the greatest clearing vector), what each
    entity receives at it, the fundamental defaults (insolvent when everyone
    pays in full), the entities insolvent at ``p`` (all of them default in the
    greatest clearing vector, which is below every iterate, and everyone else
    has paid in full at every iterate so far), and whether ``p`` is a fixed
    point to machine precision (the next iterate moved no payment by more than
    ``_EXACT`` of it). It stops early, for a Krylov correction, once it is
    within ``_LOOSE`` and gains less than a factor ``1 / _SLOW`` a step.
    """
    p = pbar.copy()
    inv_scale = 1.0 / (1.0 + pbar)
    fundamental = np.zeros(pbar.shape, dtype=bool)
    short = thresh + pbar - e  # insolvent: receipts below this
    paid = a * e
    last = np.inf
    exact = False
    n_insolvent = -1
    gap = np.empty_like(pbar)
    for k in range(max_iter):
        inflow = _receipts(lt, p, inv)
        insolvent = inflow < short
        if k == 0:
            fundamental = insolvent
            if not fundamental.any():
                exact = True
                break
        # the iterates fall (up to rounding, far below the tolerance of ``thresh``)
        if b != 1.0:
            inflow_paid = np.multiply(inflow, b, out=gap)
            inflow_paid += paid
        else:
            inflow_paid = np.add(inflow, paid, out=gap)
        new = np.where(insolvent, inflow_paid, pbar)
        np.subtract(p, new, out=gap)
        gap *= inv_scale
        moved = float(gap.max())
        if moved <= _EXACT:
            exact = True
            break
        if moved > _SLOW * last and (moved <= _LOOSE or (
                moved <= _LOOSE_SLOW and moved > _VERY_SLOW * last and n_insolvent == int(insolvent.sum()))):
            break
        last = moved
        n_insolvent = int(insolvent.sum())
        p = new
    return p, inflow, fundamental, insolvent, exact


def _iterate_round(
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    defaulted: np.ndarray,
    p_start: np.ndarray,
    a: float,
    b: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Iterate one round's map (exactly ``defaulted`` default, the rest pay
    ``pbar``) from ``p_start`` above its solution, as :func:`_iterate_from_above`
    does: an iterate, what each entity receives at it, and whether it is a fixed
    point to machine precision (else :func:`_correct` finishes)."""
    p = np.where(defaulted, p_start, pbar)
    scale = 1.0 + pbar
    paid = a * e
    last = np.inf
    inflow = _receipts(lt, p, inv)
    for _ in range(max_iter):
        new = np.where(defaulted, paid + b * inflow, pbar)
        moved = float(np.max((p - new) / scale))
        if moved <= _EXACT:
            return p, inflow, True
        if moved > _SLOW * last and (moved <= _LOOSE or (moved <= _LOOSE_SLOW and moved > _VERY_SLOW * last)):
            break
        last = moved
        p = new
        inflow = _receipts(lt, p, inv)
    return p, inflow, False


def _correct(
    l_in: Any,
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    defaulted: np.ndarray,
    p0: np.ndarray,
    inflow0: np.ndarray,
    a: float,
    b: float,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_solve_round` from an iterate ``p0`` that pays ``pbar`` off ``defaulted``:
    solve ``(I - beta Pi_DD^T) delta = alpha e_D + beta (Pi^T p0)_D - p0_D`` for the
    correction (its right-hand side, the iterate's residual, is already known and
    small, so the Krylov solve needs few steps), and check the result."""
    d = np.flatnonzero(defaulted)
    r0 = a * e[d] + b * inflow0[d] - p0[d]
    sparse = is_sparse(l_in)
    delta: np.ndarray | None = None
    if not sparse or d.size <= _DENSE_BLOCK_MAX:
        m = np.eye(d.size) - b * (_dense_block(l_in, d) * inv[d][:, None]).T
        try:
            delta = np.linalg.solve(m, r0)
        except np.linalg.LinAlgError:
            delta = None
    else:
        scale = float(np.linalg.norm(p0[d] + r0))
        got = _krylov(_masked_operator(lt, inv, defaulted, b), _spread(r0, d, pbar.size), None,
                      atol=1e-14 * scale)
        delta = None if got is None else got[d]
    if delta is not None and np.all(np.isfinite(delta)):
        sol = p0[d] + delta
        inflow = _is_fixed_point(sol, d, lt, e, pbar, inv, defaulted, a, b, tol)
        if inflow is not None:
            clipped = np.clip(sol, 0.0, pbar[d])
            p = pbar.copy()
            p[d] = clipped
            return p, (inflow if np.array_equal(clipped, sol) else None)
    return _solve_round(l_in, lt, e, pbar, inv, defaulted, p0, a, b, tol, max_iter)


def _default_order(
    l_in: Any,
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    thresh: np.ndarray,
    fundamental: np.ndarray,
    final: np.ndarray,
    really: np.ndarray,
    a: float,
    b: float,
    tol: float,
    max_iter: int,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The rounds of the fictitious-default sequence, knowing where it ends.

    Round 1 are the fundamental defaults; round ``k + 1`` the entities that
    are insolvent when exactly rounds ``1..k`` default. The sequence stops as
    soon as it reaches the final default set, so the last solve of the plain
    algorithm (the one that finds nothing new) is not needed.
    """
    n = pbar.shape[0]
    default_round = np.full(n, -1, dtype=np.int64)
    order: list[np.ndarray] = []
    defaulted = fundamental.copy()
    if defaulted.any():
        order.append(np.flatnonzero(defaulted))
        default_round[defaulted] = 1
    p = pbar.copy()
    for k in range(2, max_iter + 2):
        if not defaulted.any() or not (final & ~defaulted).any():
            break
        q, q_in, exact = _iterate_round(lt, e, pbar, inv, defaulted, p, a, b, max_iter)
        inflow: np.ndarray | None
        if exact:
            p, inflow = q, q_in
        else:
            p, inflow = _correct(l_in, lt, e, pbar, inv, defaulted, q, q_in, a, b, tol, max_iter)
        if inflow is None:
            inflow = _receipts(lt, p, inv)
        new = (e + inflow - pbar < thresh) & ~defaulted
        if not new.any():
            break
        defaulted |= new
        default_round[new] = k
        order.append(np.flatnonzero(new))
    default_round[~really] = -1
    late = really & (default_round < 0)  # ties at the tolerance: the last round
    if late.any():
        if not order:
            order.append(np.zeros(0, dtype=np.int64))
        default_round[late] = len(order)
        order[-1] = np.union1d(order[-1], np.flatnonzero(late))
    order = [d[really[d]] for d in order]
    order = [d for d in order if d.size]
    for k, d in enumerate(order, start=1):
        default_round[d] = k
    default_round.setflags(write=False)
    return order, default_round


def _solve_round(
    l_in: Any,
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    defaulted: np.ndarray,
    p_prev: np.ndarray,
    a: float,
    b: float,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Payments when exactly ``defaulted`` default and everyone else pays in full,
    and what each entity receives at them (None when not at hand)."""
    d = np.flatnonzero(defaulted)
    solvent = (~defaulted).astype(np.float64)
    # Pi_ND^T pbar_N: what solvent debtors pay each defaulter, i.e. L^T 1_N.
    from_solvent = np.asarray(lt @ solvent, dtype=np.float64).ravel()[d]
    rhs = a * e[d] + b * from_solvent
    sparse = is_sparse(l_in)
    p = pbar.copy()
    sol: np.ndarray | None = None
    checked: np.ndarray | None = None
    if not sparse or d.size <= _DENSE_BLOCK_MAX:
        m = np.eye(d.size) - b * (_dense_block(l_in, d) * inv[d][:, None]).T
        try:
            sol = np.linalg.solve(m, rhs)
        except np.linalg.LinAlgError:
            sol = None
    else:
        # GMRES on the whole vector with the block picked out by a mask: no
        # sub-matrix is built (the solvent entries stay 0 in every Krylov vector)
        sol = _krylov(_masked_operator(lt, inv, defaulted, b), _spread(rhs, d, pbar.size),
                      _spread(p_prev[d], d, pbar.size))
        if sol is not None:
            sol = sol[d]
        if sol is not None and bool(np.all(np.isfinite(sol))):
            checked = _is_fixed_point(sol, d, lt, e, pbar, inv, defaulted, a, b, tol)
        if checked is None:
            import scipy.sparse as sp

            scaled = sp.diags(inv[d]) @ l_in[d][:, d]
            sol = _sparse_lu((sp.identity(d.size, format="csr") - b * scaled.T).tocsr(), rhs)
    if sol is not None and checked is None and np.all(np.isfinite(sol)):
        checked = _is_fixed_point(sol, d, lt, e, pbar, inv, defaulted, a, b, tol)
    if sol is not None and checked is not None:
        clipped = np.clip(sol, 0.0, pbar[d])
        p[d] = clipped
        return p, (checked if np.array_equal(clipped, sol) else None)
    return _iterate_down(lt, e, pbar, inv, defaulted, p_prev, a, b, tol, max_iter), None


def _dense_block(l_in: Any, d: np.ndarray) -> np.ndarray:
    """``L[d][:, d]`` as a dense array (for sparse input read off its CSR rows, which
    is much quicker than scipy's fancy indexing for a few rows)."""
    if not is_sparse(l_in):
        return np.asarray(l_in[np.ix_(d, d)])
    pos = np.full(l_in.shape[0], -1, dtype=np.int64)
    pos[d] = np.arange(d.size)
    starts, ends = l_in.indptr[d], l_in.indptr[d + 1]
    counts = ends - starts
    take = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    rows = np.repeat(np.arange(d.size), counts)
    cols = pos[l_in.indices[take]]
    keep = cols >= 0
    out = np.zeros((d.size, d.size))
    np.add.at(out, (rows[keep], cols[keep]), l_in.data[take][keep])
    return out


def _spread(v: np.ndarray, d: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[d] = v
    return out


def _masked_operator(lt: Any, inv: np.ndarray, defaulted: np.ndarray, b: float,
                     ) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> v - beta 1_D (L^T (v / pbar))``: ``I - beta Pi_DD^T`` on vectors that are 0 off ``D``."""
    w = np.where(defaulted, inv, 0.0)
    keep = defaulted.astype(np.float64) * b

    def matvec(v: np.ndarray) -> np.ndarray:
        return np.asarray(v - keep * (lt @ (w * v)), dtype=np.float64)

    return matvec


def _krylov(matvec: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray, x0: np.ndarray | None,
            atol: float = 0.0) -> np.ndarray | None:
    """GMRES to ~machine precision (a residual of 1e-14 times ``rhs``, or ``atol``
    when given), warm-started; None if it does not converge.

    For random sparse networks the LU of a default block fills in badly,
    while ``I - beta Pi_DD^T`` is well conditioned (its spectral radius part
    is below 1 whenever money leaves the block), so a Krylov solve takes
    milliseconds where a sparse LU takes seconds. Written out (Arnoldi with
    classical Gram-Schmidt done twice, Givens rotations; restarted every 50
    steps, at most 4 times) because the solves here take a handful of steps,
    where a library call's set-up costs as much as the steps.
    """
    target = atol if atol > 0 else 1e-14 * float(np.linalg.norm(rhs))
    x = np.zeros_like(rhs) if x0 is None else np.array(x0, dtype=np.float64)
    for _ in range(4):
        r = rhs - matvec(x) if x.any() else rhs.copy()
        beta = float(np.linalg.norm(r))
        if not np.isfinite(beta):
            return None
        if beta <= target:
            return x
        step, done = _gmres_cycle(matvec, r, beta, target, 50)
        x = np.asarray(x + step, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            return None
        if done:  # the cycle's own residual estimate; callers check the answer themselves
            return x
    return None


def _gmres_cycle(matvec: Callable[[np.ndarray], np.ndarray], r: np.ndarray, beta: float,
                 target: float, m: int) -> tuple[np.ndarray, bool]:
    """One GMRES cycle of at most ``m`` steps from residual ``r``: the correction, and
    whether its residual reached ``target``."""
    basis = np.empty((m + 1, r.size))
    basis[0] = r / beta
    h = np.zeros((m + 1, m))
    cs, sn = np.zeros(m), np.zeros(m)
    g = np.zeros(m + 1)
    g[0] = beta
    k = 0  # steps taken into the solution
    done = False
    for j in range(m):
        w = matvec(basis[j])
        v = basis[: j + 1]
        c1 = v @ w
        w -= c1 @ v
        c2 = v @ w  # the second pass keeps the basis orthogonal
        w -= c2 @ v
        h[: j + 1, j] = c1 + c2
        norm = float(np.sqrt(w @ w))
        h[j + 1, j] = norm
        for i in range(j):
            hi, hk = h[i, j], h[i + 1, j]
            h[i, j], h[i + 1, j] = cs[i] * hi + sn[i] * hk, -sn[i] * hi + cs[i] * hk
        den = float(np.hypot(h[j, j], h[j + 1, j]))
        if den == 0.0:  # singular: stop with the steps so far
            break
        cs[j], sn[j] = h[j, j] / den, h[j + 1, j] / den
        h[j, j], h[j + 1, j] = den, 0.0
        g[j + 1], g[j] = -sn[j] * g[j], cs[j] * g[j]
        k = j + 1
        if abs(g[j + 1]) <= target or norm == 0.0:
            done = True
            break
        basis[j + 1] = w / norm
    if not k:
        return np.zeros_like(r), False
    y = np.linalg.solve(np.triu(h[:k, :k]), g[:k])
    return np.asarray(y @ basis[:k], dtype=np.float64), done


def _sparse_lu(m: Any, rhs: np.ndarray) -> np.ndarray | None:
    from scipy.sparse.linalg import spsolve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return np.asarray(spsolve(m.tocsc(), rhs), dtype=np.float64)
        except RuntimeError:
            return None


def _is_fixed_point(
    sol: np.ndarray,
    d: np.ndarray,
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    defaulted: np.ndarray,
    a: float,
    b: float,
    tol: float,
) -> np.ndarray | None:
    """Guard against a solver returning garbage for a near-singular block: what
    each entity receives at the payments, or None if they are no solution."""
    p = np.where(defaulted, 0.0, pbar)
    p[d] = sol
    inflow = _receipts(lt, p, inv)
    got = a * e[d] + b * inflow[d]
    scale = 1.0 + np.abs(pbar[d])
    ok = bool(np.all(np.abs(got - sol) <= 1e-8 * scale)) and bool(np.all(sol >= -1e-8 * scale))
    return inflow if ok else None


def _iterate_down(
    lt: Any,
    e: np.ndarray,
    pbar: np.ndarray,
    inv: np.ndarray,
    defaulted: np.ndarray,
    p_start: np.ndarray,
    a: float,
    b: float,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Greatest solution for the defaulted block by monotone iteration from above."""
    p = p_start.copy()
    for _ in range(max_iter):
        new: np.ndarray = np.where(defaulted, a * e + b * _receipts(lt, p, inv), pbar)
        new = np.minimum(
            new, p
        )  # the sequence is non-increasing; keep it so under rounding
        if np.max(np.abs(new - p), initial=0.0) <= tol:
            return new
        p = new
    return p
