"""The web over time: for each period end, the web as ``--as-of`` that day sees it.

Each row is the web as of one date exactly as :func:`circfin.loops.from_store.snapshot`
defines it (only deals dated on or before it, each with its status then): the deals
that count, their disclosed committed dollars, the loops (the entity-level simple
cycles ``circfin loops`` counts), the Finn cycling index and the five highest return
shares (``circfin circularity``). The store is read once, as of no date; each
period's view is derived in memory from the deals' days and status histories
(``ev_days``, ``ev_statuses``), so a timeline of forty quarters costs one read.

>>> [d.isoformat() for d in period_ends(_dt.date(2024, 1, 15), _dt.date(2024, 8, 1), "quarter")]
['2024-03-31', '2024-06-30', '2024-08-01']
>>> [d.isoformat() for d in period_ends(_dt.date(2023, 12, 31), _dt.date(2024, 2, 29), "month")]
['2023-12-31', '2024-01-31', '2024-02-29']
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..display import plain_number
from ..errors import InputError
from ..graph.model import DEAL_STATUSES, DEAL_TYPES, date_bounds
from ..loops.from_store import (
    DEFAULT_MAX_LOOPS,
    DEFAULT_STATUSES,
    DEFAULT_TIME_BUDGET,
    Budget,
    Snapshot,
    as_of_day,
    status_as_of,
)

__all__ = ["EVERY", "TOP", "TimelineRow", "period_ends", "snapshot_as_of", "timeline"]

EVERY = ("quarter", "month", "year")
TOP = 5  # return shares listed per period
_EPOCH = _dt.date(1970, 1, 1)
_QUARTER_END = {1: 3, 2: 3, 3: 3, 4: 6, 5: 6, 6: 6, 7: 9, 8: 9, 9: 9, 10: 12, 11: 12, 12: 12}


@dataclass(frozen=True)
class TimelineRow:
    """The web as of one date. ``loops_complete`` is False when the loop search of that
    date was cut by the budget (``loops`` is then a lower bound)."""

    as_of: str
    deals: int
    committed_usd: float
    loops: int
    fci: float
    top: tuple[dict[str, Any], ...] = ()
    loops_complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "deals": self.deals,
                "committed_usd": plain_number(self.committed_usd), "loops": self.loops,
                "fci": self.fci, "top": [dict(t) for t in self.top],
                "loops_complete": self.loops_complete}


def _period_end(d: _dt.date, every: str) -> _dt.date:
    """The last day of the month, quarter or year that ``d`` falls in."""
    if every == "year":
        return _dt.date(d.year, 12, 31)
    month = d.month if every == "month" else _QUARTER_END[d.month]
    return _dt.date(d.year, month, calendar.monthrange(d.year, month)[1])


def period_ends(first: _dt.date, last: _dt.date, every: str = "quarter") -> list[_dt.date]:
    """The ends of the periods from the one ``first`` falls in up to ``last``; the final
    one is ``last`` itself (a partial period, unless ``last`` is a period end)."""
    if every not in EVERY:
        raise InputError(f"--every: use quarter, month or year, not {every!r}")
    if first > last:
        raise InputError(f"--since {first.isoformat()} is after --as-of {last.isoformat()}")
    ends: list[_dt.date] = []
    d = _period_end(first, every)
    while d < last:
        ends.append(d)
        d = _period_end(d + _dt.timedelta(days=1), every)
    ends.append(last)
    return ends


def _check(values: Iterable[str] | None, allowed: tuple[str, ...], what: str) -> list[str] | None:
    if values is None:
        return None
    vals = list(values)
    bad = [v for v in vals if v not in allowed]
    if bad:
        raise InputError(f"unknown {what} {', '.join(map(repr, bad))}; use {', '.join(allowed)}")
    return vals


def _day(d: _dt.date) -> int:
    return (d - _EPOCH).days


def snapshot_as_of(snap: Snapshot, day: int, *, confidences: Sequence[str] | None = None) -> Snapshot:
    """``snap`` as :func:`~circfin.loops.from_store.snapshot` reads the store as of day
    number ``day``, in memory: only deals dated on or before it, each with its status then
    (from the deal's whole status history, which every snapshot keeps); members, events
    and financials of those deals up to it. ``snap`` is read as of no date, or as of
    ``day`` or later. Entities keep their latest financials of that read (the timeline
    reads none of them). ``confidences``: only deals of these confidences (``--min-confidence``)."""
    read = as_of_day(snap.as_of)
    if read is not None and day > read:
        raise ValueError(f"the snapshot is as of {snap.as_of}: it cannot show the web on a later day "
                         f"({(_EPOCH + _dt.timedelta(days=day)).isoformat()})")
    frame = snap.deals
    if len(frame):
        days = pd.to_numeric(frame["day"], errors="coerce")
        keep = days.notna() & (days <= day)
        if confidences is not None:
            keep &= frame["confidence"].isin(list(confidences))
        frame = frame[keep.to_numpy()].reset_index(drop=True)
        frame["status"] = [status_as_of(st, d, s, day) for st, d, s in
                           zip(frame["status"], frame["ev_days"], frame["ev_statuses"], strict=True)]
    kept = set(frame["deal_id"]) if len(frame) else set()
    iso = (_EPOCH + _dt.timedelta(days=day)).isoformat()
    return replace(snap, deals=frame, as_of=iso,
                   participants=[r for r in snap.participants if r["deal_id"] in kept],
                   events=[r for r in snap.events if r["deal_id"] in kept and r["day"] <= day],
                   financials=[r for r in snap.financials if r["day"] <= day])


@dataclass
class _Counted:
    deals: int
    committed_usd: float


def _counted(frame: pd.DataFrame, types: list[str] | None, status: list[str] | None) -> _Counted:
    if not len(frame):
        return _Counted(0, 0.0)
    keep = np.ones(len(frame), dtype=bool)
    if types is not None:
        keep &= frame["type"].isin(types).to_numpy()
    if status is not None:
        keep &= frame["status"].isin(status).to_numpy()
    amounts = pd.to_numeric(frame["amount_usd"][keep], errors="coerce")
    total = float(amounts[np.isfinite(amounts)].sum()) if len(amounts) else 0.0
    return _Counted(int(keep.sum()), total)


def _first_day(snap: Snapshot, types: list[str] | None, confidences: Sequence[str] | None) -> int | None:
    frame = snap.deals
    if not len(frame):
        return None
    keep = pd.to_numeric(frame["day"], errors="coerce").notna()
    if types is not None:
        keep &= frame["type"].isin(types)
    if confidences is not None:
        keep &= frame["confidence"].isin(list(confidences))
    days = pd.to_numeric(frame["day"][keep], errors="coerce")
    return None if days.empty else int(days.min())


def _change_days(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """The sorted days on which deals are dated, and on which their events fall."""
    frame = snap.deals
    if not len(frame):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    days = pd.to_numeric(frame["day"], errors="coerce").dropna().to_numpy(dtype=np.int64)
    events = [int(d) for ds in frame["ev_days"] if isinstance(ds, (list, tuple)) for d in ds]
    return np.sort(days), np.sort(np.asarray(events, dtype=np.int64))


@dataclass
class Timeline:
    """The rows, oldest first, and the budget that bounded the loop searches."""

    rows: list[TimelineRow]
    budget: Budget = field(default_factory=Budget)
    every: str = "quarter"

    @property
    def complete(self) -> bool:
        return all(r.loops_complete for r in self.rows)


def timeline(snap: Snapshot, *, every: str = "quarter", since: str | _dt.date | None = None,
             as_of: str | _dt.date | None = None, types: Iterable[str] | None = None,
             status: Iterable[str] | None = DEFAULT_STATUSES,
             confidences: Sequence[str] | None = None, min_len: int = 2, max_len: int = 6,
             undisclosed: str = "skip", top: int = TOP, budget: Budget | None = None) -> Timeline:
    """The web at each period end from ``since`` to ``as_of``: a :class:`Timeline`.

    ``snap``: :func:`~circfin.loops.from_store.snapshot` of the store, read as of no date
    (everything, with current statuses) or as of ``as_of`` or later (each deal keeps its
    whole status history, so earlier days are derived from it). ``every``: quarter, month or year. ``since``
    (a date or YYYY[-MM[-DD]]; default: the first dated deal that counts under ``types``
    and ``confidences``): the first period is the one its first day falls in.
    ``as_of`` (default: the snapshot's date, else today): the last row, the web on that day. ``types``,
    ``status`` (None: every status), ``confidences`` (None: every confidence):
    which deals count, as in ``circfin loops`` and ``circfin circularity``.
    Each row's loops are the loops of ``min_len..max_len`` entities; the searches
    share ``budget`` (default: :data:`DEFAULT_TIME_BUDGET` seconds,
    :data:`DEFAULT_MAX_LOOPS` loops per date). ``top``: return shares listed per
    row (the entities with the highest non-zero return share).
    """
    from ..analytics.circularity import circularity
    from ..loops.engine import find_loops

    if every not in EVERY:
        raise InputError(f"--every: use quarter, month or year, not {every!r}")
    types_l = _check(types, DEAL_TYPES, "deal type")
    status_l = _check(status, DEAL_STATUSES, "status")
    if budget is None:
        budget = Budget(time_budget=DEFAULT_TIME_BUDGET, max_loops=DEFAULT_MAX_LOOPS)
    last_day = as_of_day(as_of if as_of is not None else (snap.as_of or _dt.date.today()))
    assert last_day is not None
    read = as_of_day(snap.as_of)
    if read is not None and last_day > read:
        raise ValueError(f"the snapshot is as of {snap.as_of}; a timeline to {_EPOCH + _dt.timedelta(days=last_day)} "
                         "needs one read as of that day or later (or of no date)")
    last = _EPOCH + _dt.timedelta(days=last_day)
    if since is not None:
        try:
            first = since if isinstance(since, _dt.date) else date_bounds(str(since))[0]
        except ValueError as e:
            raise InputError(f"--since: {e}") from None
    else:
        fd = _first_day(snap, types_l, confidences)
        first = last if fd is None else min(last, _EPOCH + _dt.timedelta(days=fd))
    names = snap.names
    parents = snap.parents
    deal_days, event_days = _change_days(snap)
    rows: list[TimelineRow] = []
    seen: tuple[int, int] | None = None
    for end in period_ends(first, last, every):
        # The web as of a day changes only when a deal is dated or an event falls between
        # two dates: with neither, the row before holds (as of this date).
        changes = (int(np.searchsorted(deal_days, _day(end), "right")),
                   int(np.searchsorted(event_days, _day(end), "right")))
        if rows and changes == seen:
            rows.append(replace(rows[-1], as_of=end.isoformat()))
            continue
        seen = changes
        view = snapshot_as_of(snap, _day(end), confidences=confidences)
        counted = _counted(view.deals, types_l, status_l)
        found = find_loops(view.deals, min_len=min_len, max_len=max_len, types=types_l,
                           status=status_l, parents=parents, names=names,
                           time_budget=budget.remaining(), max_loops=budget.max_loops)
        if not found.complete:
            budget.stop("time_budget" if budget.expired() else "max_loops", len(found),
                        f"(as of {end.isoformat()})")
        circ = circularity(view, types=types_l, status=status_l, confidences=confidences,
                           undisclosed=undisclosed)
        fci = float(circ.fci)
        best = [e for e in circ.entities if e["return_share"] and e["return_share"] > 0][:top]
        rows.append(TimelineRow(
            as_of=end.isoformat(), deals=counted.deals, committed_usd=counted.committed_usd,
            loops=len(found), fci=0.0 if math.isnan(fci) else fci,
            top=tuple({"id": e["id"], "name": e["name"], "return_share": float(e["return_share"])}
                      for e in best),
            loops_complete=bool(found.complete)))
    return Timeline(rows, budget, every)
