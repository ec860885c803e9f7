"""Loops from a store, by the in-memory engine or by Cypher in the database.

Both engines take the same filters and return the same :class:`Loop` records;
the tests hold them to that on random graphs.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import queries
from ..errors import InputError
from ..ingest.validate import name_key
from .model import DEAL_STATUSES, DEAL_TYPES, Leg, Loop, date_bounds
from .store import GraphStore

__all__ = ["DEFAULT_STATUSES", "Snapshot", "loops_from_store", "resolve_entity", "snapshot"]

# Cancelled deals no longer move money: they stop counting unless asked for.
DEFAULT_STATUSES: tuple[str, ...] = tuple(s for s in DEAL_STATUSES if s != "cancelled")
ENGINES = ("auto", "memory", "cypher")
_EPOCH = _dt.date(1970, 1, 1)


@dataclass
class Snapshot:
    """The deals and entities of a store, as the in-memory engine reads them."""

    deals: pd.DataFrame
    entities: list[dict[str, Any]]

    @property
    def names(self) -> dict[str, str]:
        return {e["id"]: e.get("name") or e["id"] for e in self.entities}

    @property
    def parents(self) -> dict[str, str | None]:
        return {e["id"]: e.get("parent") for e in self.entities}


def snapshot(store: GraphStore) -> Snapshot:
    deals = store.read(queries.load("deals").text)
    cols = list(queries.load("deals").returns)
    frame = pd.DataFrame(deals, columns=cols)
    return Snapshot(frame, store.read(queries.load("entities").text))


def resolve_entity(text: str, entities: Iterable[dict[str, Any]]) -> str:
    """An entity id from an id, name or alias; InputError if none or several match."""
    ents = list(entities)
    for e in ents:
        if e["id"] == text:
            return e["id"]
    key = name_key(text)
    hits = {e["id"] for e in ents if key in (e.get("name_keys") or [])
            or key == name_key(e.get("name") or "")}
    if len(hits) == 1:
        return hits.pop()
    if not hits:
        raise InputError(f"no entity called {text!r}; try 'circfin entities' for the list")
    raise InputError(f"{text!r} names several entities: {', '.join(sorted(hits))}")


def _check_choices(values: Iterable[str] | None, allowed: tuple[str, ...], what: str) -> list[str] | None:
    if values is None:
        return None
    out = list(dict.fromkeys(values))
    bad = [v for v in out if v not in allowed]
    if bad:
        raise InputError(f"unknown {what} {', '.join(map(repr, bad))}; expected: {', '.join(allowed)}")
    return out


def _day(text: str | None, end: bool) -> int | None:
    if text is None:
        return None
    try:
        lo, hi = date_bounds(str(text))
    except ValueError as e:
        raise InputError(str(e)) from None
    return ((hi if end else lo) - _EPOCH).days


def _iso(day: int | None) -> str | None:
    return None if day is None else (_EPOCH + _dt.timedelta(days=int(day))).isoformat()


def _cypher_loops(store: GraphStore, *, min_len: int, max_len: int, entity: str | None,
                  types: list[str] | None, status: list[str] | None, min_amount: float | None,
                  since: str | None, until: str | None, within: int | None,
                  ordered: bool, rollup: bool = False) -> list[Loop]:
    q = queries.load("loops")
    text = q.bounded(min_len, max_len)
    if rollup:  # walk the derived edges between top-most ancestors
        _ensure_rollup(store)
        text = q.on_relationship(text, "PAYS_TOP")
    params = {
        "entity": entity, "types": types, "statuses": status, "min_amount": min_amount,
        "since": _day(since, end=False), "until": _day(until, end=True),
        "within": within, "ordered": bool(ordered),
    }
    legs: dict[tuple[str, ...], dict[int, Leg]] = defaultdict(dict)
    for r in store.read(text, params):
        ids = tuple(r["ids"])
        amount = r["amount_usd"] if r["disclosed"] else None
        if isinstance(amount, float) and amount.is_integer():
            amount = int(amount)
        legs[ids][int(r["leg"])] = Leg(
            payer_id=r["payer_id"], payee_id=r["payee_id"], payer=r["payer"] or r["payer_id"],
            payee=r["payee"] or r["payee_id"], deal_ids=tuple(sorted(r["deal_ids"])),
            amount_usd=amount, types=tuple(sorted(set(r["types"]))),
            first_date=_iso(r["first_day"]), last_date=_iso(r["last_day"]))
    out = []
    for ids, by_leg in legs.items():
        # Start at the smallest id by Python's ordering, whatever the database's collation.
        start = min(range(len(ids)), key=ids.__getitem__)
        ordered_legs = tuple(by_leg[(start + i) % len(ids)] for i in range(len(ids)))
        out.append(Loop(ids=ids[start:] + ids[:start],
                        entities=tuple(leg.payer for leg in ordered_legs), legs=ordered_legs))
    return out


def _ensure_rollup(store: GraphStore) -> None:
    """Build PAYS_TOP if the graph has deals but none (written before roll-ups existed);
    ingest and delete keep it current from then on."""
    state = store.read(queries.load("rollup_state").text)
    if state and state[0]["pays"] and not state[0]["pays_top"]:
        from ..ingest.pipeline import _rollup_statements

        store.write(_rollup_statements())


def _top(entity_id: str, parents: dict[str, str | None]) -> str:
    """The top-most ancestor through parent links (the graph refuses parent cycles)."""
    seen = {entity_id}
    while parents.get(entity_id):
        entity_id = parents[entity_id]  # type: ignore[assignment]
        if entity_id in seen:
            raise InputError(f"parent links of {entity_id!r} form a cycle")
        seen.add(entity_id)
    return entity_id


def _sort(loops: list[Loop], sort: str) -> list[Loop]:
    base = sorted(loops, key=lambda lp: (lp.length, lp.key))
    if sort == "length":
        return base
    # reverse=True keeps equal keys in their (length, key) order: Python's sort is stable.
    if sort == "amount":
        known = [lp for lp in base if lp.bottleneck_usd is not None]
        return (sorted(known, key=lambda lp: lp.bottleneck_usd, reverse=True)  # type: ignore[arg-type,return-value]
                + [lp for lp in base if lp.bottleneck_usd is None])
    if sort == "date":
        dated = [lp for lp in base if lp.date_span[1] is not None]
        return (sorted(dated, key=lambda lp: lp.date_span[1], reverse=True)  # type: ignore[arg-type,return-value]
                + [lp for lp in base if lp.date_span[1] is None])
    raise InputError(f"unknown sort {sort!r}; use length, amount or date")


def loops_from_store(store: GraphStore, *, engine: str = "auto", max_len: int = 6, min_len: int = 2,
                     entity: str | None = None, types: Iterable[str] | None = None,
                     status: Iterable[str] | None = DEFAULT_STATUSES, min_amount: float | None = None,
                     since: str | None = None, until: str | None = None, within: int | None = None,
                     ordered: bool = False, rollup: bool = False, sort: str = "length",
                     limit: int | None = None, time_budget: float | None = None,
                     max_loops: int | None = None) -> tuple[list[Loop], bool, str | None]:
    """Loops in the store's graph: (loops, complete, note)."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use {', '.join(ENGINES)}")
    if not (isinstance(max_len, int) and isinstance(min_len, int) and 2 <= min_len <= max_len <= 12):
        raise InputError(f"need 2 <= --min-len <= --max-len <= 12 (got {min_len}..{max_len})")
    if within is not None and within < 0:
        raise InputError("--within takes a number of days >= 0")
    if min_amount is not None and min_amount < 0:
        raise InputError("--min-amount must be >= 0")
    types_l = _check_choices(types, DEAL_TYPES, "deal type")
    status_l = _check_choices(status, DEAL_STATUSES, "status")
    for d in (since, until):
        _day(d, end=False)
    snap = snapshot(store) if (engine != "cypher" or entity is not None) else None
    entity_id = resolve_entity(entity, snap.entities) if (entity and snap) else None
    if engine == "cypher":
        if rollup and entity_id is not None:
            entity_id = _top(entity_id, snap.parents if snap else {})
        if time_budget is not None or max_loops is not None:
            raise InputError("time and count budgets apply to the memory engine only")
        loops = _cypher_loops(store, min_len=min_len, max_len=max_len, entity=entity_id,
                              types=types_l, status=status_l, min_amount=min_amount, since=since,
                              until=until, within=within, ordered=ordered, rollup=rollup)
        loops = _sort(loops, sort)
        return (loops[:limit] if limit is not None else loops), True, None
    from .loops import find_loops

    assert snap is not None
    result = find_loops(snap.deals, max_len=max_len, min_len=min_len, entity=entity_id,
                        types=types_l, status=status_l, min_amount=min_amount, since=since,
                        until=until, within=within, ordered=ordered, rollup=rollup,
                        parents=snap.parents, names=snap.names, sort=sort, limit=limit,
                        time_budget=time_budget, max_loops=max_loops)
    # The engine's result builds each Loop on first access: pass it on as it is.
    return result, bool(getattr(result, "complete", True)), getattr(result, "note", None)
