"""The data itself, as records a person or a program reads: deals, entities, one entity's page.

Pure functions over a snapshot of the graph (``loops.from_store.snapshot(store,
as_of=..., sources=True)``): no store, no output. The CLI (``circfin deals``,
``entities``, ``show``) renders what they return, and the tests check them on
ingested files.

Entities appear by display name wherever a person reads them (a deal's payer,
payee and members); entity records also carry their ``id``, the key of every
other command. Amounts are plain numbers (whole ones as ints), None when undisclosed.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..display import plain_number
from ..errors import InputError
from ..graph.model import DEAL_STATUSES, DEAL_TYPES, ENTITY_KINDS, FINANCIAL_FIELDS, date_bounds, name_key
from .snapshot import SnapshotLike

__all__ = ["FIGURE_FIELDS", "LATEST_FINANCIALS_FIELDS", "SnapshotLike", "check_choices", "deal_records",
           "entity_page", "entity_records", "exposures_of", "latest_figures", "latest_financials",
           "syndicates_of"]

_EPOCH = _dt.date(1970, 1, 1)

# The fields of an entity record's ``latest_financials``, in this order.
LATEST_FINANCIALS_FIELDS: tuple[str, ...] = (
    "as_of", "equity_usd", "revenue_usd", "market_cap_usd", "total_assets_usd",
    "total_liabilities_usd", "backlog_usd", "source_url",
)
# The figures of an entity record's ``figures``: each its latest known value, in this order.
FIGURE_FIELDS: tuple[str, ...] = (
    "equity_usd", "revenue_usd", "market_cap_usd", "total_assets_usd", "total_liabilities_usd",
    "backlog_usd",
)
_SIDE_ORDER = {"payer": 0, "payee": 1}


# ---- small helpers -------------------------------------------------------------------------


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _num(v: Any) -> Any:
    return None if _missing(v) else plain_number(v)


def _text(v: Any) -> str | None:
    return None if _missing(v) else str(v)


def _names(snap: SnapshotLike) -> dict[str, str]:
    return {e["id"]: e.get("name") or e["id"] for e in snap.entities}


def _deal_rows(snap: SnapshotLike) -> list[dict[str, Any]]:
    rows = snap.deal_rows
    return sorted(rows, key=lambda r: (_day_key(r.get("day")), str(r["deal_id"])))


def _day_key(day: Any) -> float:
    return math.inf if _missing(day) else float(day)


def check_choices(values: Iterable[str] | None, allowed: Sequence[str], option: str,
                  what: str) -> list[str] | None:
    """``values`` without repeats, or InputError naming ``option`` for any not in ``allowed``.

    >>> check_choices(["loan", "loan"], ("loan", "bond"), "--type", "deal type")
    ['loan']
    >>> check_choices(["lone"], ("loan", "bond"), "--type", "deal type")
    Traceback (most recent call last):
    ...
    circfin.errors.InputError: --type: unknown deal type 'lone'; expected: loan, bond
    """
    if values is None:
        return None
    out = list(dict.fromkeys(values))
    bad = [v for v in out if v not in allowed]
    if bad:
        raise InputError(f"{option}: unknown {what} {', '.join(map(repr, bad))}; "
                         f"expected: {', '.join(allowed)}")
    return out


def _date_day(text: str | None, option: str, *, end: bool) -> int | None:
    """The first (or, ``end``, last) day number a partial date means; InputError naming the option."""
    if text is None:
        return None
    try:
        lo, hi = date_bounds(str(text))
    except ValueError as e:
        raise InputError(f"{option}: {e}") from None
    return ((hi if end else lo) - _EPOCH).days


# ---- deals ---------------------------------------------------------------------------------


def _by_deal(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        out[str(r["deal_id"])].append(r)
    return out


def _participants(rows: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Members, payer side first, then the largest share, then by name."""
    out = [{"entity": names.get(str(p["member"]), str(p["member"])), "side": p["side"],
            "share": _num(p.get("share")), "share_basis": p.get("share_basis"),
            "role": p.get("role") or "member"} for p in rows]
    return sorted(out, key=lambda p: (_SIDE_ORDER.get(str(p["side"]), 2),
                                      -(p["share"] if p["share"] is not None else -1.0),
                                      name_key(str(p["entity"]))))


def deal_records(snap: SnapshotLike, *, entity: str | None = None, types: Iterable[str] | None = None,
                 statuses: Iterable[str] | None = None, since: str | None = None,
                 until: str | None = None) -> list[dict[str, Any]]:
    """The snapshot's deals, oldest first, as records: ``deal_id, date, payer, payee`` (names),
    ``payer_id, payee_id, type, amount_usd, amount_qualifier, status`` (as of the snapshot's
    date), ``confidence, description``, ``sources`` (``{url, kind}`` in rank order: first the
    deal's own source_url), ``participants`` (``{entity, side, share, share_basis, role}``, entity by
    name) and ``events`` (``{date, status}``, oldest first).

    Filters: ``entity`` (an entity id) is the payer, the payee or a member; ``types`` and
    ``statuses`` (InputError for a value outside the vocabulary); ``since``/``until``
    (``YYYY[-MM[-DD]]``): dated on or after the first day of ``since``, on or before the last
    day of ``until`` (InputError for a bad date).
    """
    types_l = check_choices(types, DEAL_TYPES, "--type", "deal type")
    status_l = check_choices(statuses, DEAL_STATUSES, "--status", "status")
    lo = _date_day(since, "--since", end=False)
    hi = _date_day(until, "--until", end=True)
    names = _names(snap)
    members = _by_deal(snap.participants)
    events = _by_deal(snap.events)
    sources = _by_deal(snap.sources or [])
    out = []
    for d in _deal_rows(snap):
        did, payer, payee = str(d["deal_id"]), str(d["payer"]), str(d["payee"])
        mine = members.get(did, [])
        if entity is not None and entity not in (payer, payee) and all(
                str(p["member"]) != entity for p in mine):
            continue
        if types_l is not None and d["type"] not in types_l:
            continue
        if status_l is not None and d["status"] not in status_l:
            continue
        day = _day_key(d.get("day"))  # undated: inf, outside any range
        if (lo is not None and not lo <= day < math.inf) or (hi is not None and day > hi):
            continue
        if snap.sources is not None:
            srcs = [{"url": s["url"], "kind": s.get("kind")}
                    for s in sorted(sources.get(did, []), key=lambda s: int(s.get("rank") or 0))]
        else:  # read without sources: the deal's own
            srcs = ([{"url": d["source_url"], "kind": _text(d.get("source_kind"))}]
                    if not _missing(d.get("source_url")) else [])
        evs = sorted(events.get(did, []), key=lambda e: (_day_key(e.get("day")), str(e.get("date"))))
        out.append({
            "deal_id": did, "date": _text(d.get("date")),
            "payer": names.get(payer, payer), "payee": names.get(payee, payee),
            "payer_id": payer, "payee_id": payee,
            "type": d["type"], "amount_usd": _num(d.get("amount_usd")),
            "amount_qualifier": _text(d.get("amount_qualifier")), "status": d["status"],
            "confidence": _text(d.get("confidence")), "description": _text(d.get("description")),
            "sources": srcs,
            "participants": _participants(mine, names),
            "events": [{"date": e.get("date"), "status": e.get("status")} for e in evs],
        })
    return out


# ---- entities ------------------------------------------------------------------------------


def latest_financials(snap: SnapshotLike, entity_id: str) -> dict[str, Any] | None:
    """The entity's most recent financials row dated on or before the snapshot's date (its
    ``LATEST_FINANCIALS_FIELDS``), or None. One row as reported, not the latest of each field."""
    rows = [f for f in snap.financials if f.get("entity_id") == entity_id]
    if not rows:
        return None
    last = max(rows, key=lambda f: (_day_key(f.get("day")), str(f.get("as_of"))))
    return {k: (_num(last.get(k)) if k.endswith("_usd") else last.get(k)) for k in LATEST_FINANCIALS_FIELDS}


def latest_figures(entity: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each figure's latest known value for a snapshot ``entity``: ``{field: {"value",
    "as_of", "source_url"}}`` for the fields of :data:`FIGURE_FIELDS` it has. These are the
    values the snapshot put on the entity (a later row that leaves a figure empty, such as
    a market value alone, does not hide an earlier equity), the ones the shock models take;
    :func:`latest_financials` is the latest row as reported."""
    meta = entity.get("financials") or {}
    out: dict[str, dict[str, Any]] = {}
    for k in FIGURE_FIELDS:
        v = _num(entity.get(k))
        if v is not None:
            m = meta.get(k) or {}
            out[k] = {"value": v, "as_of": m.get("as_of"), "source_url": m.get("source_url")}
    return out


def entity_records(snap: SnapshotLike, *, kinds: Iterable[str] | None = None,
                   countries: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The entities by name: ``id, name, kind, country, parent`` (an id), ``aliases``,
    the identifiers ``sec_cik``, ``tickers`` and ``lei``, ``deals_in`` and ``deals_out`` (how many of the snapshot's deals it is payee, payer of)
    ``latest_financials`` (the latest row, see :func:`latest_financials`) and ``figures``
    (each figure's latest known value and date, see :func:`latest_figures`).

    Filters: ``kinds`` (InputError outside the vocabulary), ``countries`` (codes, any case).
    """
    kinds_l = check_choices(kinds, ENTITY_KINDS, "--kind", "entity kind")
    wanted = None if countries is None else {c.strip().upper() for c in countries}
    deals_in: dict[str, int] = defaultdict(int)
    deals_out: dict[str, int] = defaultdict(int)
    for d in _deal_rows(snap):
        deals_out[str(d["payer"])] += 1
        deals_in[str(d["payee"])] += 1
    out = []
    for e in sorted(snap.entities, key=lambda e: (name_key(e.get("name") or e["id"]), e["id"])):
        if kinds_l is not None and e.get("kind") not in kinds_l:
            continue
        if wanted is not None and str(e.get("country") or "").upper() not in wanted:
            continue
        eid = e["id"]
        out.append({"id": eid, "name": e.get("name") or eid, "kind": e.get("kind"),
                    "country": e.get("country"), "parent": e.get("parent"),
                    "aliases": list(e.get("aliases") or []), "sec_cik": e.get("sec_cik"),
                    "tickers": list(e.get("tickers") or []), "lei": e.get("lei"),
                    "deals_in": deals_in[eid],
                    "deals_out": deals_out[eid], "latest_financials": latest_financials(snap, eid),
                    "figures": latest_figures(e)})
    return out


# ---- one entity's page ---------------------------------------------------------------------


def syndicates_of(snap: SnapshotLike, entity_id: str) -> list[dict[str, Any]]:
    """The deals ``entity_id`` is a member of (oldest first): the deal (``deal_id, date, payer,
    payee`` by name, ``type, amount_usd, status``), its ``side``, ``share``, ``share_basis``
    and ``share_usd`` (its share of a disclosed amount; None otherwise)."""
    names = _names(snap)
    deals = {str(d["deal_id"]): d for d in _deal_rows(snap)}
    out: list[tuple[float, dict[str, Any]]] = []
    for p in snap.participants:
        d = deals.get(str(p["deal_id"]))
        if d is None or p["member"] != entity_id:
            continue
        share, amount = _num(p.get("share")), _num(d.get("amount_usd"))
        out.append((_day_key(d.get("day")), {
                    "deal_id": str(d["deal_id"]), "date": _text(d.get("date")),
                    "payer": names.get(str(d["payer"]), str(d["payer"])),
                    "payee": names.get(str(d["payee"]), str(d["payee"])),
                    "type": d["type"], "amount_usd": amount, "status": d["status"],
                    "side": p["side"], "share": share, "share_basis": p.get("share_basis"),
                    "role": p.get("role") or "member",
                    "share_usd": (None if share is None or amount is None
                                  else plain_number(round(float(share) * float(amount), 2)))}))
    out.sort(key=lambda x: (x[0], x[1]["deal_id"], x[1]["side"]))
    return [r for _, r in out]


def exposures_of(records: Iterable[Mapping[str, Any]], entity_id: str, names: Mapping[str, str],
                 ) -> dict[str, list[dict[str, Any]]]:
    """Exposure records (``risk.exposures.Exposure.to_dict()``) that concern ``entity_id``,
    largest first: ``held`` (what it stands to lose if another fails) and ``on`` (what others
    stand to lose if it fails); each ``deal_id, type, kind, holder, on`` (names), ``amount_usd``."""
    held: list[dict[str, Any]] = []
    on: list[dict[str, Any]] = []
    for r in records:
        rec = {"deal_id": r["deal_id"], "type": r["type"], "kind": r["kind"],
               "holder": names.get(str(r["holder"]), str(r["holder"])),
               "on": names.get(str(r["on"]), str(r["on"])), "amount_usd": _num(r["amount_usd"])}
        if r["holder"] == entity_id:
            held.append(rec)
        if r["on"] == entity_id:
            on.append(rec)
    for lst in (held, on):
        lst.sort(key=lambda x: (-(x["amount_usd"] or 0), str(x["deal_id"])))
    return {"held": held, "on": on}


def entity_page(snap: SnapshotLike, entity_id: str, *, loops: Sequence[Mapping[str, Any]] = (),
                loops_note: str | None = None,
                exposures: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Everything about one entity as of the snapshot's date:

    ``as_of``; ``entity`` (``id, name, kind, country, source_url, aliases, sec_cik, tickers,
    lei``, ``parent`` and ``subsidiaries`` as ``{id, name}``); ``financials`` (every dated row, oldest first);
    ``deals_out`` / ``deals_in`` (:func:`deal_records` where it is payer / payee);
    ``syndicates`` (:func:`syndicates_of`); ``loops`` (as given: ``Loop.to_dict()`` of the
    loops through it), ``loops_complete`` and ``loops_note`` (what a budget cut);
    ``exposures`` (:func:`exposures_of` over the given exposure records).
    KeyError if no entity has the id (resolve names first with ``resolve_entity``).
    """
    ents = {e["id"]: e for e in snap.entities}
    e = ents[entity_id]
    names = _names(snap)
    parent = e.get("parent")
    subs = sorted((x for x in snap.entities if x.get("parent") == entity_id),
                  key=lambda x: name_key(x.get("name") or x["id"]))
    fin = sorted((f for f in snap.financials if f.get("entity_id") == entity_id),
                 key=lambda f: (_day_key(f.get("day")), str(f.get("as_of"))))
    fields = ("as_of", *FINANCIAL_FIELDS, "basis", "source_url")
    deals = deal_records(snap, entity=entity_id)
    return {
        "as_of": snap.as_of,
        "entity": {"id": entity_id, "name": names[entity_id], "kind": e.get("kind"),
                   "country": e.get("country"), "source_url": e.get("source_url"),
                   "aliases": list(e.get("aliases") or []),
                   "sec_cik": e.get("sec_cik"), "tickers": list(e.get("tickers") or []),
                   "lei": e.get("lei"),
                   "parent": None if not parent else {"id": parent, "name": names.get(parent, parent)},
                   "subsidiaries": [{"id": x["id"], "name": names[x["id"]]} for x in subs]},
        "financials": [{k: (_num(f.get(k)) if k.endswith("_usd") else f.get(k)) for k in fields}
                       for f in fin],
        "deals_out": [d for d in deals if d["payer_id"] == entity_id],
        "deals_in": [d for d in deals if d["payee_id"] == entity_id],
        "syndicates": syndicates_of(snap, entity_id),
        "loops": [dict(lp) for lp in loops],
        "loops_complete": loops_note is None,
        "loops_note": loops_note,
        "exposures": exposures_of(exposures, entity_id, names),
    }
