"""The in-memory loop engine: circular financing as bounded simple cycles.

A *loop* is a simple directed cycle of entities in which each entity pays
the next through at least one counting deal: Nvidia invests in OpenAI,
OpenAI buys compute from Oracle, Oracle buys Nvidia chips. This module finds
them all in a deals frame, fast enough to run on every command, and answers
"which loops does this one new deal close?" in milliseconds.

Semantics (shared with the Cypher in ``queries/loops.cypher``; the oracle in
``tests/oracle.py`` spells them out literally):

* Per-deal filters decide which deals *count*: ``types``, ``status``,
  ``min_amount`` (disclosed and >= it), ``since``/``until`` (dated, and the
  deal's day, the first day its date can mean, inside the bounds; partial
  dates allowed). A leg u -> v exists iff some counting deal pays u -> v, and
  it lists *all* of them.
* A loop has ``min_len..max_len`` distinct nodes, is reported once (its ids
  rotated to start at the smallest id), and keeps its direction. Self-deals
  never form loops.
* ``within=DAYS`` / ``ordered=True`` keep a loop only if some choice of one
  counting, dated deal per leg spans at most DAYS days / can be walked in
  non-decreasing day order around the loop from some node (a time-respecting
  cycle, Kumar & Calders 2018, with <= because days tie); both together need
  one choice that does both.
* ``rollup=True`` replaces every node by its top-most ancestor in
  ``parents``; deals that become internal drop out.

Examples
--------
>>> import pandas as pd
>>> deals = pd.DataFrame({
...     "deal_id": ["d1", "d2", "d3"], "date": ["2025-09", "2025-09-10", "2025-10-01"],
...     "payer": ["nvidia", "openai", "oracle"], "payee": ["openai", "oracle", "nvidia"],
...     "type": ["equity_investment", "cloud_commitment", "chip_purchase"],
...     "amount_usd": [100e9, 300e9, 40e9], "amount_qualifier": ["up_to", "approx", "estimate"],
...     "status": ["announced"] * 3})
>>> [loop.key for loop in find_loops(deals)]
['nvidia>openai>oracle']
>>> find_loops(deals)[0].bottleneck_usd
40000000000.0
>>> len(find_loops(deals, ordered=True)), len(find_loops(deals, within=10))
(1, 0)
>>> [loop.key for loop in find_loops(deals.to_dict("records"))]  # records: the same
['nvidia>openai>oracle']

Notes
-----
Nodes are numbered, edges stored as CSR arrays, and a compiled depth-first
search (``_cycles.search``, numba) starts from each node in turn, visiting
only nodes ranked after it (hubs first, so later searches run in ever
smaller graphs) and only nodes that a reverse breadth-first search found
within reach of the start (a sound bound: the path's own nodes can only
lengthen the way back). Time filters prune while searching. Results stay
as integer arrays until a loop is looked at: :class:`LoopResult` makes each
:class:`~circfin.graph.model.Loop` on first access, a small record that reads
its ids, names and legs from those arrays when one of them is first read.

References
----------
.. [1] D. B. Johnson, "Finding all the elementary circuits of a directed
   graph", SIAM J. Comput. 4(1), 1975.
.. [2] A. Gupta and T. Suzumura, "Finding All Bounded-Length Simple Cycles in
   a Directed Graph", arXiv:2105.10094, 2021 (the problem; we prune by
   distance to the start only, not with its blocking, which F. Bauernoeppel
   and J.-R. Sack, arXiv:2512.08392, show can miss cycles).
.. [3] R. Kumar and T. Calders, "2SCENT: An Efficient Algorithm for
   Enumerating All Simple Temporal Cycles", PVLDB 11(11), 2018.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from ._cycles_input import (
    _I32,
    _I64,
    _UNDATED,
    _budget,
    _check_names,
    _counting,
    _Deals,
    _factorize,
    _filters,
    _one_deal,
    _reserve,
    _rollup_fn,
)
from ._cycles_net import _entity_node, _finish, _grow, _Net, _plan, _push
from ._cycles_result import LoopResult

__all__ = ["LoopIndex", "LoopResult", "cycle_counts", "find_loops", "loops_closed_by"]

if TYPE_CHECKING:
    import pandas as pd

    Deals: TypeAlias = pd.DataFrame | Sequence[Mapping[str, Any]]


LoopResult.__module__ = __name__  # documented and pickled as circfin.loops.engine.LoopResult


def find_loops(
    deals: Deals,
    *,
    max_len: int = 6,
    min_len: int = 2,
    entity: str | None = None,
    types: Iterable[str] | None = None,
    status: Iterable[str] | None = None,
    min_amount: float | None = None,
    since: str | _dt.date | None = None,
    until: str | _dt.date | None = None,
    within: int | None = None,
    ordered: bool = False,
    rollup: bool = False,
    parents: Mapping[str, str | None] | None = None,
    names: Mapping[str, str] | None = None,
    sort: str = "length",
    limit: int | None = None,
    time_budget: float | None = None,
    max_loops: int | None = None,
    reserve_per_loop: float = 0.0,
) -> LoopResult:
    """Every loop (simple directed cycle of payments) among deals.

    Parameters
    ----------
    deals : DataFrame or list of dicts
        Columns (or each record's keys) ``deal_id, date, payer, payee, type,
        amount_usd, amount_qualifier, status``; others are ignored. Records, as
        the store returns them, need no pandas.
    max_len, min_len : int
        Number of entities in a loop, ``2 <= min_len <= max_len <= 12``.
    entity : str, optional
        Only loops through this node id (after rollup: through its top ancestor).
    types, status : iterable of str, optional
        Only deals of these types / statuses count (see ``model.DEAL_TYPES``,
        ``model.DEAL_STATUSES``).
    min_amount : float, optional
        Only deals with a disclosed amount >= this count.
    since, until : str or date, optional
        Only dated deals whose day is on/after the first day of ``since`` and
        on/before the last day of ``until`` count (``YYYY``, ``YYYY-MM`` or
        ``YYYY-MM-DD``).
    within : int, optional
        Keep a loop only if one dated deal per leg can be picked, all within
        this many days of each other.
    ordered : bool
        Keep a loop only if one dated deal per leg can be picked with days
        non-decreasing around the loop from some entity.
    rollup : bool
        Replace each entity by its top-most ancestor in ``parents``.
    parents, names : mapping, optional
        id -> parent id, and id -> display name.
    sort : {"length", "amount", "date"}
        ``length`` (then key); ``amount``: largest bottleneck first; ``date``:
        most recent last deal first. Ties always fall back to length, key.
    limit : int, optional
        Keep the first ``limit`` loops after sorting.
    time_budget : float, optional
        Seconds; past it, return what was found with ``complete=False``.
    max_loops : int, optional
        Stop after this many loops, with ``complete=False`` if there are more.
    reserve_per_loop : float
        Seconds the caller will spend on each loop after the search (building,
        scoring, writing it). Under ``time_budget`` the search stops once the
        time spent plus this much per loop found would use up the budget, so
        the whole command, not just the search, fits in it.

    Returns
    -------
    LoopResult
        A list of :class:`~circfin.graph.model.Loop`, with ``complete`` and
        ``note``.

    Raises
    ------
    ValueError
        For an argument out of range, an unknown type, status or sort, a
        malformed date or amount in the frame, or a cycle in ``parents``.

    Notes
    -----
    Time is O((n + e) * c) for c cycles in the worst case (Johnson [1]_),
    and in practice a few dozen edge visits per loop found on scale-free
    deal graphs; memory is O(n + e + output) integers.
    """
    t0 = time.perf_counter()
    f = _filters(
        max_len=max_len,
        min_len=min_len,
        types=types,
        status=status,
        min_amount=min_amount,
        since=since,
        until=until,
        within=within,
        ordered=ordered,
    )
    sort, limit, time_budget, max_loops = _budget(sort, limit, time_budget, max_loops)
    reserve = _reserve(reserve_per_loop)
    top = _rollup_fn(rollup, parents)
    _check_names(names)
    d = _counting(deals, f, top)
    net = _Net(d, f, names, top)
    return _find(net, entity, sort, limit, time_budget, max_loops, t0, reserve)


def _find(
    net: _Net,
    entity: str | None,
    sort: str,
    limit: int | None,
    time_budget: float | None,
    max_loops: int | None,
    t0: float,
    reserve: float = 0.0,
) -> LoopResult:
    plan = _plan(net, entity)
    if plan is None:
        return LoopResult()
    starts, rank, restrict = plan
    first = np.full(len(starts), -1, dtype=_I64)
    flat, lens, complete, note = net.search(
        starts, first, rank, restrict, time_budget, max_loops, t0, reserve
    )
    batch = _finish(net, flat, lens, sort, limit)
    return LoopResult._from_batch(batch, complete=complete, note=note)


def cycle_counts(
    src: np.ndarray,
    dst: np.ndarray,
    n_nodes: int,
    max_len: int,
    *,
    max_loops: int | None = None,
    time_budget: float | None = None,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """How many simple cycles of 2..``max_len`` nodes a directed graph has, by length
    and through each node, without building a single loop record.

    ``src[i] -> dst[i]`` are the edges between nodes ``0 .. n_nodes-1`` (parallel
    edges count once, self-loops not at all). Returns ``(by_len, by_node, stopped)``:
    ``by_len[k]`` cycles of k nodes, ``by_node[v]`` cycles through v, and
    ``stopped`` None, or "max_loops" / "time_budget" when the count was cut there
    (the counts are then of the cycles found so far). The null models count the
    loops of hundreds of random graphs this way.
    """
    t0 = time.perf_counter()
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    keep = s != d
    s, d = s[keep], d[keep]
    by_len = np.zeros(max_len + 1, dtype=np.int64)
    by_node = np.zeros(n_nodes, dtype=np.int64)
    if not len(s):
        return by_len, by_node, None
    f = _filters(max_len=max_len, min_len=2, types=None, status=None, min_amount=None,
                 since=None, until=None, within=None, ordered=False)
    _, _, time_budget, max_loops = _budget("length", None, time_budget, max_loops)
    codes, uniq = _factorize(np.concatenate([s, d]))  # node numbers, as the deals paths give them
    m = len(s)
    edges = _Deals(deal_id=np.arange(m).astype(str).astype(object), u=codes[:m].astype(_I64),
                   v=codes[m:].astype(_I64), amount=np.full(m, np.nan),
                   day=np.full(m, _UNDATED, dtype=_I32), type=np.full(m, "", dtype=object),
                   ids=[str(x) for x in uniq], all_ids=set())
    net = _Net(edges, f, None, None)
    plan = _plan(net, None)
    if plan is None:
        return by_len, by_node, None
    starts, rank, restrict = plan
    first = np.full(len(starts), -1, dtype=_I64)
    flat, lens, complete, note = net.search(starts, first, rank, restrict, time_budget, max_loops, t0)
    by_len += np.bincount(lens.astype(_I64), minlength=max_len + 1)[: max_len + 1]
    ids = np.array([int(x) for x in net.ids], dtype=_I64)
    np.add.at(by_node, ids[net.esrc[flat]], 1)
    stopped = None if complete else ("max_loops" if note and note.startswith("max_loops") else "time_budget")
    return by_len, by_node, stopped


class LoopIndex:
    """A snapshot of the deal graph that answers "which loops does this deal close?".

    Build it once from a deals frame (with the same filters as
    :func:`find_loops`); each :meth:`add` puts one deal into the snapshot and
    returns the loops whose legs contain that deal: the loops it creates,
    and the existing loops whose leg it joins as a parallel deal. Both are
    found by searching only the paths from the deal's payee back to its
    payer, at most ``max_len - 1`` steps long.

    >>> import pandas as pd
    >>> idx = LoopIndex(pd.DataFrame({"deal_id": ["d1", "d2"], "payer": ["a", "b"],
    ...                               "payee": ["b", "c"]}))
    >>> [loop.key for loop in idx.add({"deal_id": "d3", "payer": "c", "payee": "a"})]
    ['a>b>c']
    >>> [loop.key for loop in idx.add({"deal_id": "d4", "payer": "c", "payee": "a"})]
    ['a>b>c']
    """

    def __init__(
        self,
        deals: Deals,
        *,
        parents: Mapping[str, str | None] | None = None,
        names: Mapping[str, str] | None = None,
        rollup: bool = False,
        max_len: int = 6,
        types: Iterable[str] | None = None,
        status: Iterable[str] | None = None,
        min_amount: float | None = None,
        since: str | _dt.date | None = None,
        until: str | _dt.date | None = None,
        min_len: int = 2,
        within: int | None = None,
        ordered: bool = False,
        entity: str | None = None,
    ) -> None:
        self.filters = _filters(
            max_len=max_len,
            min_len=min_len,
            types=types,
            status=status,
            min_amount=min_amount,
            since=since,
            until=until,
            within=within,
            ordered=ordered,
        )
        self._top = _rollup_fn(rollup, parents)
        _check_names(names)
        d = _counting(deals, self.filters, self._top, keep_ids=True)
        self._deal_ids = d.all_ids
        net = self._net = _Net(d, self.filters, names, self._top)
        if entity is not None:
            _entity_node(net, entity)  # validates
        self._entity_id = entity
        # Room to grow in place: used lengths of the growable arrays.
        self._otop = len(net.onbr)
        self._rtop = len(net.rnbr)
        self._dtop = len(net.days)
        self._rank = np.zeros(max(net.n, 1), dtype=_I32)  # unused: no rank limit from one start
        net.inv = net.inv.astype(_I64)

    def __len__(self) -> int:
        """Number of counting deals in the snapshot."""
        return self._net.n_deals

    def add(
        self,
        new_deal: Mapping[str, Any] | pd.Series,
        *,
        sort: str = "length",
        limit: int | None = None,
        time_budget: float | None = None,
        max_loops: int | None = None,
        reserve_per_loop: float = 0.0,
    ) -> LoopResult:
        """Add one deal; return the loops (after adding it) whose legs contain it.

        That is every loop through the deal's leg: new loops, and loops that
        existed and now list this deal among the leg's parallel deals. A deal
        that does not count under the index's filters, or is a self-deal
        (also after rollup), is recorded and closes no loop.
        """
        t0 = time.perf_counter()
        sort, limit, time_budget, max_loops = _budget(sort, limit, time_budget, max_loops)
        reserve = _reserve(reserve_per_loop)
        deal = _one_deal(new_deal, self.filters, self._top)
        did = deal[0]
        if did in self._deal_ids:
            raise ValueError(
                f"deal {did!r} is already in the snapshot; give each deal a new deal_id"
            )
        self._deal_ids.add(did)
        if deal[1] is None:
            return LoopResult()
        net = self._net
        u = self._node(deal[1])
        v = self._node(deal[2])
        e = self._edge(u, v)
        self._append_deal(e, deal)
        seg = net.onbr[net.ostart[u] : net.oend[u]]
        fp = int(net.ostart[u]) + int(np.flatnonzero(seg == v)[0])
        starts = np.array([u], dtype=_I32)
        first = np.array([fp], dtype=_I64)
        if len(self._rank) < net.n:
            self._rank = np.zeros(2 * net.n, dtype=_I32)  # the kernel reads rank[start]
        flat, lens, complete, note = net.search(
            starts, first, self._rank, False, time_budget, max_loops, t0, reserve
        )
        ent = None
        if self._entity_id is not None:
            ent = _entity_node(net, self._entity_id)
            ent = -2 if ent is None else ent
        batch = _finish(net, flat, lens, sort, limit, ent, snapshot=True)
        return LoopResult._from_batch(batch, complete=complete, note=note)

    # -- growing the snapshot -----------------------------------------------------
    def _node(self, x: str) -> int:
        net = self._net
        i = net.pos.get(x)
        if i is not None:
            return i
        i = net.n
        net.n += 1
        net.ids.append(x)
        net.names.append(net._name(x))
        net.pos[x] = i
        for name in ("ostart", "oend", "rstart", "rend", "ocap", "rcap"):
            a = _grow(getattr(net, name), net.n)
            a[i] = 0
            setattr(net, name, a)
        return i

    def _edge(self, u: int, v: int) -> int:
        net = self._net
        seg = net.onbr[net.ostart[u] : net.oend[u]]
        hit = np.flatnonzero(seg == v)
        if len(hit):
            return int(net.oeid[net.ostart[u] + hit[0]])
        e = net.m
        net.m += 1
        net.esrc = _grow(net.esrc, net.m)
        net.edst = _grow(net.edst, net.m)
        net.esrc[e] = u
        net.edst[e] = v
        net.eptr = _grow(net.eptr, net.m + 1)
        net.eptr[e + 1] = net.eptr[e]  # no deals in the static part; they go in `extra`
        net.dstart = _grow(net.dstart, net.m)
        net.dend = _grow(net.dend, net.m)
        net.dstart[e] = 0
        net.dend[e] = 0
        onbr, oeid, self._otop = _push(
            u, v, e, net.ostart, net.oend, net.ocap, net.onbr, net.oeid, self._otop
        )
        assert oeid is not None
        net.onbr, net.oeid = onbr, oeid
        net.rnbr, _, self._rtop = _push(
            v, u, e, net.rstart, net.rend, net.rcap, net.rnbr, None, self._rtop
        )
        return e

    def _append_deal(self, e: int, deal: tuple[Any, ...]) -> None:
        net = self._net
        k = net.n_deals
        did, _, _, amount, day, typ = deal
        for name, val in (
            ("deal_id", did),
            ("amount", amount),
            ("day", day),
            ("type", typ),
            ("inv", e),
        ):
            a = _grow(getattr(net, name), k + 1)
            a[k] = val
            setattr(net, name, a)
        net.n_deals = k + 1
        net.extra.setdefault(e, []).append(k)
        net.legs.pop(e, None)
        net._e_amount = None
        net._e_last = None
        if self.filters.timed and day != _UNDATED:
            # The edge's days move to the end of the array, sorted, the new day in.
            s, t = int(net.dstart[e]), int(net.dend[e])
            new = np.sort(np.append(net.days[s:t], np.int32(day))).astype(_I32)
            top = self._dtop
            net.days = _grow(net.days, top + len(new))
            net.days[top : top + len(new)] = new
            net.dstart[e] = top
            net.dend[e] = top + len(new)
            self._dtop = top + len(new)


def loops_closed_by(
    deals: Deals, new_deal: Mapping[str, Any] | pd.Series, **filters: Any
) -> LoopResult:
    """The loops that ``new_deal`` would be part of, once added to ``deals``.

    Takes the same keyword arguments as :func:`find_loops`. The result is the
    loops of ``deals + new_deal`` whose legs contain the new deal: loops it
    closes, and loops that already existed whose leg it joins. For many
    questions against one frame, build a :class:`LoopIndex` once instead.
    """
    search = {
        k: filters.pop(k)
        for k in ("sort", "limit", "time_budget", "max_loops", "reserve_per_loop")
        if k in filters
    }
    allowed = {
        "max_len",
        "min_len",
        "entity",
        "types",
        "status",
        "min_amount",
        "since",
        "until",
        "within",
        "ordered",
        "rollup",
        "parents",
        "names",
    }
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(allowed | {'sort', 'limit', 'time_budget', 'max_loops', 'reserve_per_loop'}))}"
        )
    index = LoopIndex(deals, **filters)
    return index.add(new_deal, **search)
