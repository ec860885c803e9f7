"""The loop engine's graph: counting deals as arrays, searched by the compiled kernel.

Private to :mod:`circfin.loops.engine`. :class:`_Net` numbers the nodes,
keeps one edge per (payer, payee) pair with its deals, and the CSR
adjacency the kernel in :mod:`._cycles` walks; :func:`_finish` turns the
kernel's raw cycles into canonical, sorted rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..graph.components import strong_components
from ..graph.model import Leg
from . import _cycles
from ._cycles_input import _I32, _I64, _UNDATED, _Deals, _Filters, _iso
from ._cycles_result import _Batch

__all__: list[str] = []  # private module

_STEP_CHUNK = 1 << 21  # edge visits between clock checks under a time budget
_OUT_CHUNK = 1 << 18  # cycles per output buffer
# Work done in plain Python before a search switches to numba's compiled kernels.
# A plain-Python edge visit costs 10-30 us, so 5,000 of them take about 0.1 s: less
# than numba takes to load its cached code (0.2-0.6 s) or to compile it on a first
# run (3-4 s). The seed's default search (up to 6 entities) needs about 1,800.
PLAIN_STEPS = 5_000  # edge visits
PLAIN_EDGES = 2_000  # edge slots of the cycles found, for rotating and sorting them


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0], 16), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


class _Net:
    """Nodes, edges and deals as arrays: what the kernel searches and loops are built from.

    Built once from counting deals; :class:`LoopIndex` then adds deals in
    place (adjacency segments move to the end of their array when they fill,
    so additions cost O(degree) at worst, amortised O(1)).
    """

    def __init__(
        self,
        d: _Deals,
        f: _Filters,
        names: Mapping[str, Any] | None,
        top: Callable[[np.ndarray], np.ndarray] | None,
    ) -> None:
        self.f = f
        self.ids = d.ids
        self.pos = {x: i for i, x in enumerate(self.ids)}
        self.names_map = names
        self.names = [self._name(x) for x in self.ids]
        self.top = top
        n = len(self.ids)
        self.n = n
        # Edges: one per distinct (payer, payee) pair of counting deals.
        ek = d.u * max(n, 1) + d.v
        uniq, inv = np.unique(ek, return_inverse=True)
        E = len(uniq)
        self.m = E
        self.esrc = (uniq // max(n, 1)).astype(_I32)
        self.edst = (uniq % max(n, 1)).astype(_I32)
        # Deals grouped by edge.
        order = np.argsort(inv, kind="stable")
        cnt = np.bincount(inv, minlength=E)
        ptr = np.zeros(E + 1, dtype=_I64)
        np.cumsum(cnt, out=ptr[1:])
        self.eptr = ptr
        self.edeals = order.astype(_I32)
        self.extra: dict[int, list[int]] = {}  # edge -> deals added later (LoopIndex)
        self.deal_id = d.deal_id
        self.amount = d.amount
        self.day = d.day
        self.type = d.type
        self.n_deals = len(d.deal_id)
        self.inv = inv
        # Out/in adjacency (CSR), as separate start/end arrays so segments can move.
        self._build_adjacency(np.arange(E, dtype=_I32))
        # Days of each edge's dated deals, sorted: what the time filters read.
        if f.timed:
            dated = np.flatnonzero(self.day != _UNDATED)
            o = np.lexsort((self.day[dated], inv[dated]))
            de = inv[dated][o]
            self.days = self.day[dated][o].astype(_I32)
            dc = np.bincount(de, minlength=E)
            dp = np.zeros(E + 1, dtype=_I64)
            np.cumsum(dc, out=dp[1:])
            self.dstart = dp[:-1].copy()
            self.dend = dp[1:].copy()
        else:
            self.days = np.zeros(1, dtype=_I32)
            self.dstart = np.zeros(max(E, 1), dtype=_I64)
            self.dend = np.zeros(max(E, 1), dtype=_I64)
        self._e_amount: np.ndarray | None = None
        self._e_last: np.ndarray | None = None
        self.legs: dict[int, Leg] = {}
        self._scratch_n = -1

    def _name(self, x: str) -> str:
        if self.names_map is None:
            return x
        nm = self.names_map.get(x)
        if nm is None or (isinstance(nm, float) and math.isnan(nm)) or nm == "":
            return x
        return str(nm)

    def _build_adjacency(self, edges: np.ndarray) -> None:
        n = self.n
        src = self.esrc[edges]
        dst = self.edst[edges]
        o = np.argsort(src, kind="stable")
        optr = np.zeros(n + 1, dtype=_I64)
        np.cumsum(np.bincount(src, minlength=n), out=optr[1:])
        self.ostart = optr[:-1].copy()
        self.oend = optr[1:].copy()
        self.onbr = dst[o].astype(_I32)
        self.oeid = edges[o].astype(_I32)
        r = np.argsort(dst, kind="stable")
        rptr = np.zeros(n + 1, dtype=_I64)
        np.cumsum(np.bincount(dst, minlength=n), out=rptr[1:])
        self.rstart = rptr[:-1].copy()
        self.rend = rptr[1:].copy()
        self.rnbr = src[r].astype(_I32)
        self.ocap = (self.oend - self.ostart).copy()
        self.rcap = (self.rend - self.rstart).copy()

    def keep_cyclic(self) -> np.ndarray:
        """Drop edges between strongly connected components (no cycle uses them);
        return the nodes left with both an in- and an out-edge."""
        n = self.n
        if self.m == 0:
            self._build_adjacency(np.zeros(0, dtype=_I32))
            return np.zeros(0, dtype=_I32)
        lab = strong_components(n, self.esrc, self.edst)
        keep = np.flatnonzero(lab[self.esrc] == lab[self.edst]).astype(_I32)
        self._build_adjacency(keep)
        outdeg = self.oend - self.ostart
        indeg = self.rend - self.rstart
        return np.flatnonzero((outdeg > 0) & (indeg > 0)).astype(_I32)

    # -- per-edge numbers (vectorised, for sorting) -------------------------
    def edge_amount(self) -> np.ndarray:
        """Sum of disclosed amounts per edge; NaN when none is disclosed."""
        if self._e_amount is None or len(self._e_amount) != self.m:
            inv = self._deal_edges()
            amt = self.amount[: self.n_deals]
            ok = ~np.isnan(amt)
            s = np.bincount(inv[ok], weights=amt[ok], minlength=self.m)
            c = np.bincount(inv[ok], minlength=self.m)
            self._e_amount = np.where(c > 0, s, np.nan)
        return self._e_amount

    def edge_last_day(self) -> np.ndarray:
        """Latest dated day per edge; _UNDATED when the edge has no dated deal."""
        if self._e_last is None or len(self._e_last) != self.m:
            inv = self._deal_edges()
            day = self.day[: self.n_deals]
            ok = day != _UNDATED
            last = np.full(self.m, _UNDATED, dtype=_I64)
            np.maximum.at(last, inv[ok], day[ok].astype(_I64))
            self._e_last = last
        return self._e_last

    def _deal_edges(self) -> np.ndarray:
        return self.inv[: self.n_deals]

    # -- building loops -----------------------------------------------------
    def build_legs(
        self, edges: list[int], into: dict[int, Leg] | None = None, upto: int | None = None
    ) -> None:
        """Make the Leg of each edge not built yet (in one gather, not one per edge)."""
        legs = self.legs if into is None else into
        edges = [e for e in edges if e >= 0 and e not in legs]
        if not edges:
            return
        ea = np.asarray(edges, dtype=_I64)
        lo = self.eptr[ea]
        cnt = self.eptr[ea + 1] - lo
        rows = self.edeals[np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))]
        did = self.deal_id[rows].tolist()
        amt = self.amount[rows].tolist()
        day = self.day[rows].tolist()
        typ = self.type[rows].tolist()
        src = self.esrc[ea].tolist()
        dst = self.edst[ea].tolist()
        ids, names, extra = self.ids, self.names, self.extra
        undated = int(_UNDATED)
        at = 0
        for e, c, u, v in zip(edges, cnt.tolist(), src, dst, strict=True):
            d_ids, d_amt, d_day, d_typ = (
                did[at : at + c],
                amt[at : at + c],
                day[at : at + c],
                typ[at : at + c],
            )
            at += c
            for k in extra.get(e, ()):
                if upto is not None and k >= upto:
                    break  # added after the snapshot (deal numbers only grow)
                d_ids.append(self.deal_id[k])
                d_amt.append(float(self.amount[k]))
                d_day.append(int(self.day[k]))
                d_typ.append(self.type[k])
            amts = [x for x in d_amt if x == x]
            days = [x for x in d_day if x != undated]
            legs[e] = Leg(
                ids[u],
                ids[v],
                names[u],
                names[v],
                tuple(sorted(d_ids)),
                math.fsum(amts) if amts else None,
                tuple(sorted({t for t in d_typ if t})),
                _iso(min(days)) if days else None,
                _iso(max(days)) if days else None,
            )

    # -- searching -----------------------------------------------------------
    def _scratch(self) -> None:
        if self._scratch_n != self.n:
            n = max(self.n, 1)
            self.onpath = np.zeros(n, dtype=np.bool_)
            self.dstamp = np.zeros(n, dtype=_I64)
            self.dist = np.zeros(n, dtype=_I32)
            self.queue = np.empty(n, dtype=_I32)
            self.stamp = 0
            self._scratch_n = self.n

    def search(
        self,
        starts: np.ndarray,
        first_pos: np.ndarray,
        rank: np.ndarray,
        restrict: bool,
        time_budget: float | None,
        max_loops: int | None,
        t0: float,
        reserve: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, bool, str | None]:
        """Run the kernel to the end or a budget; (edges flat, lengths, complete, note).

        Under ``time_budget`` the kernel returns every ``_STEP_CHUNK`` edge
        visits (a few milliseconds) to look at the clock; it stops when the
        time spent, plus the sorting still to come, plus ``reserve`` seconds
        for each loop found (the caller's work per loop), reaches the budget."""
        f = self.f
        self._scratch()
        k = f.max_len
        ist = np.zeros(_cycles.N_STATE, dtype=_I64)
        ist[_cycles.S_START] = -1
        ist[_cycles.S_DEPTH] = -1
        ist[_cycles.S_STAMP] = self.stamp
        walk = [np.zeros(k + 2, dtype=_I64) for _ in range(10)]
        out_e = np.empty(_OUT_CHUNK * 4, dtype=_I32)
        out_len = np.empty(_OUT_CHUNK, dtype=np.int8)
        chunks_e: list[np.ndarray] = []
        chunks_l: list[np.ndarray] = []
        step = _STEP_CHUNK if time_budget is not None else (1 << 62)
        if time_budget is not None and reserve > 0:
            # Never find more loops than the caller has time to use.
            fit = max(1, int(time_budget / reserve))
            found_limit_t = fit if max_loops is None else min(max_loops, fit)
        else:
            found_limit_t = None
        found_limit = max_loops if max_loops is not None else (1 << 62)
        if found_limit_t is not None:
            found_limit = found_limit_t
        within = -1 if f.within is None else f.within
        complete, note = True, None
        # Plain Python first: a small search ends before numba would have loaded
        # its compiled code; a big one goes on, from the same state, compiled.
        kernel: Any = _cycles.plain().search
        step_now, is_plain = min(step, PLAIN_STEPS), True
        while True:
            if is_plain and ist[_cycles.S_STEPS] >= PLAIN_STEPS:
                kernel, step_now, is_plain = _cycles.compiled().search, step, False
            code = kernel(
                self.ostart,
                self.oend,
                self.onbr,
                self.oeid,
                self.rstart,
                self.rend,
                self.rnbr,
                starts,
                first_pos,
                rank,
                restrict,
                f.min_len,
                k,
                within,
                f.ordered,
                self.dstart,
                self.dend,
                self.days,
                ist,
                *walk,
                self.onpath,
                self.dstamp,
                self.dist,
                self.queue,
                out_e,
                out_len,
                step_now,
                found_limit,
            )
            if code == _cycles.FULL:
                chunks_e.append(out_e[: ist[_cycles.S_EPOS]].copy())
                chunks_l.append(out_len[: ist[_cycles.S_NOUT]].copy())
                ist[_cycles.S_EPOS] = 0
                ist[_cycles.S_NOUT] = 0
            elif code == _cycles.LIMIT:
                complete = False
                found = int(ist[_cycles.S_FOUND])
                if max_loops is not None and found >= max_loops:
                    note = f"max_loops={max_loops} reached: stopped after {found:,} loops"
                else:
                    note = (
                        f"time_budget={time_budget:g}s leaves time for {found:,} loops: "
                        f"stopped after {found:,} loops"
                    )
                break
            elif code == _cycles.DONE:
                break
            # PAUSED or FULL: go on unless the clock ran out.
            # Budget the sorting and rotating still to come too (~40 ns per edge slot).
            pending = sum(len(c) for c in chunks_e) + int(ist[_cycles.S_EPOS])
            later = 4e-8 * pending + reserve * int(ist[_cycles.S_FOUND])
            if time_budget is not None and time.perf_counter() - t0 + later >= time_budget:
                complete = False
                note = (
                    f"time_budget={time_budget:g}s reached: stopped after "
                    f"{int(ist[_cycles.S_FOUND]):,} loops"
                )
                break
        self.stamp = int(ist[_cycles.S_STAMP])
        chunks_e.append(out_e[: ist[_cycles.S_EPOS]])
        chunks_l.append(out_len[: ist[_cycles.S_NOUT]])
        flat = chunks_e[0] if len(chunks_e) == 1 else np.concatenate(chunks_e)
        lens = chunks_l[0] if len(chunks_l) == 1 else np.concatenate(chunks_l)
        return flat, lens, complete, note

    # -- ranking ids -----------------------------------------------------------
    def id_ranks(self, present: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Ranks of the present nodes' ids: by id (r0), and by id + '>' (r1),
        which orders loop keys position by position; r1 is None when some id
        holds '>' (then keys are compared as strings)."""
        n = self.n
        nodes = np.flatnonzero(present)
        ids = np.array([self.ids[x] for x in nodes.tolist()], dtype=object)
        r0 = np.full(n, -1, dtype=_I64)
        r0[nodes[np.argsort(ids, kind="stable")]] = np.arange(len(nodes))
        if any(">" in x for x in ids.tolist()):
            return r0, None
        r1 = np.full(n, -1, dtype=_I64)
        r1[nodes[np.argsort(ids + ">", kind="stable")]] = np.arange(len(nodes))
        return r0, r1


def _finish(
    net: _Net,
    flat: np.ndarray,
    lens: np.ndarray,
    sort: str,
    limit: int | None,
    entity: int | None = None,
    snapshot: bool = False,
) -> _Batch:
    """Rotate each cycle to its smallest id, sort, cut to ``limit``; ``entity``
    keeps only the cycles through that node. Rows stay where ``canonical``
    put them; the batch reads them through the sorted permutation."""
    k = net.f.max_len
    if entity is not None and len(lens):
        off = np.zeros(len(lens) + 1, dtype=_I64)
        np.cumsum(lens, out=off[1:])
        hit = np.add.reduceat((net.esrc[flat] == entity).astype(np.int8), off[:-1]) > 0
        flat = flat[np.repeat(hit, lens.astype(_I64))]
        lens = lens[hit]
    # Rank only the ids that can matter: those in the cycles when there are
    # few, else every node with an out-edge (cheaper than scanning the cycles).
    if len(flat) <= 4 * net.n:
        present = np.zeros(max(net.n, 1), dtype=np.bool_)
        present[net.esrc[flat]] = True
    else:
        present = np.zeros(max(net.n, 1), dtype=np.bool_)
        present[: net.n] = net.oend[: net.n] > net.ostart[: net.n]
    r0, r1 = net.id_ranks(present)
    kernels = _cycles.plain() if len(flat) <= PLAIN_EDGES else _cycles.compiled()
    edges, out_lens, start = kernels.canonical(flat, lens, net.esrc, r0, k)
    total = len(out_lens)
    if total > 1 and r1 is not None:
        perm = kernels.key_order(
            edges, net.esrc, start, r0, r1, int(present.sum()), net.f.min_len, k
        )
    elif total > 1:  # some id holds '>': compare the key strings themselves
        ids = net.ids
        keys = [
            (int(L), ">".join([ids[net.esrc[e]] for e in row[:L]]))
            for row, L in zip(edges.tolist(), out_lens.tolist(), strict=True)
        ]
        perm = np.array(sorted(range(total), key=keys.__getitem__), dtype=_I64)
    else:
        perm = np.arange(total, dtype=_I64)
    if sort != "length" and total > 1:
        rows = edges[perm]
        valid = rows >= 0
        ed = np.where(valid, rows, 0)
        if sort == "amount":
            amt = net.edge_amount()
            a = np.where(valid, amt[ed], np.inf)
            none = np.isnan(a).any(axis=1)
            score = np.where(none, 0.0, -np.min(np.where(np.isnan(a), 0.0, a), axis=1))
        else:
            a = np.where(valid, net.edge_last_day()[ed], int(_UNDATED))
            best = a.max(axis=1)
            none = best == int(_UNDATED)
            score = np.where(none, 0, -best).astype(np.float64)
        perm = perm[np.lexsort((np.arange(total), score, none))]
    if limit is not None and limit < total:
        perm = perm[:limit]
    return _Batch(net, edges, out_lens, perm, snapshot=snapshot)


def _entity_node(net: _Net, entity: Any) -> int | None:
    if not isinstance(entity, str) or not entity:
        raise ValueError(f"entity must be a non-empty entity id string, not {entity!r}")
    if net.top is not None:
        entity = str(net.top(np.array([entity], dtype=object))[0])
    return net.pos.get(entity)


def _plan(net: _Net, entity: str | None) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Where to start searching: (starts, rank, restrict); None when no loop can exist."""
    cyclic = net.keep_cyclic()
    outdeg = net.oend - net.ostart
    indeg = net.rend - net.rstart
    if entity is not None:
        node = _entity_node(net, entity)
        if node is None or not (outdeg[node] and indeg[node]):
            return None
        # Every loop through the entity, found once, from the entity.
        return np.array([node], dtype=_I32), np.zeros(max(net.n, 1), dtype=_I32), False
    # Hubs first: each search sees only the nodes after it, so the big
    # searches happen while the graph is whole and the rest get small.
    weight = outdeg[cyclic] * indeg[cyclic]
    starts = cyclic[np.argsort(-weight, kind="stable")].astype(_I32)
    rank = np.full(max(net.n, 1), np.iinfo(np.int32).max, dtype=_I32)
    rank[starts] = np.arange(len(starts), dtype=_I32)
    return starts, rank, True


def _push(
    x: int,
    y: int,
    e: int,
    start: np.ndarray,
    end: np.ndarray,
    cap: np.ndarray,
    nbr: np.ndarray,
    eid: np.ndarray | None,
    top: int,
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Append y (edge e) to x's adjacency segment; a full segment moves to the
    end of the array with twice the room. Returns the arrays and their used length."""
    s, t = int(start[x]), int(end[x])
    if t - s >= cap[x]:
        size = t - s
        newcap = max(4, 2 * size)
        nbr = _grow(nbr, top + newcap)
        nbr[top : top + size] = nbr[s:t]
        if eid is not None:
            eid = _grow(eid, top + newcap)
            eid[top : top + size] = eid[s:t]
        start[x] = top
        end[x] = top + size
        cap[x] = newcap
        s, t = top, top + size
        top += newcap
    nbr[t] = y
    if eid is not None:
        eid[t] = e
    end[x] = t + 1
    return nbr, eid, top
