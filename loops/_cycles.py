"""The compiled inner loop of the loop engine: bounded simple-cycle search.

Private to :mod:`circfin.loops.engine`. Everything here works on integer
arrays only (no strings, no pandas), so numba can compile it; without numba
the same functions run as plain Python (slowly, but correctly).

The search is a depth-first walk from each start node ``s`` that only
visits nodes ranked after ``s`` (so each cycle is found once, from its
first-ranked node), pruned by the distance back to ``s``: a reverse
breadth-first search from ``s`` first marks every allowed node that can
return to ``s`` within ``max_len - 1`` steps, and the walk only steps onto
a node whose distance still fits in the remaining length. That bound never
loses a cycle: the nodes already on the path can only lengthen the way back.
(We do not use the blocking scheme of Gupta & Suzumura's bounded Johnson
variant, arXiv:2105.10094: Bauernoeppel & Sack, arXiv:2512.08392, show it
can miss cycles.) Time filters prune while walking, with necessary
conditions that are exact whenever every leg of the path has a single
dated deal; a cycle that closes is then checked exactly.

The walk is resumable: all of its state lives in arrays the caller owns,
and it returns after ``step_limit`` edge visits, when the output buffers
are full, or when ``found_limit`` cycles have been found. That is how the
caller enforces a time budget and grows buffers without copying.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..jit import Kernels

__all__: list[str] = []  # private module

_Ints = npt.NDArray[np.integer[Any]]  # any integer dtype: the callers pass int8, int32 and int64
_Bools = npt.NDArray[np.bool_]
_Int = int | np.integer[Any]  # a Python or NumPy integer scalar (numba sees both as int64)

# Plain Python until a job is big enough to pay for numba (see circfin.jit).
_KERNELS = Kernels()
_kernel = _KERNELS.kernel
plain = _KERNELS.plain
compiled = _KERNELS.compiled


def compiled_ready() -> bool:
    """Whether this process has the compiled kernels already (then a search uses
    them from its first step: the plain-Python start only saves loading numba)."""
    return _KERNELS.ready()


DEAD = np.int64(1) << np.int64(60)  # "no such day": later than any real day
NEG = -DEAD  # earlier than any real day

# Kernel return codes.
DONE = 0  # every start searched
PAUSED = 1  # step_limit reached; call again to go on
FULL = 2  # output buffers full; give new ones and call again
LIMIT = 3  # found_limit cycles found and another one exists

# Slots of the integer state vector ``ist``.
S_START = 0  # index into starts of the start being searched (-1 before the first)
S_DEPTH = 1  # edges on the current path, -1 when between starts
S_FOUND = 2  # cycles found so far (all calls)
S_NOUT = 3  # cycles written into the current output buffers
S_EPOS = 4  # edge slots used in the current output buffers
S_STAMP = 5  # last stamp used for the distance marks
S_STEPS = 6  # edge visits so far (all calls)
N_STATE = 8


@_kernel
def _succ(e: _Int, t: _Int, dstart: _Ints, dend: _Ints, days: _Ints) -> np.int64:
    """Smallest day of edge ``e`` that is >= t, or DEAD."""
    lo = dstart[e]
    end = dend[e]
    hi = end
    while lo < hi:
        mid = (lo + hi) >> 1
        if days[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    if lo < end:
        return np.int64(days[lo])
    return DEAD


@_kernel
def _ordered_within(legs: _Ints, n: int, lo: _Int, hi: _Int, dstart: _Ints, dend: _Ints,
                    days: _Ints) -> bool:
    """Can one day per leg be picked in [lo, hi], non-decreasing around the
    cycle from some leg? Greedy smallest-next is optimal for a fixed start."""
    for r in range(n):
        cur = lo
        ok = True
        for i in range(n):
            x = _succ(legs[(r + i) % n], cur, dstart, dend, days)
            if x == DEAD or x > hi:
                ok = False
                break
            cur = x
        if ok:
            return True
    return False


@_kernel
def exact_time_check(legs: _Ints, n: int, within: int, ordered: bool, dstart: _Ints, dend: _Ints,
                     days: _Ints) -> bool:
    """Exact test of the within/ordered conditions for one cycle's legs."""
    if within < 0 and not ordered:
        return True
    if within < 0:
        return _ordered_within(legs, n, NEG, DEAD, dstart, dend, days)
    # Some witness has a smallest day t, one of the legs' days; try them all.
    for i in range(n):
        e = legs[i]
        for k in range(dstart[e], dend[e]):
            t = np.int64(days[k])
            if ordered:
                if _ordered_within(legs, n, t, t + within, dstart, dend, days):
                    return True
            else:
                ok = True
                for j in range(n):
                    if _succ(legs[j], t, dstart, dend, days) > t + within:
                        ok = False
                        break
                if ok:
                    return True
    return False


@_kernel
def search(
    ostart: _Ints,
    oend: _Ints,
    onbr: _Ints,
    oeid: _Ints,  # out-adjacency: node u's arcs are positions ostart[u]..oend[u]-1
    rstart: _Ints,
    rend: _Ints,
    rnbr: _Ints,  # in-adjacency, same layout
    starts: _Ints,
    first_pos: _Ints,  # start nodes; first_pos[i] >= 0 pins the first arc of start i
    rank: _Ints,
    restrict: bool,  # with restrict, only nodes ranked after the start are visited
    kmin: int,
    kmax: int,
    within: int,
    ordered: bool,
    dstart: _Ints,
    dend: _Ints,
    days: _Ints,  # time filters: edge e's dated days, sorted, are days[dstart[e]:dend[e]]
    ist: _Ints,
    path: _Ints,
    itpos: _Ints,
    itend: _Ints,
    pedge: _Ints,
    tlo: _Ints,
    thi: _Ints,
    tb: _Ints,
    ta: _Ints,
    tcap: _Ints,
    tmulti: _Ints,  # walk state
    onpath: _Bools,
    dstamp: _Ints,
    dist: _Ints,
    queue: _Ints,  # node-sized scratch
    out_e: _Ints,
    out_len: _Ints,  # output: edges of each cycle (from the start), and its length
    step_limit: int,
    found_limit: int,
) -> int:
    n_starts = starts.shape[0]
    si = ist[S_START]
    depth = ist[S_DEPTH]
    found = ist[S_FOUND]
    nout = ist[S_NOUT]
    epos = ist[S_EPOS]
    stamp = ist[S_STAMP]
    steps = np.int64(0)
    cap_out = out_len.shape[0]
    cap_e = out_e.shape[0]
    timed = within >= 0 or ordered
    s = -1
    if 0 <= si < n_starts and depth >= 0:
        s = starts[si]
    code = DONE
    legs = np.empty(kmax, dtype=np.int64)
    while True:
        if depth < 0:
            si += 1
            if si >= n_starts:
                code = DONE
                break
            s = starts[si]
            stamp += 1
            # Reverse BFS from s, bounded by kmax - 1 steps, over allowed nodes.
            rs = rank[s]
            dstamp[s] = stamp
            dist[s] = 0
            qh = 0
            qt = 1
            queue[0] = s
            while qh < qt:
                x = queue[qh]
                qh += 1
                dx = dist[x]
                if dx >= kmax - 1:
                    continue
                steps += rend[x] - rstart[x]  # the BFS counts towards the step limit too
                for p in range(rstart[x], rend[x]):
                    y = rnbr[p]
                    if dstamp[y] == stamp:
                        continue
                    if restrict and rank[y] <= rs:
                        continue
                    dstamp[y] = stamp
                    dist[y] = dx + 1
                    queue[qt] = y
                    qt += 1
            depth = 0
            path[0] = s
            onpath[s] = True
            fp = first_pos[si]
            if fp >= 0:
                itpos[0] = fp
                itend[0] = fp + 1
            else:
                itpos[0] = ostart[s]
                itend[0] = oend[s]
            tlo[0] = NEG
            thi[0] = DEAD
            tb[0] = NEG
            ta[0] = DEAD
            tcap[0] = DEAD
            tmulti[0] = 0
        if steps >= step_limit:
            code = PAUSED
            break
        d = depth
        j = itpos[d]
        if j >= itend[d]:
            onpath[path[d]] = False
            depth = d - 1
            continue
        itpos[d] = j + 1
        steps += 1
        w = onbr[j]
        e = oeid[j]
        closing = w == s
        if closing:
            if d + 1 < kmin:
                continue
        else:
            if dstamp[w] != stamp or onpath[w]:
                continue
            if d + 1 + dist[w] > kmax:
                continue
        nlo = NEG
        nhi = DEAD
        nb = DEAD
        na = DEAD
        ncap = DEAD
        nmulti = 0
        if timed:
            e0 = dstart[e]
            e1 = dend[e]
            if e0 == e1:  # no dated deal on this leg
                continue
            emin = np.int64(days[e0])
            emax = np.int64(days[e1 - 1])
            nlo = tlo[d] if tlo[d] > emin else emin
            nhi = thi[d] if thi[d] < emax else emax
            if within >= 0 and nlo - nhi > within:
                continue
            nmulti = tmulti[d] + (1 if e1 - e0 > 1 else 0)
            ncap = tcap[d]
            if ordered:
                if d == 0:
                    nb = emin
                    ncap = emax
                else:
                    if tb[d] != DEAD:
                        nb = _succ(e, tb[d], dstart, dend, days)
                        if emin <= ncap:
                            na = emin
                    if ta[d] != DEAD:
                        x = _succ(e, ta[d], dstart, dend, days)
                        if x <= ncap and x < na:
                            na = x
                if nb == DEAD and na == DEAD:
                    continue
        if closing:
            if timed and nmulti > 0:
                for i in range(d):
                    legs[i] = pedge[i + 1]
                legs[d] = e
                if not exact_time_check(legs, d + 1, within, ordered, dstart, dend, days):
                    continue
            if found >= found_limit:
                itpos[d] = j
                code = LIMIT
                break
            if nout >= cap_out or epos + d + 1 > cap_e:
                itpos[d] = j
                code = FULL
                break
            for i in range(d):
                out_e[epos + i] = pedge[i + 1]
            out_e[epos + d] = e
            epos += d + 1
            out_len[nout] = d + 1
            nout += 1
            found += 1
            continue
        nd = d + 1
        depth = nd
        path[nd] = w
        pedge[nd] = e
        onpath[w] = True
        itpos[nd] = ostart[w]
        itend[nd] = oend[w]
        if timed:
            tlo[nd] = nlo
            thi[nd] = nhi
            tb[nd] = nb
            ta[nd] = na
            tcap[nd] = ncap
            tmulti[nd] = nmulti
    ist[S_START] = si
    ist[S_DEPTH] = depth
    ist[S_FOUND] = found
    ist[S_NOUT] = nout
    ist[S_EPOS] = epos
    ist[S_STAMP] = stamp
    ist[S_STEPS] += steps
    return code


@_kernel
def canonical(flat: _Ints, lens: _Ints, esrc: _Ints, r0: _Ints, kmax: int
              ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """Rotate each cycle to start at its smallest-id node and group the cycles
    by length. Returns padded (m, kmax) edge rows (-1 padding; the nodes are
    ``esrc`` of the edges), the lengths, and ``start``: rows of length L are
    start[L]..start[L+1]-1, in the order they were found."""
    m = lens.shape[0]
    start = np.zeros(kmax + 2, dtype=np.int64)
    for i in range(m):
        start[np.int64(lens[i]) + 1] += 1
    for c in range(1, kmax + 2):
        start[c] += start[c - 1]
    edges = np.empty((m, kmax), dtype=np.int32)
    olens = np.empty(m, dtype=np.int8)
    fill = start.copy()
    off = np.int64(0)
    for i in range(m):
        L = np.int64(lens[i])  # not int8: without numba, NumPy 2 keeps int8 and off overflows
        best = 0
        bv = r0[esrc[flat[off]]]
        for j in range(1, L):
            x = r0[esrc[flat[off + j]]]
            if x < bv:
                bv = x
                best = j
        row = fill[L]
        fill[L] += 1
        for j in range(L):
            k: _Int = best + j
            if k >= L:
                k -= L
            edges[row, j] = flat[off + k]
        for j in range(L, kmax):
            edges[row, j] = -1
        olens[row] = L
        off += L
    return edges, olens, start


@_kernel
def key_order(edges: _Ints, esrc: _Ints, start: _Ints, r0: _Ints, r1: _Ints, nrank: int, kmin: int,
              kmax: int) -> _Ints:
    """Row order that sorts each length group by loop key: an LSD radix sort
    on the r1 ranks of positions 0..L-2 and the r0 rank of position L-1 (see
    ``_Net.id_ranks`` for why that equals comparing the key strings).

    Each row's ranks are packed into 64-bit words that move with the row
    through the passes, so every pass reads memory in order (a version that
    looked ranks up through the permutation was 3-4x slower on millions of
    rows)."""
    m = edges.shape[0]
    perm = np.arange(m)
    b = 1
    while (1 << b) < nrank:
        b += 1
    ppw = 64 // b  # positions per word
    mask = np.uint64((1 << b) - 1)
    count = np.zeros((1 << b) + 1, dtype=np.int64)
    for L in range(kmin, kmax + 1):
        a = start[L]
        g = start[L + 1] - a
        if g < 2:
            continue
        nw = (L + ppw - 1) // ppw
        keys = np.zeros((g, nw), dtype=np.uint64)
        for i in range(g):
            for j in range(L):
                x = esrc[edges[a + i, j]]
                v = r0[x] if j == L - 1 else r1[x]
                keys[i, j // ppw] |= np.uint64(v) << np.uint64(b * (ppw - 1 - j % ppw))
        idx = np.arange(g)
        tkeys = np.empty_like(keys)
        tidx = np.empty_like(idx)
        for j in range(L - 1, -1, -1):
            w = j // ppw
            sh = np.uint64(b * (ppw - 1 - j % ppw))
            count[:] = 0
            for i in range(g):
                count[np.int64((keys[i, w] >> sh) & mask) + 1] += 1
            if count[np.int64((keys[0, w] >> sh) & mask) + 1] == g:
                continue  # every row has the same rank here
            for c in range(1, count.shape[0]):
                count[c] += count[c - 1]
            for i in range(g):
                dgt = np.int64((keys[i, w] >> sh) & mask)
                p = count[dgt]
                count[dgt] = p + 1
                for q in range(nw):
                    tkeys[p, q] = keys[i, q]
                tidx[p] = idx[i]
            keys, tkeys = tkeys, keys
            idx, tidx = tidx, idx
        for i in range(g):
            perm[a + i] = a + idx[i]
    return perm
