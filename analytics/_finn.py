"""The compiled inner loops of Finn's cycling index on a large component.

Private to :mod:`circfin.analytics.circularity`. For ``A = I - P`` of one strongly
connected component, these kernels give the diagonal of ``N = A^-1`` (and
``(P N)_ii``) exactly, by Gaussian elimination in three steps:

1. :func:`_min_degree` (symbolic): minimum-degree order of the nodes with at most
   ``max_degree`` neighbours, on the symmetric pattern of ``A``. Eliminating node k
   joins its remaining neighbours ``S_k`` to each other (the fill), so each ``S_k``
   is known before any number is computed. The nodes never eliminated are the *core*.
2. :func:`_eliminate` (numeric): the elimination itself, right-looking. Each entry
   ``A_ij`` that ever holds a value is either in the core, then in a dense core
   matrix, or belongs to whichever of i and j goes first, say i: then j is in
   ``S_i``, and the entry is ``u`` (row i) or ``l`` (column i) at j's place in
   ``S_i``. What is left on the core is its Schur complement ``B``, whose inverse is
   N on the core. The caller factorises ``B`` (LAPACK) and :func:`_core_values`
   gives the entries of ``B^-1`` that step 3 reads (:func:`_core_keys`).
3. :func:`_select` (selected inversion, Takahashi et al. 1973): going back through
   the eliminated nodes, last first, node k's row and column of N on ``S_k`` follow
   from N on ``S_k x S_k``, which is known: ``N_kS = -u N_SS / a``,
   ``N_Sk = -N_SS l / a``, ``N_kk = 1/a - N_kS l / a`` (a: k's pivot). Every pair of
   ``S_k`` is again either in the core or in the row or column of the one of the two
   eliminated first.

``I - P`` is a non-singular M-matrix (a component some money leaves), so the
elimination needs no pivoting, every pivot is positive, ``u``, ``l`` <= 0 and
``N`` >= 0: every sum in steps 1 and 3 adds numbers of one sign. Everything here works on integer and float arrays only, so
numba can compile it; without numba (or for small components, where loading numba
costs more than it saves) the same functions run as plain Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..jit import Kernels

__all__: list[str] = []  # private module

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]

# Plain Python until a job is big enough to pay for numba (see circfin.jit).
_KERNELS = Kernels()
_kernel = _KERNELS.kernel
plain = _KERNELS.plain
compiled = _KERNELS.compiled
releases_gil = _KERNELS.releases_gil
# _core_values goes through the rows of U^-1 by blocks of this many rows.
BLOCK = 128


@_kernel
def _bucket_out(i: Any, bucket: _Ints, head: _Ints, nxt: _Ints, prv: _Ints) -> None:
    """Take node i out of its degree bucket (doubly linked lists, one per degree)."""
    b = bucket[i]
    if b < 0:
        return
    if prv[i] >= 0:
        nxt[prv[i]] = nxt[i]
    else:
        head[b] = nxt[i]
    if nxt[i] >= 0:
        prv[nxt[i]] = prv[i]
    bucket[i] = -1


@_kernel
def _bucket_in(i: Any, d: Any, bucket: _Ints, head: _Ints, nxt: _Ints, prv: _Ints) -> None:
    """Put node i, of degree d, into bucket d."""
    bucket[i] = d
    prv[i] = -1
    nxt[i] = head[d]
    if head[d] >= 0:
        prv[head[d]] = i
    head[d] = i


@_kernel
def _min_degree(m: Any, ptr: _Ints, idx: _Ints, max_degree: Any) -> tuple[_Ints, _Ints, _Ints]:
    """Minimum-degree elimination order of the nodes with at most ``max_degree``
    neighbours, on the symmetric pattern ``ptr``/``idx`` (CSR, no diagonal, each
    edge both ways). Returns ``(order, sptr, sidx)``: the eliminated nodes in order,
    and for the r-th of them its neighbours when eliminated, sorted, in
    ``sidx[sptr[r]:sptr[r + 1]]``. The nodes not in ``order`` are the core."""
    length = np.zeros(m, np.int64)
    start = np.zeros(m, np.int64)
    cap = np.zeros(m, np.int64)
    top = 0
    for i in range(m):
        length[i] = ptr[i + 1] - ptr[i]
        cap[i] = 2 * length[i] + 4
        start[i] = top
        top += cap[i]
    adj = np.empty(2 * top + 16, np.int64)  # each node's neighbours, in a growing arena
    for i in range(m):
        for t in range(length[i]):
            adj[start[i] + t] = idx[ptr[i] + t]
    nb = max_degree + 1
    head = np.full(nb, -1, np.int64)
    nxt = np.full(m, -1, np.int64)
    prv = np.full(m, -1, np.int64)
    bucket = np.full(m, -1, np.int64)
    for i in range(m - 1, -1, -1):
        if length[i] <= max_degree:
            _bucket_in(i, length[i], bucket, head, nxt, prv)
    alive = np.ones(m, np.bool_)
    mark = np.full(m, -1, np.int64)  # mark[j] == k: j is a neighbour of k, being eliminated
    seen = np.full(m, -1, np.int64)  # seen[j] == stamp: j is already a neighbour of i
    stamp = 0
    order = np.empty(m, np.int64)
    sptr = np.zeros(m + 1, np.int64)
    sidx = np.empty(max(16, 4 * ptr[m]), np.int64)
    nel = 0
    low = 0
    while True:
        while low < nb and head[low] < 0:
            low += 1
        if low >= nb:
            break
        k = head[low]
        _bucket_out(k, bucket, head, nxt, prv)
        alive[k] = False
        d = length[k]
        s0 = sptr[nel]
        if s0 + d > sidx.size:
            grown = np.empty(2 * sidx.size + d, np.int64)
            grown[:s0] = sidx[:s0]
            sidx = grown
        s = sidx[s0:s0 + d]
        s[:] = np.sort(adj[start[k]:start[k] + d])
        order[nel] = k
        sptr[nel + 1] = s0 + d
        nel += 1
        for t in range(d):
            mark[s[t]] = k
        for a in range(d):
            i = s[a]
            stamp += 1
            p = start[i]
            n_i = length[i]
            t = 0
            while t < n_i:  # drop k from i's neighbours; note which of S_k i has already
                j = adj[p + t]
                if j == k:
                    n_i -= 1
                    adj[p + t] = adj[p + n_i]
                    continue
                if mark[j] == k:
                    seen[j] = stamp
                t += 1
            need = n_i + d
            if need > cap[i]:  # move i's list to the end of the arena, with room to grow
                c = 2 * need
                if top + c > adj.size:
                    grown = np.empty(2 * adj.size + c, np.int64)
                    grown[:top] = adj[:top]
                    adj = grown
                adj[top:top + n_i] = adj[p:p + n_i]
                start[i] = top
                cap[i] = c
                top += c
                p = top - c
            for b in range(d):
                j = s[b]
                if j != i and seen[j] != stamp:
                    adj[p + n_i] = j
                    n_i += 1
            length[i] = n_i
            _bucket_out(i, bucket, head, nxt, prv)
            if n_i <= max_degree:
                _bucket_in(i, n_i, bucket, head, nxt, prv)
                if n_i < low:
                    low = n_i
    return order[:nel].copy(), sptr[:nel + 1].copy(), sidx[:sptr[nel]].copy()


@_kernel
def _slot(r: Any, j: Any, sptr: _Ints, sidx: _Ints) -> np.int64:
    """Where node j sits among the neighbours of the r-th eliminated node (it is one)."""
    lo = sptr[r]
    hi = sptr[r + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sidx[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    return np.int64(lo)


@_kernel
def _add(i: Any, j: Any, v: Any, rank: _Ints, cpos: _Ints, sptr: _Ints, sidx: _Ints,
         u: _Floats, low: _Floats, piv: _Floats, core: _Floats) -> None:
    """Add v to the entry (i, j) of the matrix being eliminated, wherever it is kept."""
    ci = cpos[i]
    cj = cpos[j]
    if ci >= 0 and cj >= 0:
        core[ci, cj] += v
    elif i == j:
        piv[rank[i]] += v
    elif rank[i] < rank[j]:
        u[_slot(rank[i], j, sptr, sidx)] += v
    else:
        low[_slot(rank[j], i, sptr, sidx)] += v


@_kernel
def _eliminate(rows: _Ints, cols: _Ints, vals: _Floats, rank: _Ints, cpos: _Ints,
               sptr: _Ints, sidx: _Ints, u: _Floats, low: _Floats, piv: _Floats,
               core: _Floats) -> None:
    """Eliminate the nodes of :func:`_min_degree`'s order from ``A`` (its entries
    ``rows``, ``cols``, ``vals``, the diagonal included). Fills ``piv`` (the pivots,
    by rank), ``u`` and ``low`` (each eliminated node's row and column on its
    neighbours, as ``sidx``) and ``core`` (the Schur complement left on the core,
    by ``cpos``); all start at zero."""
    for t in range(rows.size):
        _add(rows[t], cols[t], vals[t], rank, cpos, sptr, sidx, u, low, piv, core)
    for r in range(sptr.size - 1):
        a = piv[r]
        s0 = sptr[r]
        s1 = sptr[r + 1]
        for x in range(s0, s1):
            li = low[x]
            if li == 0.0:
                continue
            f = li / a
            i = sidx[x]
            for y in range(s0, s1):
                uj = u[y]
                if uj != 0.0:
                    _add(i, sidx[y], -f * uj, rank, cpos, sptr, sidx, u, low, piv, core)


@_kernel
def _get(p: Any, q: Any, rank: _Ints, cpos: _Ints, sptr: _Ints, sidx: _Ints, zu: _Floats,
         zl: _Floats, zkk: _Floats, zc: _Floats) -> float:
    """``N_pq``, for a pair whose entry of A was ever kept (see :func:`_add`); on the
    core, from ``zc``, which holds the entries :func:`_core_keys` asked for."""
    cp = cpos[p]
    cq = cpos[q]
    if cp >= 0 and cq >= 0:
        return float(zc[cp, cq])
    if p == q:
        return float(zkk[rank[p]])
    if rank[p] < rank[q]:
        return float(zu[_slot(rank[p], q, sptr, sidx)])
    return float(zl[_slot(rank[q], p, sptr, sidx)])


@_kernel
def _core_keys(rows: _Ints, cols: _Ints, cpos: _Ints, sptr: _Ints, sidx: _Ints) -> _Ints:
    """The entries of N on the core that :func:`_select` reads, sorted, as keys
    ``q * m + p`` for ``N_pq`` (p, q: places in the core, m nodes): the diagonal,
    every pair of an eliminated node's neighbours in the core, and ``N_ji`` for each
    entry ``(i, j)`` of P inside the core. They are marked in a table of the core's
    entries, one byte each (an eighth of the core's dense matrix, which is made
    anyway), and read off it in order: no sort, and a pair named twice counts once."""
    m = cpos.size
    nc = 0
    for i in range(m):
        if cpos[i] >= 0:
            nc += 1
    mark = np.zeros(nc * nc, np.bool_)
    for i in range(nc):
        mark[i * nc + i] = True
    for e in range(rows.size):
        ci = cpos[rows[e]]
        cj = cpos[cols[e]]
        if ci >= 0 and cj >= 0:
            mark[ci * nc + cj] = True
    for r in range(sptr.size - 1):
        for x in range(sptr[r], sptr[r + 1]):
            cp = cpos[sidx[x]]
            if cp < 0:
                continue
            for y in range(sptr[r], sptr[r + 1]):
                cq = cpos[sidx[y]]
                if cq >= 0:
                    mark[cq * nc + cp] = True
    n = 0
    for i in range(mark.size):
        if mark[i]:
            n += 1
    keys = np.empty(n, np.int64)
    t = 0
    for i in range(mark.size):
        if mark[i]:
            q = i // nc
            keys[t] = q * m + (i - q * nc)
            t += 1
    return keys


@_kernel
def _core_values(keys: _Ints, m: Any, lu: _Floats, iperm: _Ints) -> _Floats:
    """``N_pq`` for each key ``q * m + p`` of :func:`_core_keys`, ``N`` the inverse of
    the core's matrix ``B``. ``lu`` holds ``U^-1`` (upper triangle) and ``L^-1`` (strictly
    lower, unit diagonal) of ``B^T``'s LU factors, whose rows ``iperm`` permutes:
    ``(B^T)^-1 = U^-1 L^-1 Pm``, so ``N_pq = sum_k U^-1[q, k] L^-1[k, iperm[p]]``.
    ``lu`` is Fortran-ordered (a column of ``L^-1`` is contiguous); the keys go by
    blocks of rows of ``U^-1``, gathered into a contiguous scratch, then by column of
    ``L^-1``, so both stay in cache while they are used."""
    n = lu.shape[0]
    bs = BLOCK
    qs = keys // m
    cs = iperm[keys - qs * m]
    order = np.argsort((qs // bs) * (n * n) + cs * n + qs)
    out = np.empty(keys.size)
    rows = np.zeros((bs, n))
    block = -1
    for t in order:
        q = qs[t]
        c = cs[t]
        if q // bs != block:  # gather the rows of U^-1 of q's block, column by column
            block = q // bs
            q0 = block * bs
            for k in range(q0, n):
                for r in range(min(bs, n - q0)):
                    rows[r, k] = lu[q0 + r, k]
        row = rows[q - block * bs]
        acc = row[c] if c >= q else 0.0  # the unit diagonal of L^-1
        k = q if c < q else c + 1
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        while k + 3 < n:
            a0 += row[k] * lu[k, c]
            a1 += row[k + 1] * lu[k + 1, c]
            a2 += row[k + 2] * lu[k + 2, c]
            a3 += row[k + 3] * lu[k + 3, c]
            k += 4
        while k < n:
            a0 += row[k] * lu[k, c]
            k += 1
        out[t] = acc + ((a0 + a1) + (a2 + a3))
    return out


@_kernel
def _scatter(keys: _Ints, vals: _Floats, m: Any, zc: _Floats) -> None:
    """``zc[p, q] = N_pq`` for each key ``q * m + p`` and its value."""
    for t in range(keys.size):
        q = keys[t] // m
        zc[keys[t] - q * m, q] = vals[t]


@_kernel
def _select(rows: _Ints, cols: _Ints, pvals: _Floats, rank: _Ints, cpos: _Ints, sptr: _Ints,
            sidx: _Ints, u: _Floats, low: _Floats, piv: _Floats, zc: _Floats,
            diag: _Floats, ret: _Floats) -> None:
    """Selected inversion back through the eliminated nodes, given ``zc``: N on the
    core, at least on the entries :func:`_core_keys` asks for. Fills ``diag`` with ``N_ii`` and ``ret`` with
    ``(P N)_ii = sum_j P_ij N_ji`` over the entries ``rows``, ``cols``, ``pvals`` of
    ``P`` (``ret`` starts at zero)."""
    nel = sptr.size - 1
    zu = np.zeros(sidx.size)
    zl = np.zeros(sidx.size)
    zkk = np.zeros(nel)
    width = 0
    for r in range(nel):
        width = max(width, sptr[r + 1] - sptr[r])
    zss = np.empty((width, width))
    for r in range(nel - 1, -1, -1):
        s0 = sptr[r]
        d = sptr[r + 1] - s0
        a = piv[r]
        for x in range(d):
            p = sidx[s0 + x]
            for y in range(d):
                zss[x, y] = _get(p, sidx[s0 + y], rank, cpos, sptr, sidx, zu, zl, zkk, zc)
        for y in range(d):
            acc = 0.0
            for x in range(d):
                acc += u[s0 + x] * zss[x, y]
            zu[s0 + y] = -acc / a
        for x in range(d):
            acc = 0.0
            for y in range(d):
                acc += zss[x, y] * low[s0 + y]
            zl[s0 + x] = -acc / a
        acc = 0.0
        for y in range(d):
            acc += zu[s0 + y] * low[s0 + y]
        zkk[r] = 1.0 / a - acc / a
    for i in range(diag.size):
        diag[i] = _get(i, i, rank, cpos, sptr, sidx, zu, zl, zkk, zc)
    for t in range(rows.size):
        ret[rows[t]] += pvals[t] * _get(cols[t], rows[t], rank, cpos, sptr, sidx, zu, zl, zkk, zc)
