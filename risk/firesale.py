"""Fire sales of leverage-targeting holders of common assets (Greenwood, Landier & Thesmar 2015).

When a holder loses money on its assets and wants its leverage back where it
was, it sells assets. Selling moves prices, and everyone else who holds the
same assets loses too: a loss on one asset travels to holders who never
owned it through the assets they share with the sellers. This module is the
linear model of "Vulnerable banks" on numpy arrays (dense or scipy.sparse
holdings), with its three measures: aggregate vulnerability, each holder's
indirect vulnerability and each holder's systemicness.
"""

from __future__ import annotations

__all__ = ["FireSaleResult", "fire_sale"]

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import as_nonneg_vector, as_positive_vector, as_unit_vector, is_sparse

# Holdings may exceed total assets by this relative rounding (figures summed from filings).
_SUM_RTOL = 1e-9


@dataclass(frozen=True)
class FireSaleResult:
    """The outcome of one :func:`fire_sale` run (every array read-only).

    Attributes
    ----------
    first_round_loss : ndarray, shape (N,)
        ``l1``: each holder's dollar loss from the shock itself.
    sales : ndarray, shape (K,)
        Dollars of each asset sold, summed over the rounds (forced sales included).
    price_fall : ndarray, shape (K,)
        Fraction of each asset's price lost to the sales, summed over the rounds.
        The model is linear: with very large sales it can exceed 1 (the model's
        regime is small price moves; read such a result as "wiped out").
    second_round_loss : ndarray, shape (N,)
        Each holder's dollar loss from the price falls, ``l2 + ... + l_{r+1}``.
    aggregate_vulnerability : float
        ``second_round_loss.sum() / equity.sum()``: the share of all holders'
        equity lost to the fire sales.
    indirect_vulnerability : ndarray, shape (N,)
        ``second_round_loss / equity``: the share of its own equity each holder
        loses to everyone's sales.
    systemicness : ndarray, shape (N,)
        The part of ``aggregate_vulnerability`` caused directly by each holder's
        own sales. Without forced sales these add up to the aggregate
        vulnerability; with them, ``systemicness.sum() + forced_vulnerability``
        does.
    forced_vulnerability : float
        The part of ``aggregate_vulnerability`` caused directly by the forced
        sales (0 without them).
    losses_by_round : ndarray, shape (rounds + 1, N)
        ``losses_by_round[t - 1]`` is ``l_t``: row 0 the shock's loss, row t the
        loss from the price fall of the t-th round of sales.
    rounds : int
        Rounds of sales run.
    """

    first_round_loss: np.ndarray
    sales: np.ndarray
    price_fall: np.ndarray
    second_round_loss: np.ndarray
    aggregate_vulnerability: float
    indirect_vulnerability: np.ndarray
    systemicness: np.ndarray
    forced_vulnerability: float
    losses_by_round: np.ndarray = field(repr=False)
    rounds: int = 1


def _holdings(x: Any) -> tuple[Any, tuple[int, int]]:
    """Holdings as a float ndarray or CSR matrix, checked: 2-D, finite, non-negative."""
    if is_sparse(x):
        h = x.tocsr().astype(np.float64)
        data = h.data
    else:
        h = np.asarray(x, dtype=np.float64)
        data = h
    if len(h.shape) != 2:
        raise ValueError(f"holdings must be a 2-D (holders x assets) matrix, got shape {h.shape}")
    if data.size:
        if not np.all(np.isfinite(data)):
            raise ValueError("holdings must be finite (no NaN or inf)")
        if np.any(data < 0):
            if is_sparse(h):
                k = int(np.flatnonzero(data < 0)[0])
                row = int(np.searchsorted(h.indptr, k, side="right") - 1)
                where = (row, int(h.indices[k]))
            else:
                bad = np.argwhere(data < 0)[0]
                where = (int(bad[0]), int(bad[1]))
            raise ValueError(f"holdings must be non-negative; holdings[{where[0]}, {where[1]}] < 0")
    n, k = h.shape
    return h, (int(n), int(k))


def fire_sale(
    holdings: Any,
    total_assets: Any,
    leverage: Any,
    equity: Any,
    shock: Any,
    *,
    price_impact: Any,
    forced_sales: Any = None,
    rounds: int = 1,
) -> FireSaleResult:
    """Losses from a shock to asset prices and from the fire sales it sets off.

    Parameters
    ----------
    holdings : (N, K) array_like or scipy.sparse matrix
        ``holdings[n, k] >= 0``: dollars of asset ``k`` held by holder ``n``.
    total_assets : (N,) array_like
        Each holder's total assets, ``> 0`` and at least the sum of its
        holdings. The remainder is other assets, hit by no shock, never sold
        and moving no price.
    leverage : (N,) array_like or float
        Debt over equity, ``>= 0``, the ratio each holder targets.
    equity : (N,) array_like
        Each holder's equity, ``> 0``: the denominator of the vulnerabilities.
    shock : (K,) array_like or float
        Fraction of each asset's value lost to the shock, in ``[0, 1]``.
    price_impact : (K,) array_like or float
        ``>= 0``: fraction of its price an asset loses per dollar sold (one
        over the market depth in dollars).
    forced_sales : (K,) array_like or float, optional
        Dollars of each asset sold in the first round whatever leverage says
        (e.g. a stablecoin issuer meeting redemptions from its reserves),
        ``>= 0``.
    rounds : int, default 1
        Rounds of sales, ``>= 1``.

    Returns
    -------
    FireSaleResult

    Raises
    ------
    ValueError
        On holdings that are not a 2-D matrix, negative or non-finite; a holder
        whose holdings add up to more than its ``total_assets``; a vector
        whose shape matches neither holders nor assets; non-finite numbers;
        ``total_assets`` or ``equity`` ``<= 0``; negative ``leverage``,
        ``price_impact`` or ``forced_sales``; a ``shock`` outside ``[0, 1]``;
        ``rounds`` not a whole number ``>= 1``.

    Notes
    -----
    With ``a`` the total assets, ``M = holdings / a[:, None]`` each holder's
    portfolio weights, ``b`` the leverage, ``F`` the shock, ``L`` the price
    impact and ``E = equity.sum()`` (``A``, ``B``, ``L`` the diagonal
    matrices of ``a``, ``b``, ``L``):

    * first-round loss ``l1 = a * (M @ F)``, i.e. ``A M F``;
    * a holder that targets its leverage sells ``phi = b * l1`` dollars of
      assets, spread over its holdings by its weights: the sales of asset
      ``k`` are ``s = M.T @ phi (+ forced_sales)``, i.e. ``M' B A M F``;
    * prices fall by ``p = L * s``, i.e. ``L M' B A M F``;
    * second-round loss ``l2 = a * (M @ p)``, i.e. ``A M L M' B A M F``.

    Hence the closed forms of Greenwood, Landier & Thesmar (2015) (without
    forced sales and with one round):

    * aggregate vulnerability ``AV = 1' A M L M' B A M F / E``;
    * indirect vulnerability of ``n``: ``IV_n = d_n' A M L M' B A M F / e_n``;
    * systemicness of ``n``: ``S_n = 1' A M L M' d_n d_n' B A M F / E``,
      the losses caused by ``n``'s own sales (``d_n`` the ``n``-th unit
      vector), so that ``sum_n S_n = AV``.

    Rounds (an extension of the paper's one round, kept linear: ``a``, ``M``
    and ``b`` stay fixed): the loss ``l_t`` sets off sales ``phi_t = b * l_t``
    whose price fall gives ``l_{t+1}``, for ``t = 1 .. rounds``; the forced
    sales come in the first round only. ``sales`` and ``price_fall`` are
    summed over the rounds, ``second_round_loss = l2 + ... + l_{r+1}`` and
    both vulnerabilities use it. Systemicness counts the losses each holder's
    sales cause directly, in every round: with ``w = L * holdings.sum(0)``
    (everyone's loss per dollar of each asset sold),
    ``S_n = (M_n . w) * sum_t phi_t[n] / E``, and
    ``sum_n S_n + (w . forced_sales) / E = AV`` exactly. With one round this is
    the paper's ``S_n``.

    The model never needs ``M`` itself: ``l1 = holdings @ F``,
    ``s = holdings.T @ (phi / a)`` and ``l2 = holdings @ p``, so a sparse
    ``holdings`` stays sparse. Time ``O(rounds * nnz(holdings))``, memory
    ``O(N + K)`` beyond the input (dense input is not copied when it is
    already float64).

    References
    ----------
    .. [1] R. Greenwood, A. Landier, D. Thesmar, "Vulnerable banks", Journal
       of Financial Economics 115(3):471-485 (2015); NBER Working Paper 18537
       (2012), doi:10.3386/w18537. AV, IV_n and S_n as the paper defines
       them, in the notation above.
    .. [2] D. Di Gangi, F. Lillo, D. Pirino, "Assessing systemic risk due to
       fire sales spillover through maximum entropy network reconstruction",
       arXiv:1509.00607 (2015), which uses the same three measures.

    Examples
    --------
    Two banks of $100 with 10x leverage (equity $9.09 each); bank 0 holds $50
    of asset 0, bank 1 $50 of asset 0 and $50 of asset 1. Asset 1 loses 10 %:
    bank 1 loses $5, sells $50 (half of each asset), and at a price impact of
    0.1 % per dollar both prices fall 2.5 %: bank 0 loses $1.25, bank 1 $2.50.

    >>> from circfin.risk import fire_sale
    >>> r = fire_sale([[50.0, 0.0], [50.0, 50.0]], [100.0, 100.0], 10.0,
    ...               [100 / 11, 100 / 11], [0.0, 0.1], price_impact=0.001)
    >>> r.first_round_loss.tolist(), r.sales.tolist(), r.price_fall.tolist()
    ([0.0, 5.0], [25.0, 25.0], [0.025, 0.025])
    >>> r.second_round_loss.tolist()
    [1.25, 2.5]
    >>> round(r.aggregate_vulnerability, 6), r.systemicness.round(6).tolist()
    (0.20625, [0.0, 0.20625])
    """
    whole = (isinstance(rounds, (int, float, np.integer, np.floating)) and not isinstance(rounds, bool)
             and math.isfinite(rounds) and int(rounds) == rounds)
    if not whole or rounds < 1:
        raise ValueError(f"rounds must be a whole number >= 1, got {rounds!r}")
    r = int(rounds)
    h, (n, k) = _holdings(holdings)
    a = as_positive_vector(total_assets, "total_assets", n)
    b = as_nonneg_vector(leverage, "leverage", n)
    e = as_positive_vector(equity, "equity", n)
    f = as_unit_vector(shock, "shock", k)
    lam = as_nonneg_vector(price_impact, "price_impact", k)
    forced = np.zeros(k) if forced_sales is None else as_nonneg_vector(forced_sales, "forced_sales", k)

    held = np.asarray(h.sum(axis=1)).ravel()  # each holder's holdings (dense or sparse)
    over = held > a * (1.0 + _SUM_RTOL)
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ValueError(f"holdings of holder {i} add up to {float(held[i])!r}, more than its "
                         f"total_assets {float(a[i])!r}")

    ht = h.T  # CSC view for sparse, a strided view for dense: no copy
    per_asset = np.asarray(ht @ np.ones(n)).ravel()  # dollars of each asset held by everyone
    w = lam * per_asset  # everyone's loss per dollar of each asset sold
    exposure = np.asarray(h @ w).ravel() / a  # M_n . w: the losses one dollar of n's sales causes

    losses = np.empty((r + 1, n))
    loss = np.asarray(h @ f).ravel()  # l1 = A M F
    losses[0] = loss
    sales = np.zeros(k)
    price_fall = np.zeros(k)
    sold_by = np.zeros(n)  # sum over the rounds of phi_t
    for t in range(r):
        phi = b * loss
        sold_by += phi
        s = np.asarray(ht @ (phi / a)).ravel()  # M' phi
        if t == 0:
            s = s + forced
        p = lam * s
        sales += s
        price_fall += p
        loss = np.asarray(h @ p).ravel()  # l_{t+1} = A M p
        losses[t + 1] = loss

    l2 = losses[1:].sum(axis=0)
    total_e = float(e.sum()) or 1.0  # no holders: nothing to divide
    out = {
        "first_round_loss": losses[0].copy(),
        "sales": sales,
        "price_fall": price_fall,
        "second_round_loss": l2,
        "indirect_vulnerability": l2 / e,
        "systemicness": exposure * sold_by / total_e,
        "losses_by_round": losses,
    }
    for arr in out.values():
        arr.setflags(write=False)
    return FireSaleResult(
        **out,
        aggregate_vulnerability=float(l2.sum()) / total_e,
        forced_vulnerability=float(w @ forced) / total_e,
        rounds=r,
    )
