"""How much of the money in the web goes round: Finn's cycling index.

:func:`finn_cycling_index` is Finn's cycling index (Finn 1980) of a flow
matrix, as NetIndices' ``PathInd`` and enaR's ``enaFlow`` compute it;
:func:`circularity` builds the entity-level flow matrix of a snapshot's deals
and returns the web's index with each entity's return share.

The index, for ``flows[i, j]`` the money flowing from i to j:

- each node's throughflow ``T_i`` is its total inflow (internal plus imports),
  which equals its total outflow (internal plus exports); without imports and
  exports, ``T_i = max(inflow_i, outflow_i)`` and the difference is the flow
  across the boundary (money from or to outside the web);
- ``P = flows / T`` (row i divided by ``T_i``) is where a dollar leaving i goes,
  and ``N = (I - P)^-1`` counts the visits of a dollar along chains of every
  length; node i's *cycling*, ``1 - 1/N_ii``, is the share of a dollar passing
  through i that comes back to i;
- cycled throughflow ``TSTc = sum_i (1 - 1/N_ii) T_i`` and
  ``FCI = TSTc / sum_i T_i``.

A dollar can only come back through its own strongly connected component, so
``N_ii`` is the diagonal of the inverse of ``I - P`` restricted to i's
component: small components are inverted densely; in a large one the nodes of
few neighbours are eliminated first (compiled by numba), the rest factorised
densely, and only the entries of the inverse the way back needs are computed
(see :func:`_sparse_returns`). A node outside every
cycle (including a self-loop) has cycling 0. A *closed* component, one no money
enters or leaves (a balanced circulation such as A pays B 1 and B pays A 1 and
nothing else), has ``I - P`` singular: every dollar comes back forever, so its
nodes' cycling is 1 (NetIndices' generalised inverse gives no meaningful value
there).

References: Finn, J. T. (1980). Flow analysis of models of the Hubbard Brook
ecosystem. Ecology 61: 562-571. Soetaert K., Kones J. K., van Oevelen D.,
NetIndices (R package), ``PathInd``. Borrett S. R., Lau M. K., enaR (R
package), ``enaFlow``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..display import plain_number
from ..graph.components import strong_components
from ..graph.model import DEAL_STATUSES, is_frame
from ..jit import blas_threads_for, usable_cpus
from .snapshot import SnapshotLike

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["BALANCE_RTOL", "DEFAULT_STATUSES", "UNDISCLOSED_MODES", "Circularity", "Cycling",
           "circularity", "finn_cycling_index"]

# Cancelled deals no longer move money (as loops.from_store.DEFAULT_STATUSES).
DEFAULT_STATUSES: tuple[str, ...] = tuple(s for s in DEAL_STATUSES if s != "cancelled")
UNDISCLOSED_MODES: tuple[str, ...] = ("skip", "impute")
# With imports and exports, a node's inflow and outflow may differ by this share
# of the larger (published models print 4-5 significant digits) before it is an error.
BALANCE_RTOL = 1e-3
# Components up to this many nodes are inverted densely; larger ones by elimination (_sparse_returns).
# A flow matrix of at most this many nodes, given dense, is also worked on densely
# throughout: scipy is then never loaded (its import costs more than the seed's sums).
_DENSE_MAX = 1500
# Eliminate nodes with at most this many neighbours before inverting the rest densely.
_ELIM_DEGREE = 64
# Components of at least this many nodes (past _DENSE_MAX) run the elimination compiled by numba.
_JIT_MIN = 400
# The entries of the core's inverse are computed on up to this many threads, one per
# this many entries at least (a thread costs more than a few dot products).
_VALUE_THREADS = 8
_VALUE_MIN_KEYS = 50_000
_usable_cpus = usable_cpus  # the CPUs this process may run on (a name tests can replace)
_CLOSED_LEAK = 1e-12  # a component whose every node leaks less than this share is closed


@dataclass(frozen=True)
class Cycling:
    """Finn's cycling index of a flow matrix (see :func:`finn_cycling_index`).

    ``fci``: cycled over total throughflow (0..1); ``cycled``: ``TSTc``;
    ``total``: ``TST``, the sum of throughflows; ``node_cycling``: per node,
    ``1 - 1/N_ii`` (0 where the throughflow is 0); ``throughflow``: ``T_i``.
    """

    fci: float
    cycled: float
    total: float
    node_cycling: np.ndarray = field(repr=False)
    throughflow: np.ndarray = field(repr=False)


def finn_cycling_index(flows: Any, *, imports: Any = None, exports: Any = None) -> Cycling:
    """Finn's cycling index of ``flows`` (``flows[i, j]``: money from i to j).

    ``flows``: a square dense array or scipy.sparse matrix of finite amounts
    >= 0. ``imports`` and ``exports`` (both or neither): per node, flow in from
    and out to outside; with them, ``T_i`` is node i's inflow, and a node whose
    inflow and outflow differ by more than :data:`BALANCE_RTOL` of the larger
    raises ValueError. Without them, ``T_i = max(inflow_i, outflow_i)``.

    >>> c = finn_cycling_index([[0, 2], [1, 0]], imports=[1, 0], exports=[0, 1])
    >>> round(c.fci, 6), c.node_cycling.round(6).tolist(), c.throughflow.tolist()
    (0.5, [0.5, 0.5], [2.0, 2.0])
    >>> finn_cycling_index([[0, 5], [0, 0]]).fci
    0.0
    """
    F = _as_flows(flows)  # a dense array (small and given dense) or CSR
    n = F.shape[0]
    out_int = np.asarray(F.sum(axis=1)).ravel()
    in_int = np.asarray(F.sum(axis=0)).ravel()
    if (imports is None) != (exports is None):
        raise ValueError("give both imports and exports, or neither (then T_i = max(inflow, outflow))")
    if imports is None:
        T = np.maximum(in_int, out_int)
    else:
        z, y = _vector(imports, n, "imports"), _vector(exports, n, "exports")
        inflow, outflow = in_int + z, out_int + y
        gap = np.abs(inflow - outflow)
        bad = np.flatnonzero(gap > BALANCE_RTOL * np.maximum(inflow, outflow))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"flows are not balanced: node {i} takes in {inflow[i]:g} (internal plus imports) "
                f"but sends out {outflow[i]:g} (internal plus exports)"
                + (f", and {bad.size - 1} more node{'s' if bad.size > 2 else ''}" if bad.size > 1 else "")
                + f"; they may differ by at most {BALANCE_RTOL:g} of the larger, or leave out "
                  "imports and exports to take T_i = max(inflow, outflow)")
        T = inflow
    cycling = np.zeros(n)
    for idx in _cyclic_components(F):
        cycling[idx] = _component_cycling(F, idx, T[idx])
    total = float(T.sum())
    cycled = float(np.dot(cycling, T))
    return Cycling(fci=cycled / total if total > 0 else 0.0, cycled=cycled, total=total,
                   node_cycling=cycling, throughflow=T)


def _is_sparse(flows: Any) -> bool:
    return hasattr(flows, "tocsr")  # every scipy.sparse matrix and array has it


def _as_flows(flows: Any) -> np.ndarray | sp.csr_matrix:
    """``flows`` checked: a dense float array when given dense with at most
    :data:`_DENSE_MAX` nodes, else CSR (:func:`_as_csr`)."""
    if _is_sparse(flows):
        return _as_csr(flows)
    arr = np.array(flows, dtype=np.float64)  # a copy: the caller's array stays as it is
    if arr.ndim != 2:
        raise ValueError(f"flows must be a square matrix, not of shape {arr.shape}")
    if arr.shape[0] > _DENSE_MAX:
        return _as_csr(arr)
    _check_flows(arr.shape, arr)
    return arr


def _as_csr(flows: Any) -> sp.csr_matrix:
    import scipy.sparse as sp

    if sp.issparse(flows):
        F = sp.csr_matrix(flows, dtype=np.float64, copy=True)  # a copy: the caller's matrix stays as it is
    else:
        arr = np.asarray(flows, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"flows must be a square matrix, not of shape {arr.shape}")
        F = sp.csr_matrix(arr)
    F.sum_duplicates()
    _check_flows(F.shape, F.data)
    F.eliminate_zeros()
    return F


def _check_flows(shape: tuple[int, ...], values: np.ndarray) -> None:
    """A flow matrix of ``shape`` holding ``values`` is square, finite and >= 0."""
    if shape[0] != shape[1]:
        raise ValueError(f"flows must be a square matrix, not of shape {shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("flows must be finite numbers")
    if np.any(values < 0):
        raise ValueError("flows must be >= 0 (flows[i, j] is the money from i to j)")


def _vector(values: Any, n: int, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.shape != (n,):
        raise ValueError(f"{what} must have one value per node ({n}), not {v.size}")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"{what} must be finite numbers >= 0")
    return v


def _cyclic_components(F: np.ndarray | sp.csr_matrix) -> list[np.ndarray]:
    """The node indices of each strongly connected component that holds a cycle:
    two or more nodes, or one with a self-loop."""
    n = F.shape[0]
    if isinstance(F, np.ndarray):
        rows, cols = np.nonzero(F)
    else:
        coo = F.tocoo()  # zeros were eliminated: every entry is money that flows
        rows, cols = coo.row, coo.col
    if n == 0 or rows.size == 0:
        return []
    labels = strong_components(n, rows, cols)
    sizes = np.bincount(labels)
    self_loop = np.zeros(sizes.size, dtype=bool)
    d = F.diagonal()
    self_loop[labels[d > 0]] = True
    cyclic = (sizes > 1) | self_loop
    if not cyclic.any():
        return []
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    return [order[bounds[c]:bounds[c + 1]] for c in np.flatnonzero(cyclic)]


def _component_cycling(F: np.ndarray | sp.csr_matrix, idx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``1 - 1/N_ii`` for the nodes ``idx`` of one strongly connected component."""
    # Every node of a cyclic component has an edge out inside it, so T > 0 here.
    if _is_sparse(F):
        import scipy.sparse as sp

        P = sp.diags(1.0 / T) @ F[idx][:, idx].tocsr()
    else:
        P = F[np.ix_(idx, idx)] * (1.0 / T)[:, None]
    leak = 1.0 - np.asarray(P.sum(axis=1)).ravel()  # the share of each node's flow that leaves
    if np.all(leak <= _CLOSED_LEAK):
        return np.ones(idx.size)  # closed: no dollar ever leaves, each comes back
    m = idx.size
    # 1 - 1/N_ii as (P N)_ii / N_ii (N - I = P N): exact where a return is rare, which
    # 1 - 1/N_ii, with N_ii rounded to 1, is not.
    if m <= _DENSE_MAX:
        Pd = P.toarray() if _is_sparse(P) else P
        with blas_threads_for(m):
            N = np.linalg.inv(np.eye(m) - Pd)
        ret, diag = np.einsum("ij,ji->i", Pd, N), np.diag(N)
    else:
        ret, diag = _sparse_returns(P.tocsr())
    out: np.ndarray = np.clip(ret / diag, 0.0, 1.0)
    return out


def _sparse_returns(P: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(P N)_ii`` and ``N_ii`` for ``N = (I - P)^-1``, ``P`` one large component.

    Exact, by Gaussian elimination in three steps (the kernels of :mod:`._finn`).
    (1) Nodes of few neighbours are eliminated one by one, fewest first (minimum
    degree), into the Schur complement of the rest, while a node has at most
    :data:`_ELIM_DEGREE` neighbours; the neighbours of an eliminated node become
    neighbours of each other, so the pattern stays symmetric. (2) What is left, the
    core, is factorised densely, and N is computed on the core only where step 3
    reads it (:func:`_core_entries`). (3) Going back through the eliminated nodes,
    last first, each node's row and column of N on its neighbours follow from N on
    its neighbours, which are already known (selected inversion, Takahashi et al.
    1973). ``I - P`` is an M-matrix, so elimination needs
    no pivoting and every quantity adds numbers of one sign. A sparse LU of the whole
    component fills in far more on scale-free webs (their hubs join everything).
    Components of :data:`_JIT_MIN` nodes or more run the kernels compiled by numba."""
    from . import _finn

    m = P.shape[0]
    K = _finn.compiled() if m >= _JIT_MIN else _finn.plain()
    rows, cols, pv, off, ptr, idx = _pattern(P)
    order, sptr, sidx = K._min_degree(m, ptr, idx, _degree_limit(m))
    rank, core, cpos = _core_places(order, m)
    a_rows, a_cols, a_vals = _entries(rows, cols, pv, off, m)
    u, low = np.zeros(sidx.size), np.zeros(sidx.size)
    piv = np.zeros(order.size)
    A = np.zeros((core.size, core.size))
    K._eliminate(a_rows, a_cols, a_vals, rank, cpos, sptr, sidx, u, low, piv, A)
    Zc = _core_entries(A, K._core_keys(rows, cols, cpos, sptr, sidx), m, K)
    diag, ret = np.empty(m), np.zeros(m)
    K._select(rows, cols, pv, rank, cpos, sptr, sidx, u, low, piv, Zc, diag, ret)
    return ret, diag


def _pattern(P: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """The entries of ``P`` (``rows, cols, values`` as int64/float64, ``off`` marking those
    off the diagonal) and the symmetric pattern of ``I - P`` without its diagonal, as CSR
    ``indptr, indices`` (int64): what the minimum-degree order reads."""
    import scipy.sparse as sp

    m = P.shape[0]
    C = P.tocoo()
    rows, cols, pv = C.row.astype(np.int64), C.col.astype(np.int64), C.data.astype(np.float64)
    off = rows != cols
    G = sp.csr_matrix((np.ones(2 * int(off.sum())), (np.concatenate([rows[off], cols[off]]),
                                                     np.concatenate([cols[off], rows[off]]))),
                      shape=(m, m))
    G.sum_duplicates()
    return rows, cols, pv, off, G.indptr.astype(np.int64), G.indices.astype(np.int64)


def _degree_limit(m: int) -> int:
    """The most neighbours a node of an m-node component may have to be eliminated."""
    return min(max(0, int(_ELIM_DEGREE)), m)


def _core_places(order: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each node's rank in the elimination ``order`` (m for the core), the core's
    nodes, and each node's place in the core (-1 for an eliminated one)."""
    rank = np.full(m, m, dtype=np.int64)
    rank[order] = np.arange(order.size)
    core = np.flatnonzero(rank == m)
    cpos = np.full(m, -1, dtype=np.int64)
    cpos[core] = np.arange(core.size)
    return rank, core, cpos


def _entries(rows: np.ndarray, cols: np.ndarray, pv: np.ndarray, off: np.ndarray,
             m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of ``A = I - P``: -P off the diagonal, 1 - P_ii on it (every node)."""
    d = np.ones(m)
    np.add.at(d, rows[~off], -pv[~off])
    return (np.concatenate([rows[off], np.arange(m, dtype=np.int64)]),
            np.concatenate([cols[off], np.arange(m, dtype=np.int64)]),
            np.concatenate([-pv[off], d]))


def _core_entries(A: np.ndarray, keys: np.ndarray, m: int, K: Any) -> np.ndarray:
    """``N = A^-1`` on the entries ``keys`` (``q * m + p`` for ``N_pq``, p and q places
    in the core, m the component's nodes; see ``_finn._core_keys``), as a matrix of
    A's shape that holds them (its other entries mean nothing). ``A``, square and
    C-ordered, is overwritten, and its memory holds the answer. LAPACK's ``getrf``
    factorises ``A.T`` (Fortran-ordered: no copy) into ``Pm L U``; ``trtri`` inverts
    ``U`` and ``L`` in place; each entry asked for is then one dot product of a row of
    ``U^-1`` and a column of ``L^-1``. That is two thirds of the work of the whole
    inverse by ``getrf`` and ``getri``, and it takes about half its time with OpenBLAS,
    whose ``getri`` is slow (see BENCHMARKS.md)."""
    n = A.shape[0]
    if n == 0:
        return A
    from scipy.linalg import lapack  # here only: a large component is rare, the import is not cheap

    with blas_threads_for(n):  # scipy's LAPACK is loaded now: its threads are raised too
        lu, ipiv, info = lapack.dgetrf(A.T, overwrite_a=True)
        if info == 0:
            lu, info = lapack.dtrtri(lu, lower=0, overwrite_c=True)
        if info == 0:
            lu, info = lapack.dtrtri(lu, lower=1, unitdiag=1, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the core of a component is singular (LAPACK info {info})")
    perm = np.arange(n)
    for i, p in enumerate(ipiv.tolist()):  # LAPACK's row swaps, in order (0-based here)
        perm[i], perm[p] = perm[p], perm[i]
    iperm = np.empty(n, dtype=np.int64)
    iperm[perm] = np.arange(n)
    vals = _values_in_threads(K, keys, m, lu, iperm)
    K._scatter(keys, vals, np.int64(m), A)  # A's memory, now free, holds N's entries
    return A


def _values_in_threads(K: Any, keys: np.ndarray, m: int, lu: np.ndarray,
                       iperm: np.ndarray) -> np.ndarray:
    """``K._core_values`` of ``keys``, on as many threads as this process may use
    (at most :data:`_VALUE_THREADS`, and one per :data:`_VALUE_MIN_KEYS` keys). The
    compiled kernel releases the GIL; each thread takes every t-th block of rows of
    ``U^-1`` (the kernel's blocks, ``_finn.BLOCK`` rows), so the long rows at the top
    are shared out evenly. The plain kernels hold the GIL and run on one thread."""
    from ._finn import BLOCK, releases_gil

    threads = min(_VALUE_THREADS, _usable_cpus(), max(1, keys.size // _VALUE_MIN_KEYS))
    if threads <= 1 or not releases_gil(K):
        return np.asarray(K._core_values(keys, np.int64(m), lu, iperm))
    from concurrent.futures import ThreadPoolExecutor

    share = (keys // m // BLOCK) % threads
    parts = [np.flatnonzero(share == t) for t in range(threads)]
    out = np.empty(keys.size)
    with ThreadPoolExecutor(threads) as pool:
        done = pool.map(lambda ix: K._core_values(keys[ix], np.int64(m), lu, iperm), parts)
        for ix, vals in zip(parts, done, strict=True):
            out[ix] = vals
    return out


# -- the web's circularity -----------------------------------------------------------------


@dataclass
class Circularity:
    """The web's circularity as of a date (see :func:`circularity`).

    ``fci``: Finn's cycling index of the entity-level flow matrix;
    ``cycled_usd``, ``total_usd``: cycled and total throughflow in dollars;
    ``undisclosed``: ``{"mode": "skip" | "impute", "deals": n, "left_out": k}``:
    how many counted-status deals had no disclosed amount (``deals``; skipped or
    imputed by ``mode``) and how many of them add no flow (``left_out``: all of
    them when skipping; when imputing, those of a type with no disclosed amount
    to take a median of); ``deals``: the deals whose flows count; ``entities``:
    ``{id, name, return_share, throughflow_usd}`` of each entity with
    throughflow, by return share, then throughflow (both descending), then id.
    """

    as_of: str | None
    fci: float
    cycled_usd: float
    total_usd: float
    undisclosed: dict[str, Any]
    deals: int
    entities: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """``{as_of, fci, cycled_usd, total_usd, deals, undisclosed: {mode, deals, left_out},
        entities: [{id, name, return_share, throughflow_usd}]}``."""
        return {"as_of": self.as_of, "fci": self.fci, "cycled_usd": _usd(self.cycled_usd),
                "total_usd": _usd(self.total_usd), "deals": self.deals,
                "undisclosed": dict(self.undisclosed),
                "entities": [{**e, "throughflow_usd": _usd(e["throughflow_usd"])}
                             for e in self.entities]}


def _usd(v: float) -> Any:
    return plain_number(round(float(v), 2))


def circularity(snap: SnapshotLike, *, types: Iterable[str] | None = None,
                status: Iterable[str] | None = DEFAULT_STATUSES,
                confidences: Sequence[str] | None = None,
                undisclosed: str = "skip") -> Circularity:
    """Finn's cycling index of the snapshot's deals, with each entity's return share.

    A deal counts when its status is in ``status`` (None: all; the snapshot holds
    each deal's status as of its ``as_of``), its type in ``types`` (None: all)
    and its confidence in ``confidences`` (None: all; a deal without a
    confidence then does not count). Each counted deal adds its ``amount_usd``
    to ``flows[payer, payee]``. ``undisclosed``: ``"skip"`` leaves deals
    without a disclosed amount out; ``"impute"`` gives each the median
    disclosed amount of the counted deals of its type (a type with none stays
    out, and is counted in ``undisclosed["left_out"]``).

    An entity's return share is its node cycling: of each dollar passing
    through it, the share that comes back to it through any chain of deals.
    """
    if undisclosed not in UNDISCLOSED_MODES:
        raise ValueError(f"undisclosed must be one of {', '.join(UNDISCLOSED_MODES)}, "
                         f"not {undisclosed!r}")
    payer, payee, typ, amount = _counted_columns(snap, status, types, confidences)
    hidden = ~np.isfinite(amount)
    n_hidden = int(hidden.sum())
    if undisclosed == "impute" and n_hidden:
        amount = amount.copy()
        for t in sorted({x for x in typ[hidden].tolist() if x is not None}, key=str):  # each type's median
            known = amount[~hidden & (typ == t)]
            if known.size:
                amount[hidden & (typ == t)] = float(np.median(known))
    counted = np.isfinite(amount)
    left_out = int((hidden & ~counted).sum())
    payer, payee = payer[counted], payee[counted]
    ids, codes = np.unique(np.concatenate([payer, payee]).astype(str), return_inverse=True)
    k = payer.size
    n = len(ids)
    if n <= _DENSE_MAX:  # no scipy: the seed's web is a few hundred entities
        F: Any = np.zeros((n, n))
        np.add.at(F, (codes[:k], codes[k:]), amount[counted])
    else:
        import scipy.sparse as sp

        F = sp.csr_matrix((amount[counted], (codes[:k], codes[k:])), shape=(n, n))
    cyc = finn_cycling_index(F)
    names = {e["id"]: e.get("name") or e["id"] for e in snap.entities}
    rows = [{"id": str(eid), "name": names.get(str(eid), str(eid)),
             "return_share": float(cyc.node_cycling[i]), "throughflow_usd": float(cyc.throughflow[i])}
            for i, eid in enumerate(ids) if cyc.throughflow[i] > 0]
    rows.sort(key=lambda r: (-r["return_share"], -r["throughflow_usd"], r["id"]))
    return Circularity(as_of=snap.as_of, fci=cyc.fci if math.isfinite(cyc.fci) else 0.0,
                       cycled_usd=cyc.cycled, total_usd=cyc.total,
                       undisclosed={"mode": undisclosed, "deals": n_hidden, "left_out": left_out},
                       deals=int(counted.sum()), entities=rows)


def _counted_columns(snap: SnapshotLike, status: Iterable[str] | None, types: Iterable[str] | None,
                     confidences: Sequence[str] | None) -> tuple[np.ndarray, ...]:
    """Payers, payees and types (object arrays) and amounts (float, NaN when not a
    number) of the deals the filters keep: from the snapshot's frame if it holds
    one, else from its records (no pandas)."""
    wanted = [(k, None if v is None else set(v)) for k, v in
              (("status", status), ("type", types), ("confidence", confidences))]
    deals = getattr(snap, "deals_given", None)
    if deals is None or is_frame(deals):
        frame = snap.deals if deals is None else deals
        if not len(frame):
            return (np.zeros(0, dtype=object),) * 3 + (np.zeros(0),)
        keep = np.ones(len(frame), dtype=bool)
        for key, allowed in wanted:
            if allowed is not None:
                keep &= frame[key].isin(list(allowed)).to_numpy()
        frame = frame.loc[keep]
        import pandas as pd

        amount = pd.to_numeric(frame["amount_usd"], errors="coerce").to_numpy(dtype=np.float64)
        return (frame["payer"].to_numpy(dtype=object), frame["payee"].to_numpy(dtype=object),
                frame["type"].to_numpy(dtype=object), amount)
    rows = [r for r in deals
            if all(allowed is None or r.get(key) in allowed for key, allowed in wanted)]
    return (np.array([r["payer"] for r in rows], dtype=object),
            np.array([r["payee"] for r in rows], dtype=object),
            np.array([r["type"] for r in rows], dtype=object),
            np.array([_amount(r.get("amount_usd")) for r in rows], dtype=np.float64))


def _amount(v: Any) -> float:
    """A deal's amount as a float; NaN when it is not a number (as pandas' to_numeric
    with errors="coerce" reads it)."""
    if v is None or isinstance(v, bool):
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan
