"""A brute-force reference for loop finding, written to be obviously right.

It shares nothing with the engine but ``date_bounds``: it walks the frame
row by row, applies every filter literally, tries every ordering of every
subset of entities, and for ``within``/``ordered`` tries every choice of one
deal per leg. Exponential, so only for small frames (a handful of entities).

Both loop engines (the in-memory one and the Cypher one) are tested against
it:

    >>> import pandas as pd
    >>> deals = pd.DataFrame({"deal_id": ["d1", "d2", "d3"], "payer": ["a", "b", "c"],
    ...                       "payee": ["b", "c", "a"]})
    >>> brute_force_loops(deals)
    {'a>b>c': (('d1',), ('d2',), ('d3',))}
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from circfin.graph.model import date_bounds

__all__ = ["brute_force_loops"]


def _missing(x: Any) -> bool:
    return x is None or x is pd.NaT or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _text(x: Any) -> str | None:
    if _missing(x):
        return None
    s = str(x)
    return s if s != "" else None


def _day(x: Any) -> dt.date | None:
    """The first day a deal's date can mean; None when undated."""
    if _missing(x):
        return None
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, int):
        x = str(x)
    if isinstance(x, str) and x.strip() == "":
        return None
    return date_bounds(x)[0]


def _amount(x: Any) -> float | None:
    if _missing(x):
        return None
    if isinstance(x, str):
        x = x.strip().replace(",", "").replace("_", "")
        if x == "":
            return None
    value = float(x)
    return None if math.isnan(value) else value


def _bound(x: str | dt.date | None, last: bool) -> dt.date | None:
    if x is None:
        return None
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    first, end = date_bounds(x)
    return end if last else first


def _top(x: str, parents: Mapping[str, Any]) -> str:
    seen = [x]
    while True:
        p = parents.get(x)
        if _missing(p) or p == "":
            return x
        p = str(p)
        if p in seen:
            raise ValueError(f"parent cycle through {p!r}")
        seen.append(p)
        x = p


def brute_force_loops(
    deals: pd.DataFrame,
    *,
    max_len: int = 6,
    min_len: int = 2,
    entity: str | None = None,
    types: Iterable[str] | None = None,
    status: Iterable[str] | None = None,
    min_amount: float | None = None,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    within: int | None = None,
    ordered: bool = False,
    rollup: bool = False,
    parents: Mapping[str, str | None] | None = None,
    names: Mapping[str, str] | None = None,  # display only; accepted for the same signature
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every loop's key -> the sorted deal ids of each of its legs, in flow order."""
    type_set = None if types is None else ({types} if isinstance(types, str) else set(types))
    status_set = None if status is None else ({status} if isinstance(status, str) else set(status))
    lo = _bound(since, last=False)
    hi = _bound(until, last=True)
    parents = parents or {}
    if rollup:
        for k in list(parents):
            _top(str(k), parents)  # a parent cycle anywhere is an error

    # leg (payer, payee) -> [(deal_id, day or None)]
    legs: dict[tuple[str, str], list[tuple[str, dt.date | None]]] = {}
    for row in deals.to_dict("records"):
        payer, payee = _text(row.get("payer")), _text(row.get("payee"))
        day = _day(row.get("date"))
        amount = _amount(row.get("amount_usd"))
        if payer is None or payee is None:
            continue
        if type_set is not None and row.get("type") not in type_set:
            continue
        if status_set is not None and row.get("status") not in status_set:
            continue
        if min_amount is not None and (amount is None or amount < min_amount):
            continue
        if lo is not None and (day is None or day < lo):
            continue
        if hi is not None and (day is None or day > hi):
            continue
        if rollup:
            payer, payee = _top(payer, parents), _top(payee, parents)
        if payer == payee:
            continue
        legs.setdefault((payer, payee), []).append((str(row["deal_id"]), day))

    target = None
    if entity is not None:
        target = _top(entity, parents) if rollup else entity

    nodes = sorted({x for leg in legs for x in leg})
    found: dict[str, tuple[tuple[str, ...], ...]] = {}
    for size in range(min_len, max_len + 1):
        for subset in itertools.combinations(nodes, size):
            first, rest = subset[0], subset[1:]  # subsets come sorted: first is the smallest
            for perm in itertools.permutations(rest):
                cycle = (first, *perm)
                steps = [(cycle[i], cycle[(i + 1) % size]) for i in range(size)]
                if not all(s in legs for s in steps):
                    continue
                if target is not None and target not in cycle:
                    continue
                if (within is not None or ordered) and not _some_choice(
                    [legs[s] for s in steps], within, ordered
                ):
                    continue
                found[">".join(cycle)] = tuple(tuple(sorted(d for d, _ in legs[s])) for s in steps)
    return found


def _some_choice(
    legs: list[list[tuple[str, dt.date | None]]], within: int | None, ordered: bool
) -> bool:
    """Is there one dated deal per leg satisfying within and/or ordered?"""
    dated = [[day for _, day in leg if day is not None] for leg in legs]
    for days in itertools.product(*dated):
        if within is not None and (max(days) - min(days)).days > within:
            continue
        if ordered and not any(
            all(
                days[(r + i) % len(days)] <= days[(r + i + 1) % len(days)]
                for i in range(len(days) - 1)
            )
            for r in range(len(days))
        ):
            continue
        return True
    return False
