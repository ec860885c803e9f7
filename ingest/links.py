"""Validate the tables that hang off deals and entities: participants, sources,
events and financials.

They run after entities and deals (ingest/validate.py), against the deals of
the same ingest and the graph's stored deals, and add to the same
:class:`~circfin.ingest.validate.Plan`. What a table gives for a deal replaces
what the graph holds for it:

* participants: a deal's members, per deal; a member without a ``share``
  gets an even part of what the disclosed shares of its side leave
  (``share_basis: equal_split``); shares of one side add up to at most 1;
  a participant of ``role`` arranger (a bond's bookrunner) is named but holds
  no share;
* sources: a deal's sources besides its own ``source_url`` (its first), per
  deal; ``kind`` is classified by ``ingest/sources.py`` when not given;
* events: a deal's life, per deal; no event before the deal's date or after
  today, and the deal's status is its latest event's (latest by date, then by
  place in a deal's life);
* financials: per entity and ``as_of`` date; not after today, not negative
  (but equity, which can be a deficit).
  An entities row's money columns are one financials row, dated by its
  ``as_of`` column or, without one, by its file's modification date.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import RowError
from ..graph.model import (
    DEAL_STATUSES,
    FINANCIAL_FIELDS,
    PARTICIPANT_ROLES,
    PARTICIPANT_SIDES,
    SIGNED_FINANCIAL_FIELDS,
    SOURCE_KINDS,
    date_bounds,
    status_rank,
)
from .readers import RawRow, RawTable
from .sources import classify_source, classify_source_tokens, name_token

__all__ = ["SHARE_TOLERANCE", "check_links", "history_of"]

SHARE_TOLERANCE = 1e-9  # shares written to nine decimals still add up to 1
_EPOCH = _dt.date(1970, 1, 1)
MAX_BASIS = 200


def history_of(events: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[str]]:
    """A deal's events as two parallel lists (day numbers, statuses), in the order
    they happened: by day, then by place in a deal's life. Stored on the deal and
    its PAYS relationship, so Cypher finds a status as of a date without a join."""
    ordered = sorted(events, key=lambda e: (int(e["day"]), status_rank(str(e["status"]))))
    return [int(e["day"]) for e in ordered], [str(e["status"]) for e in ordered]


def _file_date(path: str) -> str:
    try:
        return _dt.date.fromtimestamp(os.stat(path).st_mtime).isoformat()
    except OSError:
        return _dt.date.today().isoformat()


@functools.lru_cache(maxsize=65536)  # dates repeat across rows
def _last_day(text: str) -> int:
    return (date_bounds(text)[1] - _EPOCH).days


def check_links(tables: list[RawTable], plan: Any, *, resolve: Callable[[str], str | None],
                new_entity: Callable[[RawRow, str, str], dict[str, Any] | None],
                party_names: Callable[[Mapping[str, Any]], list[str]],
                entity_rows: Mapping[str, tuple[RawRow, dict[str, Any]]],
                deal_rows: Mapping[str, tuple[RawRow, dict[str, Any]]],
                stored_deals: Mapping[str, Mapping[str, Any]], today: _dt.date) -> None:
    """Validate participants, sources, events and financials into ``plan``.

    ``resolve(text)``: an entity id or None; ``new_entity(row, column, text)``: the
    record of a new entity made for an unknown member name, or None (with an error);
    ``party_names(deal)``: the ids, names and aliases of a deal's payer and payee.
    ``entity_rows`` / ``deal_rows``: id -> (row, record) of this ingest's entities and
    deals. ``stored_deals``: deal id -> ``{date, day, status, payer, payee, ev_days,
    ev_statuses}`` of the stored deals the input names.
    """
    from . import fields as v

    errors: list[RowError] = plan.errors
    today_day = (today - _EPOCH).days
    deals: dict[str, dict[str, Any]] = {d["deal_id"]: d for d in plan.deals}
    known = {k: dict(x) for k, x in stored_deals.items()}
    known.update(deals)

    def deal_of(row: RawRow, did: str) -> dict[str, Any] | None:
        d = known.get(did)
        if d is None:
            errors.append(RowError(row.path, row.line, "deal_id",
                                   f"{did!r} is not a deal in this ingest or the graph"))
        return d

    def rows_of(kind: str) -> list[RawRow]:
        return [r for t in tables if t.kind == kind for r in t.rows]

    # -- participants ---------------------------------------------------------------
    members: dict[str, list[tuple[RawRow, dict[str, Any]]]] = defaultdict(list)
    for row in rows_of("participants"):
        if not v._characters_ok(row, errors):
            continue
        n = len(errors)
        did = v._id(row, "deal_id", errors)
        side = v._choice(row, "side", PARTICIPANT_SIDES, errors)
        raw_member = v._name(row, "member", errors, " (entity id, name or alias)")
        share = v._money(row, "share", errors)
        if share is not None and not 0 < share <= 1:
            errors.append(RowError(row.path, row.line, "share",
                                   f"{share!r} is not a fraction in (0, 1] of its side"))
        role = v._choice(row, "role", PARTICIPANT_ROLES, errors, required=False) or "member"
        if role == "arranger" and share is not None:
            errors.append(RowError(row.path, row.line, "share",
                                   "an arranger holds no share of the deal; leave share empty, or make "
                                   "it a member"))
        source = v._url(row, "source_url", errors, required=False)
        if len(errors) > n or did is None or raw_member is None or side is None:
            continue
        deal = deal_of(row, did)
        if deal is None:
            continue
        member = resolve(raw_member)
        if member is None:
            made = new_entity(row, "member", raw_member)
            if made is None:
                continue
            member = made["id"]
        if member in (deal["payer"], deal["payee"]):
            errors.append(RowError(row.path, row.line, "member",
                                   f"{raw_member!r} is the deal's {'payer' if member == deal['payer'] else 'payee'} "
                                   "itself; members are the banks, funds or firms behind a side"))
            continue
        if any(m["member"] == member and m["side"] == side for _, m in members[did]):
            errors.append(RowError(row.path, row.line, "member",
                                   f"{raw_member!r} is listed twice on the {side} side of {did!r}"))
            continue
        members[did].append((row, {"deal_id": did, "side": side, "member": member,
                                   "share": share, "role": role, "source_url": source}))
    for did, rows in members.items():
        for side in PARTICIPANT_SIDES:
            for _, m in rows:
                if m["side"] == side and m["role"] == "arranger":
                    m["share_basis"] = None  # named, holding nothing: no share to split
            mine = [(r, m) for r, m in rows if m["side"] == side and m["role"] == "member"]
            if not mine:
                continue
            disclosed = sum(m["share"] for _, m in mine if m["share"] is not None)
            open_ = [m for _, m in mine if m["share"] is None]
            last = mine[-1][0]
            if disclosed > 1 + SHARE_TOLERANCE:
                errors.append(RowError(last.path, last.line, "share",
                                       f"the {side} shares of {did!r} add up to {disclosed:.6g}, more than 1"))
                continue
            rest = 1.0 - disclosed
            if open_ and rest <= SHARE_TOLERANCE:
                errors.append(RowError(last.path, last.line, "share",
                                       f"the disclosed {side} shares of {did!r} add up to 1, leaving "
                                       f"nothing for {len(open_)} member(s) without a share"))
                continue
            for _, m in mine:
                if m["share"] is None:
                    m["share"], m["share_basis"] = rest / len(open_), "equal_split"
                else:
                    m["share"], m["share_basis"] = float(m["share"]), "disclosed"
        plan.participants.extend(m for _, m in rows)
    plan.participant_deals = sorted(members)

    # -- sources --------------------------------------------------------------------
    sources: dict[str, list[dict[str, Any]]] = defaultdict(list)
    kind_given: dict[str, str] = {}
    for row in rows_of("sources"):
        if not v._characters_ok(row, errors):
            continue
        n = len(errors)
        did = v._id(row, "deal_id", errors)
        url = v._url(row, "url", errors, required=True)
        kind = v._choice(row, "kind", SOURCE_KINDS, errors, required=False)
        publisher = v._str(row, "publisher", errors)
        if publisher is not None and len(publisher) > v.MAX_NAME:
            errors.append(RowError(row.path, row.line, "publisher", f"longer than {v.MAX_NAME} characters"))
        published, pday, _ = v._date(row, errors, "published", required=False)
        if published is not None and pday is not None and pday > today_day:
            errors.append(RowError(row.path, row.line, "published", f"{published} is after today"))
        if len(errors) > n or did is None or url is None:
            continue
        deal = deal_of(row, did)
        if deal is None:
            continue
        if any(s["url"] == url for s in sources[did]):
            errors.append(RowError(row.path, row.line, "url", f"{url[:80]!r} is listed twice for {did!r}"))
            continue
        if kind is not None and kind_given.setdefault(url, kind) != kind:
            errors.append(RowError(row.path, row.line, "kind",
                                   f"{url[:80]!r} is given as {kind_given[url]!r} elsewhere in this ingest"))
            continue
        sources[did].append({"deal_id": did, "url": url, "kind": kind, "publisher": publisher,
                             "published": published, "rank": len(sources[did]) + 1})
    names = party_names
    for did, cited in sources.items():
        deal = known[did]
        parties = names(deal)
        for s in cited:
            s["kind"] = s["kind"] or kind_given.get(s["url"]) or classify_source(s["url"], parties)
        plan.sources.extend(cited)
    plan.source_deals = sorted(sources)
    party_tokens: dict[str, frozenset[str]] = {}  # entity id -> name tokens of its names

    def tokens(eid: str) -> frozenset[str]:
        got = party_tokens.get(eid)
        if got is None:
            got = party_tokens[eid] = frozenset(map(name_token, names({"payer": eid, "payee": eid})))
        return got

    for d in plan.deals:
        url = d["source_url"]
        d["source_kind"] = kind_given.get(url) or classify_source_tokens(url, tokens(d["payer"])
                                                                         | tokens(d["payee"]))

    # -- events ---------------------------------------------------------------------
    events: dict[str, list[tuple[RawRow, dict[str, Any]]]] = defaultdict(list)
    # Deals with a refused events row: their history is incomplete, so whether it
    # agrees with the deal's status is not checked (that error would mislead).
    broken: set[str] = set()
    for row in rows_of("events"):
        n = len(errors)
        if not v._characters_ok(row, errors):
            if isinstance(row.values.get("deal_id"), str):
                broken.add(str(row.values["deal_id"]))
            continue
        did = v._id(row, "deal_id", errors)
        date, day, _ = v._date(row, errors, "date")
        status = v._choice(row, "status", DEAL_STATUSES, errors)
        source = v._url(row, "source_url", errors, required=False)
        if did is not None and len(errors) > n:
            broken.add(did)
        if len(errors) > n or did is None or date is None or day is None:
            continue
        deal = deal_of(row, did)
        if deal is None:
            continue
        if _last_day(date) < int(deal["day"]):
            broken.add(did)
            errors.append(RowError(row.path, row.line, "date",
                                   f"{date} is before the deal's own date {deal['date']}"))
            continue
        if day > today_day:
            broken.add(did)
            errors.append(RowError(row.path, row.line, "date",
                                   f"{date} is after today; events are what has happened"))
            continue
        if any(e["day"] == day and e["status"] == status for _, e in events[did]):
            broken.add(did)
            errors.append(RowError(row.path, row.line, "status",
                                   f"{did!r} already has a {status!r} event on {date}"))
            continue
        events[did].append((row, {"deal_id": did, "date": date, "day": day, "status": status,
                                  "source_url": source}))
    for did, rows in events.items():
        days, statuses = history_of([e for _, e in rows])
        plan.histories[did] = (days, statuses)
        status = known[did]["status"]
        if statuses[-1] != status and did not in broken:
            where = "this ingest" if did in deals else "the graph"
            row = max(rows, key=lambda re_: (re_[1]["day"], status_rank(re_[1]["status"])))[0]
            errors.append(RowError(row.path, row.line, "status",
                                   f"the latest event of {did!r} says {statuses[-1]!r}, but the deal's "
                                   f"status in {where} is {status!r}; they must agree"))
        plan.events.extend(e for _, e in rows)
    plan.event_deals = sorted(events)
    # A deal written now without events keeps its stored history, which must still agree.
    for did, d in deals.items():
        if did in events or did in broken:
            continue
        old = stored_deals.get(did) or {}
        days, statuses = list(old.get("ev_days") or []), list(old.get("ev_statuses") or [])
        plan.histories[did] = (days, statuses)
        if statuses and statuses[-1] != d["status"]:
            row = deal_rows[did][0]
            when = (_EPOCH + _dt.timedelta(days=int(days[-1]))).isoformat()
            errors.append(RowError(row.path, row.line, "status",
                                   f"{d['status']!r} contradicts the deal's latest stored event "
                                   f"({statuses[-1]!r} on {when}); add an events row for the change"))

    # -- financials -----------------------------------------------------------------
    fin: dict[tuple[str, str], tuple[RawRow, dict[str, Any]]] = {}

    def add_financials(row: RawRow, rec: dict[str, Any], col: str) -> None:
        key = (rec["entity_id"], rec["as_of"])
        first = fin.get(key)
        if first is None:
            fin[key] = (row, rec)
        elif first[1] != rec:
            errors.append(RowError(row.path, row.line, col,
                                   f"financials of {rec['entity_id']!r} as of {rec['as_of']} are already "
                                   f"given at {first[0].path}:{first[0].line} with other figures"))

    def dated(row: RawRow, as_of: str, col: str) -> int | None:
        try:
            last = _last_day(as_of)
        except ValueError as e:
            errors.append(RowError(row.path, row.line, col, str(e)))
            return None
        if last > today_day:
            errors.append(RowError(row.path, row.line, col,
                                   f"{as_of} ends after today; financials are dated by the period they close"))
            return None
        return last

    for row, rec in entity_rows.values():
        money = rec.pop("_money", {})
        as_of = rec.pop("_as_of", None)
        if not any(x is not None for x in money.values()):
            continue
        as_of = as_of or _file_date(row.path)
        day = dated(row, as_of, "as_of")
        if day is None:
            continue
        add_financials(row, {"entity_id": rec["id"], "as_of": as_of, "day": day,
                             **{f: money.get(f) for f in FINANCIAL_FIELDS},
                             "basis": None, "source_url": rec.get("source_url")}, "entity_id")
    for row in rows_of("financials"):
        if not v._characters_ok(row, errors):
            continue
        n = len(errors)
        raw = v._name(row, "entity_id", errors, " (entity id, name or alias)")
        as_of, _, _ = v._date(row, errors, "as_of")
        money = {f: v._money(row, f, errors, signed=f in SIGNED_FINANCIAL_FIELDS) for f in FINANCIAL_FIELDS}
        basis = v._str(row, "basis", errors)
        if basis is not None and len(basis) > MAX_BASIS:
            errors.append(RowError(row.path, row.line, "basis", f"longer than {MAX_BASIS} characters"))
        source = v._url(row, "source_url", errors, required=False)
        if len(errors) > n or raw is None or as_of is None:
            continue
        eid = resolve(raw)
        if eid is None:
            errors.append(RowError(row.path, row.line, "entity_id",
                                   f"{raw[:80]!r} is not a known entity; declare it in an entities table"))
            continue
        if not any(x is not None for x in money.values()):
            errors.append(RowError(row.path, row.line, "as_of",
                                   f"gives no figure; fill at least one of {', '.join(FINANCIAL_FIELDS)}"))
            continue
        day = dated(row, as_of, "as_of")
        if day is None:
            continue
        add_financials(row, {"entity_id": eid, "as_of": as_of, "day": day, **money, "basis": basis,
                             "source_url": source}, "as_of")
    plan.financials = [rec for _, rec in fin.values()]
