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

Notes
-----
Nodes are numbered, edges stored as CSR arrays, and a compiled depth-first
search (``_cycles.search``, numba) starts from each node in turn, visiting
only nodes ranked after it (hubs first, so later searches run in ever
smaller graphs) and only nodes that a reverse breadth-first search found
within reach of the start. Time filters prune while searching. Results stay
as integer arrays until a loop is looked at: :class:`LoopResult` builds each
:class:`~circfin.graph.model.Loop` on first access.

References
----------
.. [1] D. B. Johnson, "Finding all the elementary circuits of a directed
   graph", SIAM J. Comput. 4(1), 1975.
.. [2] A. Gupta and T. Suzumura, "Finding All Bounded-Length Simple Cycles in
   a Directed Graph", arXiv:2105.10094, 2021.
.. [3] R. Kumar and T. Calders, "2SCENT: An Efficient Algorithm for
   Enumerating All Simple Temporal Cycles", PVLDB 11(11), 2018.
"""

from __future__ import annotations

import datetime as _dt
import gc
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, SupportsIndex, overload

import numpy as np
import pandas as pd

from . import _cycles
from .model import DEAL_STATUSES, DEAL_TYPES, Leg, Loop, date_bounds

__all__ = ["LoopIndex", "LoopResult", "find_loops", "loops_closed_by"]

SORTS: tuple[str, ...] = ("length", "amount", "date")
MAX_LEN_CAP = 12
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_UNDATED = np.int32(np.iinfo(np.int32).min)  # the day of an undated deal
_ISO_RE = r"(?:19|2[0-2])\d\d(?:-[01]\d(?:-[0-3]\d)?)?"
_I32 = np.int32
_I64 = np.int64
_STEP_CHUNK = 1 << 21  # edge visits between clock checks under a time budget
_OUT_CHUNK = 1 << 18  # cycles per output buffer


# --------------------------------------------------------------------------
# Results


class LoopResult(list):  # type: ignore[type-arg]
    """A list of :class:`~circfin.graph.model.Loop`, plus how the search ended.

    ``complete`` is False when a budget (``time_budget`` or ``max_loops``)
    stopped the search early; ``note`` then says which, and how many loops
    were found. Loops are built on first access (indexing, iterating), so a
    result of millions of loops costs integer arrays, not objects, until it
    is read; everything a list does works, and any change to the list
    builds all the loops first.
    """

    complete: bool
    note: str | None

    def __init__(self, loops: Iterable[Loop] = (), *, complete: bool = True,
                 note: str | None = None) -> None:
        super().__init__(loops)
        self.complete = complete
        self.note = note
        self._lazy: _Batch | None = None

    @classmethod
    def _from_batch(cls, batch: _Batch, *, complete: bool, note: str | None) -> LoopResult:
        self = cls(complete=complete, note=note)
        if len(batch):
            self._lazy = batch
        return self

    # -- laziness ---------------------------------------------------------
    def _fill(self) -> None:
        """Build every loop and store them in the list itself."""
        batch = self._lazy
        if batch is not None:
            self._lazy = None
            list.extend(self, batch.all())

    # -- reading ----------------------------------------------------------
    def __len__(self) -> int:
        batch = self._lazy
        return len(batch) if batch is not None else list.__len__(self)

    def __iter__(self) -> Iterator[Loop]:
        batch = self._lazy
        if batch is None:
            return list.__iter__(self)
        return batch.iter()

    def __reversed__(self) -> Iterator[Loop]:
        batch = self._lazy
        if batch is None:
            return list.__reversed__(self)
        return (batch.get(i) for i in range(len(batch) - 1, -1, -1))

    @overload
    def __getitem__(self, i: SupportsIndex) -> Loop: ...
    @overload
    def __getitem__(self, i: slice) -> list[Loop]: ...

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        batch = self._lazy
        if batch is None:
            return list.__getitem__(self, i)
        if isinstance(i, slice):
            return [batch.get(k) for k in range(*i.indices(len(batch)))]
        k = i.__index__()
        n = len(batch)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("LoopResult index out of range")
        return batch.get(k)

    def __contains__(self, item: object) -> bool:
        return any(x == item for x in self)

    def index(self, item: Any, start: SupportsIndex = 0, stop: SupportsIndex = 2**62) -> int:
        self._fill()
        return list.index(self, item, start, stop)

    def count(self, item: Any) -> int:
        return sum(1 for x in self if x == item)

    def copy(self) -> LoopResult:  # type: ignore[override]
        return LoopResult(self, complete=self.complete, note=self.note)

    __copy__ = copy

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_result, (list(self), self.complete, self.note))

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return self.__reduce__()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self, other))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def _cmp(self, other: object, op: Callable[[list[Loop], list[Loop]], bool]) -> bool:
        if not isinstance(other, list):
            return NotImplemented
        return op(list(self), list(other))

    def __lt__(self, other: object) -> bool:
        return self._cmp(other, list.__lt__)

    def __le__(self, other: object) -> bool:
        return self._cmp(other, list.__le__)

    def __gt__(self, other: object) -> bool:
        return self._cmp(other, list.__gt__)

    def __ge__(self, other: object) -> bool:
        return self._cmp(other, list.__ge__)

    def __add__(self, other: Iterable[Loop]) -> list[Loop]:  # type: ignore[override]
        return list(self) + list(other)

    def __radd__(self, other: Iterable[Loop]) -> list[Loop]:
        return list(other) + list(self)

    def __mul__(self, n: SupportsIndex) -> list[Loop]:  # type: ignore[override]
        return list(self) * n

    __rmul__ = __mul__

    def __repr__(self) -> str:
        n = len(self)
        tail = f"complete={self.complete!r}, note={self.note!r}"
        if n <= 6:
            return f"LoopResult({list(self)!r}, {tail})"
        keys = ", ".join(repr(self[i].key) for i in range(3))
        return f"<LoopResult of {n} loops ({keys}, ...), {tail}>"

    # -- writing: build everything, then behave as a list ----------------
    def __iadd__(self, other: Iterable[Loop]) -> LoopResult:  # type: ignore[override]
        self._fill()
        list.extend(self, other)
        return self

    def __imul__(self, n: SupportsIndex) -> LoopResult:  # type: ignore[override]
        self._fill()
        return list.__imul__(self, n)  # type: ignore[return-value]

    def __setitem__(self, i: Any, v: Any) -> None:
        self._fill()
        list.__setitem__(self, i, v)

    def __delitem__(self, i: Any) -> None:
        self._fill()
        list.__delitem__(self, i)

    def append(self, v: Loop) -> None:
        self._fill()
        list.append(self, v)

    def extend(self, vs: Iterable[Loop]) -> None:
        self._fill()
        list.extend(self, vs)

    def insert(self, i: SupportsIndex, v: Loop) -> None:
        self._fill()
        list.insert(self, i, v)

    def pop(self, i: SupportsIndex = -1) -> Loop:
        self._fill()
        return list.pop(self, i)

    def remove(self, v: Loop) -> None:
        self._fill()
        list.remove(self, v)

    def clear(self) -> None:
        self._lazy = None
        list.clear(self)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._fill()
        list.sort(self, *args, **kwargs)

    def reverse(self) -> None:
        self._fill()
        list.reverse(self)

    def __sizeof__(self) -> int:
        batch = self._lazy
        return list.__sizeof__(self) + (batch.nbytes() if batch is not None else 0)


def _rebuild_result(loops: list[Loop], complete: bool, note: str | None) -> LoopResult:
    return LoopResult(loops, complete=complete, note=note)


class _Batch:
    """Loops as integer arrays (rows in result order), built into objects on demand."""

    def __init__(self, net: _Net, nodes: np.ndarray, edges: np.ndarray, lens: np.ndarray) -> None:
        self.net = net
        self.nodes = nodes  # (m, k) int32, padded with -1
        self.edges = edges
        self.lens = lens  # (m,) int8
        self.cache: dict[int, Loop] = {}

    def __len__(self) -> int:
        return int(self.lens.shape[0])

    def nbytes(self) -> int:
        return int(self.nodes.nbytes + self.edges.nbytes + self.lens.nbytes)

    def get(self, i: int) -> Loop:
        loop = self.cache.get(i)
        if loop is None:
            loop = self._build(i, i + 1)[0]
        return loop

    def _build(self, b0: int, b1: int) -> list[Loop]:
        """Loops for rows b0..b1-1 (cached ones reused)."""
        net = self.net
        ids, names = net.ids.__getitem__, net.names.__getitem__
        leg = net.legs.__getitem__
        cache = self.cache
        out = []
        # Creating many objects triggers the cyclic GC over and over, each
        # pass longer than the last; these objects hold no cycles.
        enabled = gc.isenabled()
        gc.disable()
        try:
            net.build_legs(np.unique(self.edges[b0:b1]).tolist())
            for i, row, erow, n in zip(range(b0, b1), self.nodes[b0:b1].tolist(),
                                       self.edges[b0:b1].tolist(), self.lens[b0:b1].tolist()):
                loop = cache.get(i)
                if loop is None:
                    idt = tuple(map(ids, row[:n]))
                    loop = Loop(idt, tuple(map(names, row[:n])), tuple(map(leg, erow[:n])), ">".join(idt))
                    cache[i] = loop
                out.append(loop)
        finally:
            if enabled:
                gc.enable()
        return out

    def iter(self) -> Iterator[Loop]:
        m = len(self)
        block = 8192
        for b0 in range(0, m, block):
            yield from self._build(b0, min(m, b0 + block))

    def all(self) -> list[Loop]:
        return list(self.iter())


# --------------------------------------------------------------------------
# Arguments


@dataclass(frozen=True)
class _Filters:
    max_len: int
    min_len: int
    types: frozenset[str] | None
    status: frozenset[str] | None
    min_amount: float | None
    since: int | None  # day number (days since 1970-01-01), inclusive
    until: int | None
    within: int | None
    ordered: bool

    @property
    def timed(self) -> bool:
        return self.within is not None or self.ordered


def _day_number(d: _dt.date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def _iso(day: int) -> str:
    return _dt.date.fromordinal(int(day) + _EPOCH_ORDINAL).isoformat()


def _bound(value: str | _dt.date | None, name: str, last: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return _day_number(value)
    if not isinstance(value, str):
        raise ValueError(f"{name}={value!r}: give a date as YYYY-MM-DD, YYYY-MM or YYYY")
    try:
        first, end = date_bounds(value)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    return _day_number(end if last else first)


def _vocab(value: Iterable[str] | str | None, name: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    bad = sorted({str(v) for v in items if v not in allowed})
    if bad:
        raise ValueError(f"unknown {name} {', '.join(map(repr, bad))}; allowed: {', '.join(allowed)}")
    return frozenset(items)


def _int_arg(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return int(value)


def _filters(*, max_len: int, min_len: int, types: Any, status: Any, min_amount: Any,
             since: Any, until: Any, within: Any, ordered: Any) -> _Filters:
    max_len = _int_arg(max_len, "max_len")
    min_len = _int_arg(min_len, "min_len")
    if min_len < 2:
        raise ValueError(f"min_len={min_len}: a loop has at least 2 entities (min_len >= 2)")
    if max_len < min_len:
        raise ValueError(f"max_len={max_len} is below min_len={min_len}; need max_len >= min_len >= 2")
    if max_len > MAX_LEN_CAP:
        raise ValueError(f"max_len={max_len} is too long; allowed: 2..{MAX_LEN_CAP}")
    if min_amount is not None:
        if isinstance(min_amount, bool) or not isinstance(min_amount, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(min_amount)):
            raise ValueError(f"min_amount={min_amount!r}: give a finite number of USD")
        min_amount = float(min_amount)
    if within is not None:
        within = _int_arg(within, "within")
        if within < 0:
            raise ValueError(f"within={within}: give a number of days >= 0")
    if not isinstance(ordered, (bool, np.bool_)):
        raise ValueError(f"ordered must be True or False, not {ordered!r}")
    s = _bound(since, "since", last=False)
    u = _bound(until, "until", last=True)
    return _Filters(max_len=max_len, min_len=min_len,
                    types=_vocab(types, "type", DEAL_TYPES),
                    status=_vocab(status, "status", DEAL_STATUSES),
                    min_amount=min_amount, since=s, until=u, within=within, ordered=bool(ordered))


def _budget(sort: Any, limit: Any, time_budget: Any, max_loops: Any) -> tuple[str, int | None, float | None, int | None]:
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; allowed: {', '.join(SORTS)}")
    if limit is not None:
        limit = _int_arg(limit, "limit")
        if limit < 0:
            raise ValueError(f"limit={limit}: give a number of loops >= 0")
    if time_budget is not None:
        if isinstance(time_budget, bool) or not isinstance(time_budget, (int, float)) \
                or not time_budget > 0 or not math.isfinite(time_budget):
            raise ValueError(f"time_budget={time_budget!r}: give a number of seconds > 0")
        time_budget = float(time_budget)
    if max_loops is not None:
        max_loops = _int_arg(max_loops, "max_loops")
        if max_loops < 1:
            raise ValueError(f"max_loops={max_loops}: give a number of loops >= 1")
    return sort, limit, time_budget, max_loops


# --------------------------------------------------------------------------
# Deals frame -> counting deals


_REQUIRED = ("deal_id", "payer", "payee")


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _parse_day(value: Any) -> int:
    """A deal's day number (its date's first day), or _UNDATED; ValueError if malformed."""
    if _missing(value):
        return int(_UNDATED)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = str(int(value))  # a year that pandas read as a number
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if isinstance(value, _dt.datetime):
        return _day_number(value.date())
    if isinstance(value, _dt.date):
        return _day_number(value)
    if isinstance(value, np.datetime64):
        return _parse_day(pd.Timestamp(value))
    if isinstance(value, str):
        if not value.strip():
            return int(_UNDATED)
        return _day_number(date_bounds(value)[0])
    raise ValueError(f"{value!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")


def _parse_amount(value: Any) -> float:
    """A deal's amount in USD, NaN when undisclosed; ValueError if not a number."""
    if _missing(value):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"amount_usd {value!r} is not a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if not text:
            return math.nan
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError(f"amount_usd {value!r} is not a number")


def _as_id(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _by_unique(col: pd.Series, parse: Callable[[Any], Any], dtype: Any, na: Any, deal_ids: np.ndarray,
               what: str) -> np.ndarray:
    """Parse each distinct value once."""
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    parsed = np.empty(len(uniq) + 1, dtype=dtype)
    parsed[-1] = na  # code -1 (missing) picks the last slot
    for k, val in enumerate(uniq):
        try:
            parsed[k] = parse(val)
        except ValueError as e:
            row = int(np.flatnonzero(codes == k)[0])
            raise ValueError(f"deal {deal_ids[row]!r}: bad {what}: {e}") from None
    return parsed[codes]


def _days(col: pd.Series, deal_ids: np.ndarray) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)
        vals = col.to_numpy(dtype="datetime64[D]")
        return np.where(np.isnat(vals), _UNDATED, vals.astype(np.int64)).astype(_I32)
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    parsed = np.empty(len(uniq) + 1, dtype=_I32)
    parsed[-1] = _UNDATED  # code -1 (missing) picks the last slot
    u = pd.Series(uniq, dtype=object)
    # Well-formed ISO text in bulk (numpy reads YYYY, YYYY-MM, YYYY-MM-DD as
    # their first day, and rejects impossible days); anything else one by one.
    iso = np.array([type(x) is str for x in uniq.tolist()], dtype=bool)
    if iso.any():
        ok = u[iso].astype(str).str.fullmatch(_ISO_RE).to_numpy(dtype=bool)
        iso[np.flatnonzero(iso)[~ok]] = False
    if iso.any():
        try:
            d = np.array(u[iso].tolist(), dtype="datetime64[D]").astype(np.int64)
            ok = d <= _day_number(_dt.date(2200, 12, 31))
            parsed[np.flatnonzero(iso)[ok]] = d[ok]
            iso[np.flatnonzero(iso)[~ok]] = False
        except ValueError:
            iso[:] = False
    for k in np.flatnonzero(~iso).tolist():
        try:
            parsed[k] = _parse_day(uniq[k])
        except ValueError as e:
            row = int(np.flatnonzero(codes == k)[0])
            raise ValueError(f"deal {deal_ids[row]!r}: bad date: {e}") from None
    return parsed[codes]


def _amounts(col: pd.Series, deal_ids: np.ndarray) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    return _by_unique(col, _parse_amount, np.float64, np.nan, deal_ids, "amount_usd")


def _str_array(col: pd.Series) -> np.ndarray:
    """Object array of str, with '' for missing values."""
    arr = col.to_numpy(dtype=object)
    if len(arr) and pd.api.types.infer_dtype(arr, skipna=False) != "string":
        arr = np.array([_as_id(x) for x in arr], dtype=object)
    return arr


def _top_map(ids: Iterable[str], parents: Mapping[str, Any]) -> dict[str, str]:
    """id -> its top-most ancestor via parents; ValueError on a parent cycle."""
    top: dict[str, str] = {}

    def parent_of(x: str) -> str | None:
        p = parents.get(x)
        if p is None or (isinstance(p, float) and math.isnan(p)) or p == "":
            return None
        return str(p)

    for start in ids:
        if start in top:
            continue
        chain = [start]
        seen = {start}
        cur = start
        while True:
            if cur in top:
                root = top[cur]
                break
            p = parent_of(cur)
            if p is None:
                root = cur
                break
            if p in seen:
                cyc = chain[chain.index(p):] + [p]
                raise ValueError(f"parent cycle: {' -> '.join(cyc)}; fix the parents so that each "
                                 "chain ends at an entity with no parent")
            seen.add(p)
            chain.append(p)
            cur = p
        for x in chain:
            top[x] = root
    return top


@dataclass
class _Deals:
    """The counting, non-self deals after rollup, with node numbers."""

    deal_id: np.ndarray  # object (str)
    u: np.ndarray  # int64 node numbers
    v: np.ndarray
    amount: np.ndarray  # float64, NaN undisclosed
    day: np.ndarray  # int32, _UNDATED
    type: np.ndarray  # object (str or '')
    ids: list[str]  # node number -> id
    all_ids: set[str]  # every deal id in the frame (for LoopIndex duplicate checks)


def _counting(deals: pd.DataFrame, f: _Filters, top: Callable[[np.ndarray], np.ndarray] | None,
              keep_ids: bool = False) -> _Deals:
    if not isinstance(deals, pd.DataFrame):
        raise ValueError(f"deals must be a pandas DataFrame, not {type(deals).__name__}")
    missing = [c for c in _REQUIRED if c not in deals.columns]
    if missing:
        raise ValueError(f"deals frame lacks column(s) {', '.join(missing)}; "
                         "it needs deal_id, date, payer, payee, type, amount_usd, status")
    n = len(deals)
    did = _str_array(deals["deal_id"])
    if n and (did == "").any():
        row = int(np.flatnonzero(did == "")[0])
        raise ValueError(f"row {row} of the deals frame has no deal_id")
    payer = _str_array(deals["payer"])
    payee = _str_array(deals["payee"])
    mask = (payer != "") & (payee != "")
    empty = pd.Series([None] * n, index=deals.index, dtype=object)
    typ = _str_array(deals["type"]) if "type" in deals.columns else np.full(n, "", dtype=object)
    if f.types is not None:
        mask &= pd.Series(typ).isin(f.types).to_numpy()
    if f.status is not None:
        st = deals["status"] if "status" in deals.columns else empty
        mask &= st.isin(f.status).to_numpy()
    amt = _amounts(deals["amount_usd"], did) if "amount_usd" in deals.columns else np.full(n, np.nan)
    if f.min_amount is not None:
        with np.errstate(invalid="ignore"):
            mask &= amt >= f.min_amount
    day = _days(deals["date"], did) if "date" in deals.columns else np.full(n, _UNDATED, dtype=_I32)
    if f.since is not None:
        mask &= (day != _UNDATED) & (day >= f.since)
    if f.until is not None:
        mask &= (day != _UNDATED) & (day <= f.until)
    payer = payer[mask]
    payee = payee[mask]
    if top is not None and len(payer):
        payer = top(payer)
        payee = top(payee)
    codes, uniq = pd.factorize(np.concatenate([payer, payee]))
    m = len(payer)
    u = codes[:m].astype(_I64)
    v = codes[m:].astype(_I64)
    own = u != v
    sel = np.flatnonzero(mask)[own]
    return _Deals(deal_id=did[sel], u=u[own], v=v[own], amount=amt[sel], day=day[sel], type=typ[sel],
                  ids=[str(x) for x in uniq], all_ids=set(did.tolist()) if keep_ids else set())


# --------------------------------------------------------------------------
# The graph


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

    def __init__(self, d: _Deals, f: _Filters, names: Mapping[str, Any] | None,
                 top: Callable[[np.ndarray], np.ndarray] | None) -> None:
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
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        n = self.n
        if self.m == 0:
            self._build_adjacency(np.zeros(0, dtype=_I32))
            return np.zeros(0, dtype=_I32)
        a = csr_matrix((np.ones(self.m, dtype=np.int8), (self.esrc, self.edst)), shape=(n, n))
        _, lab = connected_components(a, directed=True, connection="strong")
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
    def build_legs(self, edges: list[int]) -> None:
        """Make the Leg of each edge not built yet (in one gather, not one per edge)."""
        edges = [e for e in edges if e >= 0 and e not in self.legs]
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
        ids, names, extra, legs = self.ids, self.names, self.extra, self.legs
        undated = int(_UNDATED)
        at = 0
        for e, c, u, v in zip(edges, cnt.tolist(), src, dst):
            d_ids, d_amt, d_day, d_typ = did[at: at + c], amt[at: at + c], day[at: at + c], typ[at: at + c]
            at += c
            for k in extra.get(e, ()):
                d_ids.append(self.deal_id[k])
                d_amt.append(float(self.amount[k]))
                d_day.append(int(self.day[k]))
                d_typ.append(self.type[k])
            amts = [x for x in d_amt if x == x]
            days = [x for x in d_day if x != undated]
            legs[e] = Leg(ids[u], ids[v], names[u], names[v], tuple(sorted(d_ids)),
                          math.fsum(amts) if amts else None, tuple(sorted({t for t in d_typ if t})),
                          _iso(min(days)) if days else None, _iso(max(days)) if days else None)

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

    def search(self, starts: np.ndarray, first_pos: np.ndarray, rank: np.ndarray, restrict: bool,
               time_budget: float | None, max_loops: int | None,
               t0: float) -> tuple[np.ndarray, np.ndarray, bool, str | None]:
        """Run the kernel to the end or a budget; (edges flat, lengths, complete, note)."""
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
        found_limit = max_loops if max_loops is not None else (1 << 62)
        within = -1 if f.within is None else f.within
        complete, note = True, None
        while True:
            code = _cycles.search(
                self.ostart, self.oend, self.onbr, self.oeid, self.rstart, self.rend, self.rnbr,
                starts, first_pos, rank, restrict, f.min_len, k, within, f.ordered,
                self.dstart, self.dend, self.days, ist, *walk,
                self.onpath, self.dstamp, self.dist, self.queue, out_e, out_len, step, found_limit)
            if code == _cycles.FULL:
                chunks_e.append(out_e[: ist[_cycles.S_EPOS]].copy())
                chunks_l.append(out_len[: ist[_cycles.S_NOUT]].copy())
                ist[_cycles.S_EPOS] = 0
                ist[_cycles.S_NOUT] = 0
            elif code == _cycles.LIMIT:
                complete = False
                note = f"max_loops={max_loops} reached: stopped after {int(ist[_cycles.S_FOUND]):,} loops"
                break
            elif code == _cycles.DONE:
                break
            # PAUSED or FULL: go on unless the clock ran out.
            # Budget the sorting and rotating still to come too (~40 ns per edge slot).
            pending = sum(len(c) for c in chunks_e) + int(ist[_cycles.S_EPOS])
            if time_budget is not None and time.perf_counter() - t0 + 4e-8 * pending >= time_budget:
                complete = False
                note = (f"time_budget={time_budget:g}s reached: stopped after "
                        f"{int(ist[_cycles.S_FOUND]):,} loops")
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


# --------------------------------------------------------------------------
# Cycles (edge arrays) -> sorted, canonical batch


def _finish(net: _Net, flat: np.ndarray, lens: np.ndarray, sort: str, limit: int | None,
            entity: int | None = None) -> _Batch:
    """Rotate each cycle to its smallest id, sort, cut to ``limit``; ``entity``
    keeps only the cycles through that node."""
    k = net.f.max_len
    if entity is not None and len(lens):
        off = np.zeros(len(lens) + 1, dtype=_I64)
        np.cumsum(lens, out=off[1:])
        hit = np.add.reduceat((net.esrc[flat] == entity).astype(np.int8), off[:-1]) > 0
        flat = flat[np.repeat(hit, lens.astype(_I64))]
        lens = lens[hit]
    present = np.zeros(max(net.n, 1), dtype=np.bool_)
    present[net.esrc[flat]] = True
    r0, r1 = net.id_ranks(present)
    nodes, edges, out_lens, start = _cycles.canonical(flat, lens, net.esrc, r0, k)
    total = len(out_lens)
    if total > 1:
        if r1 is not None:
            perm = _cycles.key_order(nodes, start, r0, r1, int(present.sum()), net.f.min_len, k)
        else:  # some id holds '>': compare the key strings themselves
            ids = net.ids
            keys = [(int(L), ">".join([ids[x] for x in row[:L]]))
                    for row, L in zip(nodes.tolist(), out_lens.tolist())]
            perm = np.array(sorted(range(total), key=keys.__getitem__), dtype=_I64)
        if sort != "length":
            valid = edges[perm] >= 0
            ed = np.where(valid, edges[perm], 0)
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
        nodes, edges, out_lens = _cycles.take_rows(nodes, edges, out_lens, perm)
    elif limit is not None and limit < total:
        nodes, edges, out_lens = nodes[:limit], edges[:limit], out_lens[:limit]
    return _Batch(net, nodes, edges, out_lens)


# --------------------------------------------------------------------------
# Public API


def _rollup_fn(rollup: bool, parents: Mapping[str, Any] | None) -> Callable[[np.ndarray], np.ndarray] | None:
    if not isinstance(rollup, (bool, np.bool_)):
        raise ValueError(f"rollup must be True or False, not {rollup!r}")
    if not rollup:
        return None
    if parents is None:
        raise ValueError("rollup=True needs parents: a mapping of entity id -> parent id (or None)")
    if not hasattr(parents, "get"):
        raise ValueError("parents must be a mapping of entity id -> parent id (or None)")
    cache: dict[str, str] = {}

    def top(arr: np.ndarray) -> np.ndarray:
        inv, uniq = pd.factorize(arr)
        need = [x for x in uniq.tolist() if x not in cache]
        if need:
            cache.update(_top_map(need, parents))
        mapped = np.array([cache[x] for x in uniq.tolist()], dtype=object)
        return mapped[inv]

    if parents:  # fail fast on a parent cycle anywhere in the map
        cache.update(_top_map([str(x) for x in parents], parents))
    return top


def find_loops(
    deals: pd.DataFrame,
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
) -> LoopResult:
    """Every loop (simple directed cycle of payments) in a deals frame.

    Parameters
    ----------
    deals : DataFrame
        Columns ``deal_id, date, payer, payee, type, amount_usd,
        amount_qualifier, status``; others are ignored.
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
    f = _filters(max_len=max_len, min_len=min_len, types=types, status=status, min_amount=min_amount,
                 since=since, until=until, within=within, ordered=ordered)
    sort, limit, time_budget, max_loops = _budget(sort, limit, time_budget, max_loops)
    top = _rollup_fn(rollup, parents)
    _check_names(names)
    d = _counting(deals, f, top)
    net = _Net(d, f, names, top)
    return _find(net, entity, sort, limit, time_budget, max_loops, t0)


def _check_names(names: Any) -> None:
    if names is not None and not hasattr(names, "get"):
        raise ValueError("names must be a mapping of entity id -> display name")


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


def _find(net: _Net, entity: str | None, sort: str, limit: int | None, time_budget: float | None,
          max_loops: int | None, t0: float) -> LoopResult:
    plan = _plan(net, entity)
    if plan is None:
        return LoopResult()
    starts, rank, restrict = plan
    first = np.full(len(starts), -1, dtype=_I64)
    flat, lens, complete, note = net.search(starts, first, rank, restrict, time_budget, max_loops, t0)
    batch = _finish(net, flat, lens, sort, limit)
    return LoopResult._from_batch(batch, complete=complete, note=note)


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
        deals: pd.DataFrame,
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
        self.filters = _filters(max_len=max_len, min_len=min_len, types=types, status=status,
                                min_amount=min_amount, since=since, until=until, within=within,
                                ordered=ordered)
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
        net.inv = net.inv.astype(_I64)

    def __len__(self) -> int:
        """Number of counting deals in the snapshot."""
        return self._net.n_deals

    def add(self, new_deal: Mapping[str, Any] | pd.Series, *, sort: str = "length",
            limit: int | None = None, time_budget: float | None = None,
            max_loops: int | None = None) -> LoopResult:
        """Add one deal; return the loops (after adding it) whose legs contain it.

        That is every loop through the deal's leg: new loops, and loops that
        existed and now list this deal among the leg's parallel deals. A deal
        that does not count under the index's filters, or is a self-deal
        (also after rollup), is recorded and closes no loop.
        """
        t0 = time.perf_counter()
        sort, limit, time_budget, max_loops = _budget(sort, limit, time_budget, max_loops)
        deal = _one_deal(new_deal, self.filters, self._top)
        did = deal[0]
        if did in self._deal_ids:
            raise ValueError(f"deal {did!r} is already in the snapshot; give each deal a new deal_id")
        self._deal_ids.add(did)
        if deal[1] is None:
            return LoopResult()
        net = self._net
        u = self._node(deal[1])
        v = self._node(deal[2])
        e = self._edge(u, v)
        self._append_deal(e, deal)
        seg = net.onbr[net.ostart[u]: net.oend[u]]
        fp = int(net.ostart[u]) + int(np.flatnonzero(seg == v)[0])
        starts = np.array([u], dtype=_I32)
        first = np.array([fp], dtype=_I64)
        if len(self._rank) < net.n:
            self._rank = np.zeros(2 * net.n, dtype=_I32)
        flat, lens, complete, note = net.search(starts, first, self._rank, False, time_budget,
                                                max_loops, t0)
        ent = None
        if self._entity_id is not None:
            ent = _entity_node(net, self._entity_id)
            ent = -2 if ent is None else ent
        batch = _finish(net, flat, lens, sort, limit, ent)
        return LoopResult._from_batch(batch, complete=complete, note=note)

    _rank = np.zeros(0, dtype=_I32)

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
        seg = net.onbr[net.ostart[u]: net.oend[u]]
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
        net.onbr, net.oeid, self._otop = _push(u, v, e, net.ostart, net.oend, net.ocap,
                                               net.onbr, net.oeid, self._otop)
        net.rnbr, _, self._rtop = _push(v, u, e, net.rstart, net.rend, net.rcap, net.rnbr, None,
                                        self._rtop)
        return e

    def _append_deal(self, e: int, deal: tuple[Any, ...]) -> None:
        net = self._net
        k = net.n_deals
        did, _, _, amount, day, typ = deal
        for name, val in (("deal_id", did), ("amount", amount), ("day", day), ("type", typ),
                          ("inv", e)):
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
            net.days[top: top + len(new)] = new
            net.dstart[e] = top
            net.dend[e] = top + len(new)
            self._dtop = top + len(new)


def _push(x: int, y: int, e: int, start: np.ndarray, end: np.ndarray, cap: np.ndarray,
          nbr: np.ndarray, eid: np.ndarray | None, top: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Append y (edge e) to x's adjacency segment; a full segment moves to the
    end of the array with twice the room. Returns the arrays and their used length."""
    s, t = int(start[x]), int(end[x])
    if t - s >= cap[x]:
        size = t - s
        newcap = max(4, 2 * size)
        nbr = _grow(nbr, top + newcap)
        nbr[top: top + size] = nbr[s:t]
        if eid is not None:
            eid = _grow(eid, top + newcap)
            eid[top: top + size] = eid[s:t]
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


def _one_deal(new_deal: Mapping[str, Any] | pd.Series, f: _Filters,
              top: Callable[[np.ndarray], np.ndarray] | None) -> tuple[Any, ...]:
    """(deal_id, payer, payee, amount, day, type) of one deal, payer None if it doesn't count.

    The same rules as the frame path (:func:`_counting`), for one row.
    """
    if isinstance(new_deal, pd.Series):
        row = new_deal.to_dict()
    elif isinstance(new_deal, Mapping):
        row = new_deal
    else:
        raise ValueError("new_deal must be a mapping or a pandas Series with deal_id, payer, payee")
    missing = [c for c in _REQUIRED if _as_id(row.get(c)) == ""]
    if missing:
        raise ValueError(f"new_deal lacks {', '.join(missing)}; it needs deal_id, payer and payee")
    did = _as_id(row["deal_id"])
    try:
        amount = _parse_amount(row.get("amount_usd"))
        day = _parse_day(row.get("date"))
    except ValueError as e:
        raise ValueError(f"deal {did!r}: {e}") from None
    typ = _as_id(row.get("type"))
    payer, payee = _as_id(row["payer"]), _as_id(row["payee"])
    counts = not (
        (f.types is not None and typ not in f.types)
        or (f.status is not None and row.get("status") not in f.status)
        or (f.min_amount is not None and not amount >= f.min_amount)
        or (f.since is not None and (day == _UNDATED or day < f.since))
        or (f.until is not None and (day == _UNDATED or day > f.until))
    )
    if counts and top is not None:
        payer, payee = (str(x) for x in top(np.array([payer, payee], dtype=object)))
    if not counts or payer == payee:
        return (did, None, None, amount, day, typ)
    return (did, payer, payee, amount, day, typ)


def loops_closed_by(deals: pd.DataFrame, new_deal: Mapping[str, Any] | pd.Series, **filters: Any) -> LoopResult:
    """The loops that ``new_deal`` would be part of, once added to ``deals``.

    Takes the same keyword arguments as :func:`find_loops`. The result is the
    loops of ``deals + new_deal`` whose legs contain the new deal: loops it
    closes, and loops that already existed whose leg it joins. For many
    questions against one frame, build a :class:`LoopIndex` once instead.
    """
    search = {k: filters.pop(k) for k in ("sort", "limit", "time_budget", "max_loops") if k in filters}
    allowed = {"max_len", "min_len", "entity", "types", "status", "min_amount", "since", "until",
               "within", "ordered", "rollup", "parents", "names"}
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise ValueError(f"unknown argument(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(sorted(allowed | {'sort', 'limit', 'time_budget', 'max_loops'}))}")
    index = LoopIndex(deals, **filters)
    return index.add(new_deal, **search)
