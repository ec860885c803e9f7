"""Turn raw rows into validated entity and deal records, or say exactly what is wrong.

Everything is checked before anything is written: a file with one bad row
writes nothing. Deals may name their payer and payee by entity id, name or
alias (case and spacing ignored); an unknown name becomes a new entity of
kind 'other', with a warning.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import RowError
from ..graph.model import (
    AMOUNT_QUALIFIERS,
    CONFIDENCES,
    DEAL_STATUSES,
    DEAL_TYPES,
    ENTITY_KINDS,
    FINANCIAL_FIELDS,
    date_bounds,
)
from .readers import RawRow, RawTable

__all__ = ["Plan", "build_plan", "name_key", "parse_money"]

MAX_USD = Decimal(10) ** 15  # a quadrillion dollars: anything above is a typo
MAX_NAME = 500
MAX_TEXT = 10_000
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_URL_RE = re.compile(r"^https?://[^\s]{1,2000}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_EPOCH = _dt.date(1970, 1, 1)


def name_key(text: str) -> str:
    """How names are matched: Unicode NFKC, case-folded, inner spaces collapsed.

    >>> name_key("  Open AI ") == name_key("open  ai")
    True
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _slug(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s[:80] or "entity"


def parse_money(text: str) -> int | float:
    """A non-negative US dollar amount: digits, optional decimals or exponent.

    >>> parse_money("1500000000"), parse_money("1.5e9"), parse_money("12.50")
    (1500000000, 1500000000, 12.5)
    """
    t = text.strip().replace("_", "")
    if "," in t:
        raise ValueError(f"{text!r}: write amounts without thousands separators")
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if d < 0:
        raise ValueError(f"{text!r} is negative; amounts are what the payer pays, >= 0")
    if d > MAX_USD:
        raise ValueError(f"{text!r} is above 10^15 USD; check the units")
    if d == d.to_integral_value():
        return int(d)
    return float(d)


def _norm_word(v: str) -> str:
    return re.sub(r"[\s\-]+", "_", v.strip().lower())


def _text_ok(v: str, limit: int) -> str | None:
    if len(v) > limit:
        return f"longer than {limit} characters"
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in v):
        return "contains control characters"
    return None


@dataclass
class Plan:
    """What an ingest will write, once every row has passed."""

    entities: list[dict[str, Any]] = field(default_factory=list)  # full rows from entities files
    auto_entities: list[dict[str, Any]] = field(default_factory=list)  # unknown names in deals
    parents: list[dict[str, str]] = field(default_factory=list)  # entity id -> parent id
    parent_cleared: list[str] = field(default_factory=list)  # entities whose parent is (re)set
    deals: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class _Resolver:
    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}
        self.ids: set[str] = set()

    def add(self, eid: str, keys: Iterable[str]) -> str | None:
        """Register an entity's names; the id of a clashing entity, if any."""
        self.ids.add(eid)
        for k in keys:
            other = self.by_key.get(k)
            if other is not None and other != eid:
                return other
        for k in keys:
            self.by_key.setdefault(k, eid)
        return None

    def resolve(self, text: str) -> str | None:
        if text in self.ids:
            return text
        return self.by_key.get(name_key(text))


def _entity_keys(eid: str, name: str, aliases: list[str]) -> list[str]:
    return list(dict.fromkeys([name_key(eid), name_key(name), *(name_key(a) for a in aliases)]))


def build_plan(tables: list[RawTable], stored_entities: list[Mapping[str, Any]]) -> Plan:
    """Validate every row of every table against each other and the stored graph."""
    plan = Plan()
    stored_parent: dict[str, str | None] = {e["id"]: e.get("parent") for e in stored_entities}

    entity_rows: dict[str, tuple[RawRow, dict[str, Any]]] = {}
    pending_parents: list[tuple[RawRow, str, str]] = []
    for table in (t for t in tables if t.kind == "entities"):
        for row in table.rows:
            rec = _entity(row, plan.errors)
            if rec is None:
                continue
            _keep_first(entity_rows, rec["id"], row, rec, "entity_id", plan.errors)
    # Stored entities that the files do not redefine keep their names; then every
    # file entity's names and aliases must name that entity only.
    resolver = _Resolver()
    for e in stored_entities:
        if e["id"] not in entity_rows:
            resolver.add(e["id"], _entity_keys(e["id"], e.get("name") or e["id"],
                                               list(e.get("aliases") or [])))
    for eid, (row, rec) in entity_rows.items():
        clash = resolver.add(eid, rec["name_keys"])
        if clash is not None:
            plan.errors.append(RowError(row.path, row.line, "aliases",
                                        f"a name or alias of {eid!r} already names entity {clash!r}"))
        raw_parent = row.values.get("parent")
        if raw_parent:
            pending_parents.append((row, eid, raw_parent))
        plan.entities.append(rec)
        plan.parent_cleared.append(eid)

    parent_of = {k: v for k, v in stored_parent.items() if k not in entity_rows}
    for row, eid, raw_parent in pending_parents:
        pid = resolver.resolve(raw_parent)
        if pid is None:
            plan.errors.append(RowError(row.path, row.line, "parent",
                                        f"{raw_parent!r} is not a known entity"))
            continue
        if pid == eid:
            plan.errors.append(RowError(row.path, row.line, "parent", "an entity cannot be its own parent"))
            continue
        parent_of[eid] = pid
        plan.parents.append({"id": eid, "parent": pid})
    for row, eid, _ in pending_parents:
        seen = {eid}
        cur = parent_of.get(eid)
        while cur is not None:
            if cur in seen:
                plan.errors.append(RowError(row.path, row.line, "parent",
                                            f"parent links of {eid!r} form a cycle"))
                break
            seen.add(cur)
            cur = parent_of.get(cur)

    deal_rows: dict[str, tuple[RawRow, dict[str, Any]]] = {}
    auto: dict[str, dict[str, Any]] = {}
    for table in (t for t in tables if t.kind == "deals"):
        for row in table.rows:
            rec = _deal(row, plan.errors)
            if rec is None:
                continue
            for side in ("payer", "payee"):
                raw = rec[side]
                eid = resolver.resolve(raw)
                if eid is None:
                    key = name_key(raw)
                    made = next((a for a in auto.values() if key in a["name_keys"]), None)
                    if made is None:
                        eid = _slug(raw)
                        n = 2
                        while eid in resolver.ids or eid in auto:
                            eid, n = f"{_slug(raw)}-{n}", n + 1
                        made = {"id": eid, "name": raw, "name_keys": [key]}
                        auto[eid] = made
                        plan.warnings.append(f"{row.path}:{row.line}: {side} {raw!r} is not a known "
                                             f"entity; created {eid!r} of kind 'other'")
                    eid = made["id"]
                rec[side] = eid
            if rec["payer"] == rec["payee"]:
                plan.errors.append(RowError(row.path, row.line, "payee",
                                            f"payer and payee are the same entity ({rec['payer']!r})"))
                continue
            _keep_first(deal_rows, rec["deal_id"], row, rec, "deal_id", plan.errors)
    plan.deals = [rec for _, rec in deal_rows.values()]
    plan.auto_entities = list(auto.values())
    return plan


def _keep_first(seen: dict[str, tuple[RawRow, dict[str, Any]]], key: str, row: RawRow,
                rec: dict[str, Any], field: str, errors: list[RowError]) -> None:
    """The first row with an id wins; a repeat is fine if identical, an error otherwise."""
    if key not in seen:
        seen[key] = (row, rec)
        return
    first, prev = seen[key]
    if prev != rec:
        errors.append(RowError(row.path, row.line, field,
                               f"{key!r} is already defined at {first.path}:{first.line} "
                               "with different content"))


def _id(row: RawRow, col: str, errors: list[RowError]) -> str | None:
    v = row.values.get(col)
    if v is None:
        errors.append(RowError(row.path, row.line, col, "is required"))
        return None
    if not _ID_RE.match(v):
        errors.append(RowError(row.path, row.line, col,
                               f"{v[:60]!r} is not a valid id: letters, digits and _ . : - only, "
                               "starting with a letter or digit, at most 128 characters"))
        return None
    return v


def _choice(row: RawRow, col: str, allowed: tuple[str, ...], errors: list[RowError],
            *, required: bool = True) -> str | None:
    v = row.values.get(col)
    if v is None:
        if required:
            errors.append(RowError(row.path, row.line, col, f"is required; one of {', '.join(allowed)}"))
        return None
    w = _norm_word(v)
    if w not in allowed:
        errors.append(RowError(row.path, row.line, col,
                               f"{v[:60]!r} is not one of {', '.join(allowed)}"))
        return None
    return w


def _url(row: RawRow, col: str, errors: list[RowError], *, required: bool) -> str | None:
    v = row.values.get(col)
    if v is None:
        if required:
            errors.append(RowError(row.path, row.line, col, "is required (where the fact comes from)"))
        return None
    if not _URL_RE.match(v):
        errors.append(RowError(row.path, row.line, col, f"{v[:60]!r} is not an http(s) URL"))
        return None
    return v


def _entity(row: RawRow, errors: list[RowError]) -> dict[str, Any] | None:
    n = len(errors)
    eid = _id(row, "entity_id", errors)
    name = row.values.get("name")
    if name is None:
        errors.append(RowError(row.path, row.line, "name", "is required"))
    elif (problem := _text_ok(name, MAX_NAME)) is not None:
        errors.append(RowError(row.path, row.line, "name", problem))
    kind = _choice(row, "kind", ENTITY_KINDS, errors)
    aliases: list[str] = []
    raw_aliases = row.values.get("aliases")
    if raw_aliases:
        for a in raw_aliases.split(";"):
            a = a.strip()
            if not a:
                continue
            if (problem := _text_ok(a, MAX_NAME)) is not None:
                errors.append(RowError(row.path, row.line, "aliases", problem))
            elif a not in aliases:
                aliases.append(a)
    country = row.values.get("country")
    if country is not None:
        country = country.upper()
        if not _COUNTRY_RE.match(country):
            errors.append(RowError(row.path, row.line, "country",
                                   f"{country[:20]!r} is not a two-letter ISO country code"))
    money: dict[str, Any] = {}
    for col in FINANCIAL_FIELDS:
        v = row.values.get(col)
        money[col] = None
        if v is not None:
            try:
                money[col] = parse_money(v)
            except ValueError as e:
                errors.append(RowError(row.path, row.line, col, str(e)))
    source = _url(row, "source_url", errors, required=False)
    if len(errors) > n or eid is None or name is None:
        return None
    return {"id": eid, "name": name, "kind": kind, "aliases": aliases,
            "name_keys": _entity_keys(eid, name, aliases), "country": country, **money,
            "source_url": source}


def _deal(row: RawRow, errors: list[RowError]) -> dict[str, Any] | None:
    n = len(errors)
    did = _id(row, "deal_id", errors)
    date = row.values.get("date")
    day = date_from = None
    if date is None:
        errors.append(RowError(row.path, row.line, "date", "is required: YYYY-MM-DD, YYYY-MM or YYYY"))
    else:
        try:
            first, _ = date_bounds(date)
            day, date_from = (first - _EPOCH).days, first.isoformat()
        except ValueError as e:
            errors.append(RowError(row.path, row.line, "date", str(e)))
    parties = {}
    for side in ("payer", "payee"):
        v = row.values.get(side)
        if v is None:
            errors.append(RowError(row.path, row.line, side, "is required (entity id, name or alias)"))
        elif (problem := _text_ok(v, MAX_NAME)) is not None:
            errors.append(RowError(row.path, row.line, side, problem))
        parties[side] = v
    dtype = _choice(row, "type", DEAL_TYPES, errors)
    amount = None
    raw_amount = row.values.get("amount_usd")
    if raw_amount is not None:
        try:
            amount = parse_money(raw_amount)
        except ValueError as e:
            errors.append(RowError(row.path, row.line, "amount_usd", str(e)))
    qualifier = _choice(row, "amount_qualifier", AMOUNT_QUALIFIERS, errors, required=False)
    if raw_amount is None and qualifier not in (None, "undisclosed"):
        errors.append(RowError(row.path, row.line, "amount_qualifier",
                               f"{qualifier!r} needs an amount; leave both empty or say 'undisclosed'"))
    if raw_amount is not None and qualifier == "undisclosed":
        errors.append(RowError(row.path, row.line, "amount_qualifier",
                               "'undisclosed' but amount_usd is given"))
    if qualifier is None:
        qualifier = "undisclosed" if raw_amount is None else "exact"
    status = _choice(row, "status", DEAL_STATUSES, errors)
    description = row.values.get("description")
    if description is not None and (problem := _text_ok(description, MAX_TEXT)) is not None:
        errors.append(RowError(row.path, row.line, "description", problem))
    source = _url(row, "source_url", errors, required=True)
    confidence = _choice(row, "confidence", CONFIDENCES, errors)
    if len(errors) > n or did is None:
        return None
    return {"deal_id": did, "date": date, "day": day, "date_from": date_from,
            "payer": parties["payer"], "payee": parties["payee"], "type": dtype,
            "amount_usd": amount, "amount_qualifier": qualifier, "status": status,
            "description": description, "source_url": source, "confidence": confidence}
