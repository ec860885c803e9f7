"""Turn raw rows into validated entity and deal records, or say exactly what is wrong.

Everything is checked before anything is written: a file with one bad row
writes nothing. Deals may name their payer and payee by entity id, name or
alias (case and spacing ignored); an unknown name becomes a new entity of
kind 'other', with a warning, unless it looks like a known entity (a Unicode
look-alike) or the id it would get already names another entity: then the
row is refused.

Rules every field of every table follows (see the README's input rules):

- no control characters (C0, DEL, C1), no unpaired surrogates, no Unicode
  bidirectional controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069) and no
  line or paragraph separators (U+2028/9); only a deal's ``description`` may
  hold line feeds and tabs (a CRLF in it is read as one line feed);
- ids are case-insensitive (compared after NFKC and case folding): two ids that
  differ only there, in the input or against the graph, are refused;
- names, aliases and ids name one entity across the input and the graph.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RowError
from ..graph.model import (
    AMOUNT_QUALIFIERS,
    CONFIDENCES,
    DEAL_STATUSES,
    DEAL_TYPES,
    ENTITY_FINANCIAL_FIELDS,
    ENTITY_KINDS,
    SIGNED_FINANCIAL_FIELDS,
    name_key,
)
from .fields import (
    MAX_NAME,
    MAX_TEXT,
    _characters_ok,
    _choice,
    _date,
    _id,
    _money,
    _name,
    _str,
    _url,
    forbidden_char,
    parse_money,
)
from .readers import RawRow, RawTable

__all__ = ["COUNTRY_CODES", "Plan", "build_plan", "forbidden_char", "id_key", "name_key",
           "parse_money", "skeleton"]

# ISO 3166-1 alpha-2: the 249 officially assigned codes, plus XK (Kosovo), a
# user-assigned code the EU, the IMF and SWIFT use. Taken from the ISO 3166
# Online Browsing Platform's list (cross-checked against the iso3166 package,
# 3.0.0); the list changes rarely (last: 2011, BQ CW SS SX added, AN withdrawn).
COUNTRY_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
""".split())  # noqa: SIM905 - a block of codes is easier to check against the ISO list


def id_key(text: str) -> str:
    """How ids are compared: NFKC and case folding, so 'D1' and 'd1' are one id.

    >>> id_key("Deal-1") == id_key("deal-1")
    True
    """
    return unicodedata.normalize("NFKC", text).casefold()


_LATIN = {"æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i", "ħ": "h"}


def _slug(text: str) -> tuple[str, bool]:
    """The id a new entity gets from its name, and whether it was cut short.

    Letters that have no ASCII form are kept as their code points, so names in
    other scripts get distinct ids rather than all one fallback id (which then
    took the key of any entity named like it).

    >>> _slug("Société Générale"), _slug("华为 AI"), _slug("!!")
    (('societe-generale', False), ('u534e-u4e3a-ai', False), ('u0021-u0021', False))
    """
    out = []
    for c in unicodedata.normalize("NFKD", text.casefold()):
        if c.isascii():
            out.append(c if c.isalnum() else "-")
        elif c in _LATIN:
            out.append(_LATIN[c])
        elif unicodedata.combining(c):
            continue
        else:
            out.append(f"-u{ord(c):04x}-" if c.isalnum() else "-")
    s = re.sub(r"-+", "-", "".join(out)).strip("-")
    if not s:  # no letters or digits at all: the code points of the whole name
        s = "-".join(f"u{ord(c):04x}" for c in text.casefold() if not c.isspace())
    return s[:80].rstrip("-"), len(s) > 80


# ---------------------------------------------------------------------------
# Look-alike names: Unicode confusable skeletons (UTS #39)

_PROTOTYPE: dict[str, str] | None = None
_ASCII_PROTOTYPE: dict[int, str] = {}  # the same for ASCII characters, for str.translate


def _prototypes() -> dict[str, str]:
    """Character -> the prototype it is confusable with, from Unicode's confusables.txt
    as the confusable-homoglyphs package ships it. That file keeps each pair in both
    directions, so each class's prototype is found again: the member most others map
    to (a star's centre); in a lone pair a multi-character or ASCII member."""
    global _PROTOTYPE
    if _PROTOTYPE is not None:
        return _PROTOTYPE
    import importlib.util
    import json
    from pathlib import Path

    # the data file only: importing the package's modules would pull in urllib
    spec = importlib.util.find_spec("confusable_homoglyphs")
    where = Path(next(iter(spec.submodule_search_locations or [])) if spec else ".")
    data = json.loads((where / "confusables.json").read_text(encoding="utf-8"))

    marks = re.compile("[\u200e\u200f]")  # the file wraps right-to-left characters in LRM marks
    adj: dict[str, set[str]] = {}
    for k, vs in data.items():
        x = marks.sub("", k)
        if not x:
            continue
        near = adj.setdefault(x, set())
        for v in vs:
            y = marks.sub("", v["c"])
            if y and y != x:
                near.add(y)
                adj.setdefault(y, set()).add(x)
    members: list[list[str]] = []
    seen: set[str] = set()
    for x in adj:
        if x in seen:
            continue
        seen.add(x)
        group, todo = [], [x]
        while todo:
            y = todo.pop()
            group.append(y)
            for z in adj[y]:
                if z not in seen:
                    seen.add(z)
                    todo.append(z)
        members.append(group)
    single: dict[str, str] = {}
    multi: dict[str, str] = {}
    for group in members:
        proto = min(group, key=lambda t: (-len(adj[t]), -len(t), not t.isascii(), t))
        for t in group:
            if len(t) == 1 and t != proto:
                (multi if len(proto) > 1 else single)[t] = proto
    # a multi-character prototype is itself written in prototypes
    out = dict(single)
    for t, proto in multi.items():
        out[t] = "".join(single.get(c, c) for c in proto)
    _ASCII_PROTOTYPE.update({ord(c): p for c, p in out.items() if c.isascii()})
    _PROTOTYPE = out
    return out


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, drop format characters, map each character to its
    confusable prototype, NFD again. Two texts that look alike share a skeleton.

    >>> skeleton("Nv\\u0456dia") == skeleton("Nvidia")
    True
    """
    proto = _prototypes()
    if text.isascii():  # the common case: no decomposition, no format characters
        return unicodedata.normalize("NFD", text.translate(_ASCII_PROTOTYPE))
    s = unicodedata.normalize("NFD", text)
    s = "".join(proto.get(c, c) for c in s if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFD", s)


def _look_keys(text: str) -> tuple[str, str]:
    """The skeletons a name is compared by: of its case-folded key, and of the text
    as cased (so 'NVlDlA' with a small L still resembles 'NVIDIA')."""
    return ("k" + skeleton(name_key(text)),
            "t" + skeleton(" ".join(unicodedata.normalize("NFKC", text).split())))


class _LookAlikes:
    """Which entity a name's skeleton belongs to; built lazily, only when a name is new."""

    def __init__(self, entities: Iterable[tuple[str, list[str]]]) -> None:
        self._pending = list(entities)
        self._index: dict[str, tuple[str, str]] | None = None

    def _built(self) -> dict[str, tuple[str, str]]:
        if self._index is None:
            self._index = {}
            for eid, texts in self._pending:
                self.add(eid, texts)
        return self._index

    def add(self, eid: str, texts: Iterable[str]) -> None:
        if self._index is None:
            self._pending.append((eid, list(texts)))
            return
        for t in texts:
            for k in _look_keys(t):
                self._index.setdefault(k, (eid, t))

    def resembles(self, text: str, not_eid: str | None = None) -> tuple[str, str] | None:
        """(entity id, its name) that text looks like but is not written as."""
        index = self._built()
        key = name_key(text)
        for k in _look_keys(text):
            hit = index.get(k)
            if hit is not None and hit[0] != not_eid and name_key(hit[1]) != key:
                return hit
        return None


def _odd_chars(text: str, like: str) -> str:
    odd = [c for c in dict.fromkeys(text) if c not in like and not c.isascii()]
    odd = odd or [c for c in dict.fromkeys(text) if c not in like]
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in odd[:3])


# ---------------------------------------------------------------------------


@dataclass
class Plan:
    """What an ingest will write, once every row has passed."""

    entities: list[dict[str, Any]] = field(default_factory=list)  # full rows from entities files
    auto_entities: list[dict[str, Any]] = field(default_factory=list)  # unknown names in deals
    parents: list[dict[str, str]] = field(default_factory=list)  # entity id -> parent id
    parent_cleared: list[str] = field(default_factory=list)  # entities whose parent is (re)set
    deals: list[dict[str, Any]] = field(default_factory=list)
    # What participants, sources and events tables give, and the deals whose
    # members, extra sources or events they replace (see ingest/links.py).
    participants: list[dict[str, Any]] = field(default_factory=list)
    participant_deals: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    source_deals: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    event_deals: list[str] = field(default_factory=list)
    # deal id -> (event day numbers, statuses) for every deal written or given events
    histories: dict[str, tuple[list[int], list[str]]] = field(default_factory=dict)
    financials: list[dict[str, Any]] = field(default_factory=list)  # per (entity, as_of)
    assets: list[dict[str, Any]] = field(default_factory=list)  # assets rows and listed equities named
    holdings: list[dict[str, Any]] = field(default_factory=list)  # per (holder, asset, as_of)
    stored_assets: dict[str, dict[str, Any]] = field(default_factory=dict)  # the graph's, by id
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class _Resolver:
    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}
        self.ids: set[str] = set()

    def add(self, eid: str, keys: Iterable[str]) -> tuple[str, str] | None:
        """Register an entity's names; (key, other entity) of a clash, if any."""
        self.ids.add(eid)
        for k in keys:
            other = self.by_key.get(k)
            if other is not None and other != eid:
                return k, other
        for k in keys:
            self.by_key.setdefault(k, eid)
        return None

    def resolve(self, text: str) -> str | None:
        if text in self.ids:
            return text
        return self.by_key.get(name_key(text))


def _entity_keys(eid: str, name: str, aliases: list[str]) -> list[str]:
    return list(dict.fromkeys([name_key(eid), name_key(name), *(name_key(a) for a in aliases)]))


class _Ids:
    """First spelling of each id (by id_key) in the input, and the stored ones:
    two spellings of one id are near-twins and refused."""

    def __init__(self, kind: str, col: str, stored: Iterable[str]) -> None:
        self.kind, self.col = kind, col
        self.stored = {id_key(i): i for i in stored}
        self.seen: dict[str, tuple[str, RawRow]] = {}

    def ok(self, row: RawRow, ident: str, errors: list[RowError]) -> bool:
        k = id_key(ident)
        first = self.seen.get(k)
        if first is not None and first[0] != ident:
            errors.append(RowError(row.path, row.line, self.col,
                                   f"{ident!r} and {first[0]!r} (at {first[1].path}:{first[1].line}) "
                                   f"differ only in case; ids are case-insensitive, so they name one "
                                   f"{self.kind}: write it one way"))
            return False
        stored = self.stored.get(k)
        if stored is not None and stored != ident:
            errors.append(RowError(row.path, row.line, self.col,
                                   f"{ident!r} differs only in case from the stored {self.kind} "
                                   f"{stored!r}; ids are case-insensitive: write {stored!r} to update it"))
            return False
        self.seen.setdefault(k, (ident, row))
        return True


def build_plan(tables: list[RawTable], stored_entities: Sequence[Mapping[str, Any]],
               stored_deal_ids: Iterable[str] | None = None,
               stored_deals: Mapping[str, Mapping[str, Any]] | None = None,
               today: _dt.date | None = None,
               stored_assets: Mapping[str, Mapping[str, Any]] | None = None) -> Plan:
    """Validate every row of every table against each other and the stored graph.

    ``stored_deal_ids``: every deal id the graph holds, so that an input id that
    differs from a stored one only in case is refused (skipped when None).
    ``stored_deals``: deal id -> ``{date, day, status, payer, payee, ev_days,
    ev_statuses}`` for the stored deals the input names (its deals and the deals
    its participants, sources and events hang on). ``today``: events,
    financials and holdings may not be dated after it (default: the real today).
    ``stored_assets``: asset id -> ``{asset_id, class, issuer, ...}`` of the stored assets.
    """
    plan = Plan()
    stored_parent: dict[str, str | None] = {e["id"]: e.get("parent") for e in stored_entities}

    entity_ids = _Ids("entity", "entity_id", stored_parent)
    entity_rows: dict[str, tuple[RawRow, dict[str, Any]]] = {}
    pending_parents: list[tuple[RawRow, str, str]] = []
    for table in (t for t in tables if t.kind == "entities"):
        for row in table.rows:
            rec = _entity(row, plan.errors)
            if rec is None or not entity_ids.ok(row, rec["id"], plan.errors):
                continue
            _keep_first(entity_rows, rec["id"], row, rec, "entity_id", plan.errors)
    # Stored entities that the files do not redefine keep their names; then every
    # file entity's names and aliases must name that entity only.
    resolver = _Resolver()
    known: list[tuple[str, list[str]]] = []
    for e in stored_entities:
        if e["id"] not in entity_rows:
            texts = [e.get("name") or e["id"], *(e.get("aliases") or []), e["id"]]
            keys = list(dict.fromkeys([*(name_key(t) for t in texts), *(e.get("name_keys") or [])]))
            resolver.add(e["id"], keys)
            known.append((e["id"], texts))
    look = _LookAlikes(known)
    for eid, (row, rec) in entity_rows.items():
        clash = resolver.add(eid, rec["name_keys"])
        if clash is not None:
            key, other = clash
            col, text = next(((c, t) for c, t in (("entity_id", eid), ("name", rec["name"]),
                                                  *(("aliases", a) for a in rec["aliases"]))
                              if name_key(t) == key), ("aliases", key))
            plan.errors.append(RowError(row.path, row.line, col,
                                        f"{text!r} already names entity {other!r} (as its id, name or "
                                        "alias); a name or alias may name one entity only"))
        look.add(eid, [rec["name"], *rec["aliases"], eid])
        raw_parent = row.values.get("parent")
        if isinstance(raw_parent, str) and raw_parent:
            pending_parents.append((row, eid, raw_parent))
        plan.entities.append(rec)
        plan.parent_cleared.append(eid)
    if entity_rows:  # a declared entity may resemble another; say so
        for eid, (row, rec) in entity_rows.items():
            for t in (rec["name"], *rec["aliases"]):
                hit = look.resembles(t, not_eid=eid)
                if hit is not None:
                    plan.warnings.append(f"{row.path}:{row.line}: {t!r} of entity {eid!r} looks like "
                                         f"{hit[1]!r} of entity {hit[0]!r} ({_odd_chars(t, hit[1])}); "
                                         "kept as a separate entity, as declared")
                    break

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

    deal_ids = _Ids("deal", "deal_id", stored_deal_ids or ())
    deal_rows: dict[str, tuple[RawRow, dict[str, Any]]] = {}
    auto: dict[str, dict[str, Any]] = {}
    auto_by_key: dict[str, dict[str, Any]] = {}
    for table in (t for t in tables if t.kind == "deals"):
        for row in table.rows:
            rec = _deal(row, plan.errors)
            if rec is None:
                continue
            bad = False
            for side in ("payer", "payee"):
                raw = rec[side]
                who = resolver.resolve(raw)
                if who is None:
                    made = auto_by_key.get(name_key(raw))
                    if made is None:
                        made = _new_entity(row, side, raw, resolver, auto_by_key, look, plan)
                        if made is None:
                            bad = True
                            continue
                        auto[made["id"]] = made
                    who = made["id"]
                rec[side] = who
            if bad:
                continue
            if rec["payer"] == rec["payee"]:
                plan.errors.append(RowError(row.path, row.line, "payee",
                                            f"payer and payee are the same entity ({rec['payer']!r})"))
                continue
            if deal_ids.ok(row, rec["deal_id"], plan.errors):
                _keep_first(deal_rows, rec["deal_id"], row, rec, "deal_id", plan.errors)
    plan.deals = [rec for _, rec in deal_rows.values()]

    texts_of: dict[str, list[str]] = {eid: texts for eid, texts in known}
    texts_of.update({eid: [eid, rec["name"], *rec["aliases"]] for eid, (_, rec) in entity_rows.items()})

    def party_names(deal: Mapping[str, Any]) -> list[str]:
        return [t for side in ("payer", "payee") for t in texts_of.get(deal[side], [deal[side]])]

    def member_entity(row: RawRow, col: str, raw: str) -> dict[str, Any] | None:
        made = auto_by_key.get(name_key(raw))
        if made is None:
            made = _new_entity(row, col, raw, resolver, auto_by_key, look, plan)
            if made is not None:
                auto[made["id"]] = made
        return made

    from .links import check_links

    check_links(tables, plan, resolve=lambda t: resolver.resolve(t) or (
                    auto_by_key[name_key(t)]["id"] if name_key(t) in auto_by_key else None),
                new_entity=member_entity, party_names=party_names, entity_rows=entity_rows,
                deal_rows=deal_rows, stored_deals=stored_deals or {},
                today=today or _dt.date.today())
    plan.auto_entities = list(auto.values())
    from .holdings import check_holdings

    check_holdings(tables, plan, resolve=resolver.resolve, stored_assets=stored_assets or {},
                   today=today or _dt.date.today())
    return plan


def _new_entity(row: RawRow, side: str, raw: str, resolver: _Resolver,
                auto_by_key: dict[str, dict[str, Any]], look: _LookAlikes,
                plan: Plan) -> dict[str, Any] | None:
    """An entity of kind 'other' for a name no entity has; None (and an error) when
    the name looks like a known entity or its id would take another entity's name."""
    hit = look.resembles(raw)
    if hit is not None:
        plan.errors.append(RowError(row.path, row.line, side,
                                    f"{raw!r} looks like {hit[1]!r} (entity {hit[0]!r}) but is written "
                                    f"with other characters ({_odd_chars(raw, hit[1])}); write the "
                                    "entity's name as it is, or declare the new entity in an "
                                    "entities file if it is a different one"))
        return None
    base, cut = _slug(raw)
    owner = resolver.by_key.get(base) or (auto_by_key[base]["id"] if base in auto_by_key else None)
    if owner is not None and not cut:
        plan.errors.append(RowError(row.path, row.line, side,
                                    f"{raw!r} is not a known entity, and the id it would get, {base!r}, "
                                    f"already names entity {owner!r}; write that entity's name if it is "
                                    "the same one, or declare the new entity in an entities file"))
        return None
    eid, n = base, 2
    while eid in resolver.by_key or eid in auto_by_key or eid in resolver.ids:
        eid, n = f"{base}-{n}", n + 1
    made = {"id": eid, "name": raw, "name_keys": list(dict.fromkeys([name_key(eid), name_key(raw)]))}
    for k in made["name_keys"]:
        auto_by_key[k] = made
    look.add(eid, [raw, eid])
    plan.warnings.append(f"{row.path}:{row.line}: {side} {raw!r} is not a known "
                         f"entity; created {eid!r} of kind 'other'")
    return made


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


def _aliases(row: RawRow, errors: list[RowError]) -> list[str]:
    """A list (JSON/YAML) keeps each item whole; a string is split on ';' in every format."""
    raw = row.values.get("aliases")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [a.strip() for a in raw.split(";")]
    aliases: list[str] = []
    for i, a in enumerate(items, 1):
        if not a:
            if isinstance(raw, list):
                errors.append(RowError(row.path, row.line, "aliases", f"alias {i} of the list is empty"))
            continue
        if len(a) > MAX_NAME:
            errors.append(RowError(row.path, row.line, "aliases", f"longer than {MAX_NAME} characters"))
        elif a not in aliases:
            aliases.append(a)
    return aliases


_CIK_RE = re.compile(r"(?:CIK)?0*([0-9]{1,10})", re.IGNORECASE)
_TICKER_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,11}")
_LEI_RE = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
_CUSIP_RE = re.compile(r"[0-9A-Z*@#]{9}")


def cusip_check_digit(body: str) -> str:
    """The ninth character of a CUSIP from its first eight (the "modulus 10 double add
    double" of ANSI X9.6).

    >>> cusip_check_digit("67066G10"), cusip_check_digit("59491810")
    ('4', '4')
    """
    total = 0
    for i, c in enumerate(body[:8]):
        if c.isdigit():
            v = int(c)
        elif c.isalpha():
            v = ord(c) - ord("A") + 10
        else:
            v = {"*": 36, "@": 37, "#": 38}[c]
        if i % 2:
            v *= 2
        total += v // 10 + v % 10
    return str((10 - total % 10) % 10)


def normal_cik(text: str) -> str | None:
    """A Central Index Key as ten digits, or None if ``text`` is not one.

    >>> normal_cik("1045810"), normal_cik("CIK0001045810"), normal_cik("NVDA")
    ('0001045810', '0001045810', None)
    """
    m = _CIK_RE.fullmatch(text.strip())
    if m is None or int(m.group(1)) == 0:
        return None
    return f"{int(m.group(1)):010d}"


def _id_list(row: RawRow, col: str, errors: list[RowError]) -> list[str]:
    raw = row.values.get(col)
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else raw.split(";")
    return list(dict.fromkeys(s.strip().upper() for s in items if s and s.strip()))


def entity_identifiers(row: RawRow, errors: list[RowError]) -> dict[str, Any]:
    """The optional identifier columns of an entities row: ``sec_cik`` (ten digits; the
    leading zeros and a ``CIK`` prefix may be left out), ``tickers`` (';'-separated or a
    list), ``lei`` (ISO 17442: 20 characters) and ``cusips`` (9 characters with a valid
    check digit)."""
    out: dict[str, Any] = {"sec_cik": None, "tickers": [], "lei": None, "cusips": []}
    cik = _str(row, "sec_cik", errors)
    if cik is not None:
        out["sec_cik"] = normal_cik(cik)
        if out["sec_cik"] is None:
            errors.append(RowError(row.path, row.line, "sec_cik",
                                   f"{cik[:40]!r} is not an SEC Central Index Key (1 to 10 digits)"))
    for t in _id_list(row, "tickers", errors):
        if not _TICKER_RE.fullmatch(t):
            errors.append(RowError(row.path, row.line, "tickers",
                                   f"{t[:40]!r} is not a ticker (letters, digits, '.' and '-', at most 12)"))
        else:
            out["tickers"].append(t)
    lei = _str(row, "lei", errors)
    if lei is not None:
        if not _LEI_RE.fullmatch(lei.strip().upper()):
            errors.append(RowError(row.path, row.line, "lei",
                                   f"{lei[:40]!r} is not a Legal Entity Identifier (20 letters and digits, "
                                   "the last two digits)"))
        else:
            out["lei"] = lei.strip().upper()
    for c in _id_list(row, "cusips", errors):
        if not _CUSIP_RE.fullmatch(c):
            errors.append(RowError(row.path, row.line, "cusips",
                                   f"{c[:40]!r} is not a CUSIP (9 letters and digits)"))
        elif cusip_check_digit(c) != c[8]:
            errors.append(RowError(row.path, row.line, "cusips",
                                   f"{c!r}: its check digit should be {cusip_check_digit(c)!r}; a typo?"))
        else:
            out["cusips"].append(c)
    # an entity without them carries no empty list (None removes the property)
    return {k: (v or None) for k, v in out.items()}


def _entity(row: RawRow, errors: list[RowError]) -> dict[str, Any] | None:
    if not _characters_ok(row, errors):
        return None
    n = len(errors)
    eid = _id(row, "entity_id", errors)
    name = _name(row, "name", errors, "")
    kind = _choice(row, "kind", ENTITY_KINDS, errors)
    aliases = _aliases(row, errors)
    _str(row, "parent", errors)
    country = _str(row, "country", errors)
    if country is not None:
        country = country.upper()
        if country not in COUNTRY_CODES:
            errors.append(RowError(row.path, row.line, "country",
                                   f"{country[:20]!r} is not a two-letter ISO 3166-1 country code"))
    money = {col: _money(row, col, errors, signed=col in SIGNED_FINANCIAL_FIELDS)
             for col in ENTITY_FINANCIAL_FIELDS}
    as_of = _date(row, errors, "as_of", required=False)
    source = _url(row, "source_url", errors, required=False)
    ids = entity_identifiers(row, errors)
    if len(errors) > n or eid is None or name is None:
        return None
    # The money columns are one financials row of the entity (see ingest/links.py).
    return {"id": eid, "name": name, "kind": kind, "aliases": aliases,
            "name_keys": _entity_keys(eid, name, aliases), "country": country,
            "source_url": source, **ids, "_money": money, "_as_of": as_of[0]}


def _deal(row: RawRow, errors: list[RowError]) -> dict[str, Any] | None:
    if not _characters_ok(row, errors):
        return None
    n = len(errors)
    did = _id(row, "deal_id", errors)
    date, day, date_from = _date(row, errors)
    parties = {side: _name(row, side, errors, " (entity id, name or alias)")
               for side in ("payer", "payee")}
    dtype = _choice(row, "type", DEAL_TYPES, errors)
    raw_amount = _str(row, "amount_usd", errors)
    amount = _money(row, "amount_usd", errors)
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
    description = _str(row, "description", errors)
    if description is not None:
        description = description.replace("\r\n", "\n")
        if len(description) > MAX_TEXT:
            errors.append(RowError(row.path, row.line, "description", f"longer than {MAX_TEXT} characters"))
    source = _url(row, "source_url", errors, required=True)
    confidence = _choice(row, "confidence", CONFIDENCES, errors)
    if len(errors) > n or did is None:
        return None
    return {"deal_id": did, "date": date, "day": day, "date_from": date_from,
            "payer": parties["payer"], "payee": parties["payee"], "type": dtype,
            "amount_usd": amount, "amount_qualifier": qualifier, "status": status,
            "description": description, "source_url": source, "confidence": confidence}
