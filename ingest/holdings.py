"""Validate the holdings and assets tables into the ingest's plan.

* assets: one row per traded asset (``asset_id``, ``name``, ``class``, its
  ``issuer`` if any, its market ``depth_usd`` if known, ``source_url``). An
  asset whose id is an entity's id is that entity's listed equity: class
  ``equity``, issued by that entity.
* holdings: who holds how much of which asset on a date (``holder``, ``asset``,
  ``as_of``, ``value_usd``, ``shares``, ``capacity``, ``source_url``), per holder,
  asset and date. ``capacity``: ``own`` (the holder's balance sheet; the default)
  or ``managed`` (held for clients: funds, trusts, custody). ``asset`` names an asset of an assets table (this ingest's or the
  graph's) by its id; failing that, an entity (by id, name or alias), which means
  that entity's listed equity: the asset whose id is the entity's id, made
  (class equity, issued by it, no depth of its own) when no assets row gives it.
  Not dated after today; a holder does not hold its own listed equity.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import RowError
from ..graph.model import ASSET_CLASSES, HOLDING_CAPACITIES, date_bounds
from .readers import RawRow, RawTable

__all__ = ["check_holdings"]

_EPOCH = _dt.date(1970, 1, 1)


def check_holdings(tables: list[RawTable], plan: Any, *, resolve: Callable[[str], str | None],
                   stored_assets: Mapping[str, Mapping[str, Any]], today: _dt.date) -> None:
    """Validate assets and holdings rows into ``plan.assets`` and ``plan.holdings``.

    ``resolve(text)``: an entity id or None. ``stored_assets``: asset id ->
    ``{class, issuer, ...}`` of the assets the graph holds.
    """
    from . import fields as v

    errors: list[RowError] = plan.errors
    today_day = (today - _EPOCH).days

    def rows_of(kind: str) -> list[RawRow]:
        return [r for t in tables if t.kind == kind for r in t.rows]

    # -- assets ---------------------------------------------------------------------
    stored_lower = {k.lower(): k for k in stored_assets}
    given: dict[str, tuple[RawRow, dict[str, Any]]] = {}
    given_lower: dict[str, str] = {}
    for row in rows_of("assets"):
        if not v._characters_ok(row, errors):
            continue
        n = len(errors)
        aid = v._id(row, "asset_id", errors)
        name = v._name(row, "name", errors, " (the asset's name)")
        cls = v._choice(row, "class", ASSET_CLASSES, errors)
        raw_issuer = v._str(row, "issuer", errors)
        depth = v._money(row, "depth_usd", errors)
        if depth is not None and depth <= 0:
            errors.append(RowError(row.path, row.line, "depth_usd",
                                   "must be above 0: the dollar sales that move the price by 100 %; "
                                   "leave it empty for the class default"))
        source = v._url(row, "source_url", errors, required=False)
        if len(errors) > n or aid is None or name is None or cls is None:
            continue
        issuer = None
        if raw_issuer is not None:
            issuer = resolve(raw_issuer)
            if issuer is None:
                errors.append(RowError(row.path, row.line, "issuer",
                                       f"{raw_issuer[:80]!r} is not a known entity; declare it in an "
                                       "entities table"))
                continue
        if resolve(aid) == aid:  # an entity's id: its listed equity
            if cls != "equity" or issuer not in (None, aid):
                col = "class" if cls != "equity" else "issuer"
                errors.append(RowError(row.path, row.line, col,
                                       f"{aid!r} is an entity's id, which names its listed equity: "
                                       "class must be equity and issuer that entity (or empty)"))
                continue
            issuer = aid
        twin = given_lower.get(aid.lower()) or stored_lower.get(aid.lower())
        if twin is not None and twin != aid:
            errors.append(RowError(row.path, row.line, "asset_id",
                                   f"{aid!r} differs only in case from the asset {twin!r}; asset ids "
                                   f"are case-insensitive: write {twin!r}"))
            continue
        rec = {"id": aid, "name": name, "class": cls, "issuer": issuer, "depth_usd": depth,
               "source_url": source, "implied": False}
        first = given.get(aid)
        if first is not None:
            if first[1] != rec:
                errors.append(RowError(row.path, row.line, "asset_id",
                                       f"{aid!r} is already given at {first[0].path}:{first[0].line} "
                                       "with other fields"))
            continue
        given[aid] = (row, rec)
        given_lower[aid.lower()] = aid

    # -- holdings -------------------------------------------------------------------
    implied: dict[str, dict[str, Any]] = {}
    held: dict[tuple[str, str, str], tuple[RawRow, dict[str, Any]]] = {}

    def asset_of(raw: str) -> tuple[str, str | None] | None:
        """(asset id, its issuer) of a holdings row's ``asset``, or None."""
        for aid in (raw, given_lower.get(raw.lower()), stored_lower.get(raw.lower())):
            if aid is not None and aid in given:
                return aid, given[aid][1]["issuer"]
            if aid is not None and aid in stored_assets:
                return aid, stored_assets[aid].get("issuer")
        eid = resolve(raw)
        if eid is None:
            return None
        if eid in given:
            return eid, given[eid][1]["issuer"]
        if eid not in stored_assets:
            implied.setdefault(eid, {"id": eid, "name": None, "class": "equity", "issuer": eid,
                                     "depth_usd": None, "source_url": None, "implied": True})
        return eid, eid

    for row in rows_of("holdings"):
        if not v._characters_ok(row, errors):
            continue
        n = len(errors)
        raw_holder = v._name(row, "holder", errors, " (entity id, name or alias)")
        raw_asset = v._name(row, "asset", errors, " (an asset id, or an entity for its listed equity)")
        as_of, _, _ = v._date(row, errors, "as_of")
        value = v._money(row, "value_usd", errors)
        if value is None and row.values.get("value_usd") is None:
            errors.append(RowError(row.path, row.line, "value_usd",
                                   "is required: the holding's market value in US dollars on as_of"))
        shares = v._money(row, "shares", errors)
        capacity = v._choice(row, "capacity", HOLDING_CAPACITIES, errors, required=False) or "own"
        source = v._url(row, "source_url", errors, required=True)
        if len(errors) > n or raw_holder is None or raw_asset is None or as_of is None or value is None:
            continue
        holder = resolve(raw_holder)
        if holder is None:
            errors.append(RowError(row.path, row.line, "holder",
                                   f"{raw_holder[:80]!r} is not a known entity; declare it in an "
                                   "entities table"))
            continue
        found = asset_of(raw_asset)
        if found is None:
            errors.append(RowError(row.path, row.line, "asset",
                                   f"{raw_asset[:80]!r} is neither an asset of an assets table nor a "
                                   "known entity (whose listed equity it would name)"))
            continue
        aid, issuer = found
        if issuer == holder:
            errors.append(RowError(row.path, row.line, "asset",
                                   f"{raw_asset[:80]!r} is issued by the holder itself; own shares are "
                                   "not a holding"))
            continue
        last = (date_bounds(as_of)[1] - _EPOCH).days
        if last > today_day:
            errors.append(RowError(row.path, row.line, "as_of",
                                   f"{as_of} ends after today; holdings are dated by the day they "
                                   "were reported"))
            continue
        rec = {"holder": holder, "asset": aid, "as_of": as_of, "day": last, "value_usd": value,
               "shares": shares, "capacity": capacity, "source_url": source, "key": f"{holder}|{aid}|{as_of}"}
        key = (holder, aid, as_of)
        first = held.get(key)
        if first is not None:
            if first[1] != rec:
                errors.append(RowError(row.path, row.line, "as_of",
                                       f"the holding of {holder!r} in {aid!r} as of {as_of} is already "
                                       f"given at {first[0].path}:{first[0].line} with other figures"))
            continue
        held[key] = (row, rec)
    plan.assets = [rec for _, rec in given.values()] + list(implied.values())
    plan.holdings = [rec for _, rec in held.values()]
