"""Where the data is thin or suspect: checks over a snapshot of the web.

Each check is a plain function over a snapshot (what
``loops.from_store.snapshot(store, as_of=..., sources=True)`` returns; any
object with its fields will do) and returns :class:`Finding` records, each
naming the deal or entity ids it concerns. :func:`audit` runs them all.

Severities: ``error``, the data contradicts itself (a status its own events
deny, shares of a side over 100%); ``warning``, a fact the analyses rely on is
weak or missing (only aggregator sources, a syndicate without members, no
financials, a status unchanged for over a year, two names for what may be one
entity); ``info``, a known gap worth knowing (an undisclosed amount, a deal
without events, old financials, part of a side's shares undisclosed).

The rules and their thresholds:

- *stale status*: announced, signed or stalled, and its latest event on or
  before the as-of day (the deal's date when it has none) lies more than
  :data:`STALE_STATUS_DAYS` days before it.
- *financials*: entities that pay, receive or are members of a deal (not the
  syndicate placeholders below, which report nothing of their own) with no
  financials dated on or before the as-of day, or none in the
  :data:`FINANCIALS_MONTHS` months before it.
- *syndicate*: an entity stands for a group of lenders or investors when its
  name has a word in :data:`SYNDICATE_WORDS` (``"JPMorgan-led bank syndicate"``,
  ``"Bond investors (Oracle notes)"``); or it is a financier (kind in
  :data:`FINANCIER_KINDS`) whose name joins several with ``/``
  (``"JPMorgan/Goldman/Morgan Stanley"``; ``"Samsung/SK Hynix"``, a chipmaker, is
  not one); or it is of kind ``other`` and lends (pays a loan, bond or credit
  facility). One without participants rows on its side of a deal hides who bears
  the exposure.
- *near-duplicate names*: names and aliases of two entities, compared by
  :func:`~circfin.ingest.validate.name_key`, whose normalised Levenshtein
  similarity (1 - distance / longer length) is at least
  :data:`NEAR_DUPLICATE_RATIO`, or which are one edit apart and both at least
  :data:`NEAR_DUPLICATE_MIN_LEN` characters long. Names that differ only in
  their digits (``"DDTL 4.0"`` and ``"DDTL 5.0"``, ``"Fund 1"`` and ``"Fund 2"``), or in one
  word of at most three characters (``"Series C"`` and ``"Series E"``, ``"DBS Group"`` and
  ``"UBS Group"``) are siblings or acronyms, not typos, and are left out.
- *confusable names*: names or aliases of two entities that share a Unicode
  confusable skeleton (:func:`~circfin.ingest.validate.skeleton`, UTS #39) but
  are not the same name, such as ``"Nvіdia"`` with a Cyrillic ``і`` beside
  ``"Nvidia"``.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as _dt
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..ingest.validate import name_key, skeleton
from .snapshot import SnapshotLike

__all__ = ["CHECKS", "FINANCIALS_MONTHS", "FINANCIER_KINDS", "NEAR_DUPLICATE_MIN_LEN",
           "NEAR_DUPLICATE_RATIO", "SEVERITIES", "STALE_STATUS_DAYS", "SYNDICATE_WORDS", "Finding",
           "SnapshotLike", "audit", "confusable_names", "deals_without_events", "near_duplicate_names",
           "no_financials", "shares_over_one", "side_partly_undisclosed", "stale_financials",
           "stale_statuses", "status_event_disagreement", "syndicates_without_members",
           "undisclosed_amounts", "weak_sources"]

SEVERITIES: tuple[str, ...] = ("error", "warning", "info")  # worst first
STALE_STATUS_DAYS = 365
STALE_STATUSES: tuple[str, ...] = ("announced", "signed", "stalled")
FINANCIALS_MONTHS = 18
WEAK_SOURCE_KINDS: tuple[str, ...] = ("aggregator", "other")
SYNDICATE_WORDS: tuple[str, ...] = ("syndicate", "consortium", "club", "banks", "lenders", "investors",
                                    "bondholders", "noteholders")
FINANCIER_KINDS: tuple[str, ...] = ("bank", "private_credit", "asset_manager", "hedge_fund", "other")
LENDING_TYPES: tuple[str, ...] = ("loan", "bond", "credit_facility")
NEAR_DUPLICATE_RATIO = 0.9
NEAR_DUPLICATE_MIN_LEN = 5
_SHARE_TOLERANCE = 1e-9
_EPOCH = _dt.date(1970, 1, 1)
_SYNDICATE_RE = re.compile(r"\b(?:" + "|".join(SYNDICATE_WORDS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One thing the audit found: which check, how bad, the ids it concerns, and what."""

    check: str
    severity: str
    ids: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "ids": list(self.ids),
                "message": self.message}


# check -> (severity, what it means): the order the report lists them in.
CHECKS: dict[str, tuple[str, str]] = {
    "status_event_disagreement": ("error", "deal status differs from its latest event's"),
    "shares_over_one": ("error", "members' shares of a deal side add up to more than 1"),
    "confusable_names": ("warning", "two entities whose names look alike (Unicode confusables)"),
    "near_duplicate_names": ("warning", "two entities whose names are nearly the same"),
    "weak_sources": ("warning", "deals sourced only by aggregators or unclassified sites"),
    "syndicates_without_members": ("warning", "syndicate-like entities in deals without members"),
    "no_financials": ("warning", "entities in deals with no financials"),
    "stale_statuses": ("warning", f"statuses unchanged for over {STALE_STATUS_DAYS} days"),
    "stale_financials": ("info", f"latest financials older than {FINANCIALS_MONTHS} months"),
    "undisclosed_amounts": ("info", "deals without a disclosed amount"),
    "deals_without_events": ("info", "deals without dated events"),
    "side_partly_undisclosed": ("info", "disclosed shares of a deal side add up to less than 1"),
}


def _finding(check: str, ids: Iterable[str], message: str) -> Finding:
    return Finding(check, CHECKS[check][0], tuple(ids), message)


def _ref_date(snap: SnapshotLike, today: _dt.date | None) -> _dt.date:
    """The day the audit is about: the snapshot's as-of day, else ``today``, else today."""
    if snap.as_of is not None:
        return _dt.date.fromisoformat(snap.as_of)
    return today if today is not None else _dt.date.today()


def _as_of_day(snap: SnapshotLike) -> int | None:
    return None if snap.as_of is None else (_dt.date.fromisoformat(snap.as_of) - _EPOCH).days


def _iso(day: int) -> str:
    return (_EPOCH + _dt.timedelta(days=int(day))).isoformat()


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _list(v: Any) -> list[Any]:
    """A list cell of the deals frame (ev_days, ev_statuses): None or NaN is empty."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    return list(v)


def _deals(snap: SnapshotLike) -> list[dict[str, Any]]:
    return snap.deal_rows


def _label(deal: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """'Payer → Payee (type, date)' for a message."""
    payer, payee = str(deal.get("payer")), str(deal.get("payee"))
    return (f"{names.get(payer, payer)} → {names.get(payee, payee)} "
            f"({deal.get('type')}, {deal.get('date')})")


def _names(snap: SnapshotLike) -> dict[str, str]:
    return {e["id"]: e.get("name") or e["id"] for e in snap.entities}


# ---- deals ---------------------------------------------------------------------------------


def undisclosed_amounts(snap: SnapshotLike) -> list[Finding]:
    """Deals whose amount is undisclosed (qualifier ``undisclosed`` or no amount):
    they count in deal and partner counts, never in dollar totals or exposures."""
    names = _names(snap)
    found = []
    for d in _deals(snap):
        if d.get("amount_qualifier") == "undisclosed" or _missing(d.get("amount_usd")):
            found.append(_finding("undisclosed_amounts", [d["deal_id"]],
                                  f"{_label(d, names)}: amount undisclosed"))
    return found


def weak_sources(snap: SnapshotLike) -> list[Finding]:
    """Deals every source of which (its own source_url, rank 0, included) is an
    aggregator or unclassified site: no filing, company release or news report.
    Without the sources table read (``snap.sources`` None), the deal's own
    ``source_kind`` is all there is."""
    names = _names(snap)
    kinds: dict[str, list[str]] = defaultdict(list)
    for s in snap.sources or []:
        kinds[s["deal_id"]].append(s.get("kind") or "other")
    found = []
    for d in _deals(snap):
        mine = kinds.get(d["deal_id"]) or [d.get("source_kind") or "other"]
        if all(k in WEAK_SOURCE_KINDS for k in mine):
            n = len(mine)
            found.append(_finding(
                "weak_sources", [d["deal_id"]],
                f"{_label(d, names)}: {'its only source is' if n == 1 else f'all {n} sources are'} "
                f"{' or '.join(sorted(set(mine)))}; find a filing, company release or news report"))
    return found


def deals_without_events(snap: SnapshotLike) -> list[Finding]:
    """Deals with no dated event on or before the as-of day: their status has no date."""
    names = _names(snap)
    day = _as_of_day(snap)
    with_events = {e["deal_id"] for e in snap.events}
    found = []
    for d in _deals(snap):
        days = _list(d.get("ev_days"))
        if d["deal_id"] in with_events or any(day is None or x <= day for x in days):
            continue
        found.append(_finding("deals_without_events", [d["deal_id"]],
                              f"{_label(d, names)}: status {d.get('status')!r} has no dated event"))
    return found


def status_event_disagreement(snap: SnapshotLike,
                              recorded: Mapping[str, str] | None = None) -> list[Finding]:
    """Deals whose status is not their latest event's. Ingest refuses this, but a
    graph written by an older version or by hand can hold it.

    ``recorded``: deal id -> the status stored on the deal. A snapshot read as of
    a date holds each deal's status *then*, derived from its events, so the
    caller passes the stored one; without it the frame's status is compared.
    With an as-of day only deals whose latest event is on or before it are checked.
    """
    names = _names(snap)
    day = _as_of_day(snap)
    found = []
    for d in _deals(snap):
        days, statuses = _list(d.get("ev_days")), _list(d.get("ev_statuses"))
        if not days or len(days) != len(statuses):
            continue
        last = max(range(len(days)), key=lambda i: (days[i], i))
        if day is not None and days[last] > day:
            continue
        status = d.get("status") if recorded is None else recorded.get(d["deal_id"], d.get("status"))
        if status != statuses[last]:
            found.append(_finding(
                "status_event_disagreement", [d["deal_id"]],
                f"{_label(d, names)}: status {status!r} but its latest event "
                f"({_iso(days[last])}) says {statuses[last]!r}"))
    return found


def stale_statuses(snap: SnapshotLike, today: _dt.date | None = None) -> list[Finding]:
    """Deals still announced, signed or stalled whose latest event on or before
    the as-of day (without one, the deal's date) is more than a year before it:
    has the deal moved on, or died?"""
    names = _names(snap)
    ref = _ref_date(snap, today)
    ref_day = (ref - _EPOCH).days
    found = []
    for d in _deals(snap):
        if d.get("status") not in STALE_STATUSES:
            continue
        days = [x for x in _list(d.get("ev_days")) if x <= ref_day]
        last: Any = max(days) if days else d.get("day")
        if _missing(last):
            continue
        age = ref_day - int(last)
        if age > STALE_STATUS_DAYS:
            since = f"latest event {_iso(int(last))}" if days else f"deal date {d.get('date')}"
            found.append(_finding(
                "stale_statuses", [d["deal_id"]],
                f"{_label(d, names)}: still {d.get('status')!r}, {since} is {age} days before "
                f"{ref.isoformat()}; has it moved on?"))
    return found


# ---- participants ----------------------------------------------------------------------------


def _sides(snap: SnapshotLike) -> dict[tuple[str, str], list[dict[str, Any]]]:
    sides: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for p in snap.participants:
        if p.get("role") != "arranger":  # arrangers hold no share
            sides[(p["deal_id"], p["side"])].append(p)
    return dict(sorted(sides.items()))


def shares_over_one(snap: SnapshotLike) -> list[Finding]:
    """Deal sides whose members' shares add up to more than 1 (beyond rounding, 1e-9)."""
    found = []
    for (deal, side), members in _sides(snap).items():
        total = sum(float(m.get("share") or 0.0) for m in members)
        if total > 1 + _SHARE_TOLERANCE:
            found.append(_finding("shares_over_one", [deal],
                                  f"deal {deal}: the {len(members)} {side} members' shares add up to "
                                  f"{total:.4g}, more than 1"))
    return found


def side_partly_undisclosed(snap: SnapshotLike) -> list[Finding]:
    """Deal sides whose members all have disclosed shares adding up to less than 1:
    part of the side is unnamed, so the members' exposures are lower bounds."""
    found = []
    for (deal, side), members in _sides(snap).items():
        if not all(m.get("share_basis") == "disclosed" for m in members):
            continue
        total = sum(float(m.get("share") or 0.0) for m in members)
        if total < 1 - _SHARE_TOLERANCE:
            found.append(_finding("side_partly_undisclosed", [deal],
                                  f"deal {deal}: the {side} members' disclosed shares add up to "
                                  f"{total:.4g}; {1 - total:.4g} of the side is undisclosed"))
    return found


def _lends(snap: SnapshotLike) -> set[str]:
    return {d["payer"] for d in _deals(snap) if d.get("type") in LENDING_TYPES}


def _syndicates(snap: SnapshotLike) -> dict[str, str]:
    """Syndicate-like entity id -> why (see the module docstring for the rule)."""
    lenders = _lends(snap)
    out: dict[str, str] = {}
    for e in snap.entities:
        name = e.get("name") or e["id"]
        kind = e.get("kind")
        hit = _SYNDICATE_RE.search(name)
        if hit:
            out[e["id"]] = f"its name says {hit.group(0).lower()!r}"
        elif "/" in name and kind in FINANCIER_KINDS:
            out[e["id"]] = f"kind {kind}, its name joins several with '/'"
        elif kind == "other" and e["id"] in lenders:
            out[e["id"]] = "of kind 'other', it lends"
    return out


def syndicates_without_members(snap: SnapshotLike) -> list[Finding]:
    """Syndicate-like entities (see the module docstring) that pay or receive a
    deal without participants rows on their side: who bears the exposure is unknown."""
    names = _names(snap)
    syndicates = _syndicates(snap)
    sides = {(p["deal_id"], p["side"]) for p in snap.participants}
    found = []
    for d in _deals(snap):
        for side in ("payer", "payee"):
            eid = d.get(side)
            if eid in syndicates and (d["deal_id"], side) not in sides:
                found.append(_finding(
                    "syndicates_without_members", [d["deal_id"], eid],
                    f"{names.get(eid, eid)!r} ({syndicates[eid]}) is the {side} of deal "
                    f"{d['deal_id']} with no members named; add a participants table"))
    return found


# ---- financials ------------------------------------------------------------------------------


def _in_deals(snap: SnapshotLike) -> set[str]:
    """Entities that pay, receive or are members of a deal, less the syndicate placeholders."""
    ids = {d[s] for d in _deals(snap) for s in ("payer", "payee") if d.get(s) is not None}
    ids |= {p["member"] for p in snap.participants}
    return ids - set(_syndicates(snap))


def _months_before(day: _dt.date, months: int) -> _dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return _dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def _latest_financials(snap: SnapshotLike, ref: _dt.date) -> dict[str, str]:
    """Entity id -> the date of its latest financials row on or before ``ref``."""
    ref_iso = ref.isoformat()
    latest: dict[str, str] = {}
    for f in snap.financials:
        d = str(f.get("as_of") or "")
        if d and d <= ref_iso and d > latest.get(f["entity_id"], ""):
            latest[f["entity_id"]] = d
    return latest


def no_financials(snap: SnapshotLike, today: _dt.date | None = None) -> list[Finding]:
    """Entities in deals with no financials on or before the as-of day: their
    exposures cannot be set against equity or revenue."""
    names = _names(snap)
    latest = _latest_financials(snap, _ref_date(snap, today))
    return [_finding("no_financials", [eid], f"{names.get(eid, eid)!r} has no financials")
            for eid in sorted(_in_deals(snap)) if eid not in latest]


def stale_financials(snap: SnapshotLike, today: _dt.date | None = None) -> list[Finding]:
    """Entities in deals whose latest financials are older than 18 months before the as-of day."""
    names = _names(snap)
    ref = _ref_date(snap, today)
    cutoff = _months_before(ref, FINANCIALS_MONTHS).isoformat()
    latest = _latest_financials(snap, ref)
    return [_finding("stale_financials", [eid],
                     f"{names.get(eid, eid)!r}: latest financials dated {latest[eid]}, more than "
                     f"{FINANCIALS_MONTHS} months before {ref.isoformat()}")
            for eid in sorted(_in_deals(snap)) if eid in latest and latest[eid] < cutoff]


# ---- names -----------------------------------------------------------------------------------


def _texts(e: Mapping[str, Any]) -> list[str]:
    """An entity's name and aliases, once each."""
    return list(dict.fromkeys([e.get("name") or e["id"], *(e.get("aliases") or [])]))


def _odd_chars(a: str, b: str) -> str:
    odd = [c for c in dict.fromkeys(a + b) if (c in a) != (c in b)]
    shown = [c for c in odd if not c.isascii()] or odd
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in shown[:4])


def confusable_names(snap: SnapshotLike) -> list[Finding]:
    """Pairs of entities with a name or alias each that look the same (same UTS #39
    skeleton, case-folded or as written) but are different names."""
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for e in snap.entities:
        for t in _texts(e):
            for k in {"k" + skeleton(name_key(t)),
                      "t" + skeleton(" ".join(unicodedata.normalize("NFKC", t).split()))}:
                index[k].append((e["id"], t))
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    for hits in index.values():
        for i, (ea, ta) in enumerate(hits):
            for eb, tb in hits[i + 1:]:
                if ea != eb and name_key(ta) != name_key(tb):
                    key = (ea, eb) if ea < eb else (eb, ea)
                    pairs.setdefault(key, (ta, tb) if ea < eb else (tb, ta))
    return [_finding("confusable_names", [a, b],
                     f"{ta!r} ({a}) and {tb!r} ({b}) look alike ({_odd_chars(ta, tb)}); "
                     f"one entity written two ways, or two that readers cannot tell apart")
            for (a, b), (ta, tb) in sorted(pairs.items())]


def _near(a: str, b: str) -> tuple[int, float] | None:
    """(distance, similarity) when two name keys are near duplicates by the rule, else None."""
    from rapidfuzz.distance import Levenshtein

    if re.sub(r"\d", "", a) == re.sub(r"\d", "", b) and a != b:
        return None  # numbered siblings: 'Fund 1' and 'Fund 2'
    wa, wb = a.split(), b.split()
    if len(wa) == len(wb):
        differ = [(x, y) for x, y in zip(wa, wb, strict=True) if x != y]
        if len(differ) == 1 and max(len(differ[0][0]), len(differ[0][1])) <= 3:
            return None  # lettered siblings and acronyms: 'Series C' / 'Series E', 'DBS' / 'UBS'
    dist = Levenshtein.distance(a, b)
    sim = 1 - dist / max(len(a), len(b), 1)
    if sim >= NEAR_DUPLICATE_RATIO or (dist == 1 and min(len(a), len(b)) >= NEAR_DUPLICATE_MIN_LEN):
        return dist, sim
    return None


def near_duplicate_names(snap: SnapshotLike, *, chunk: int = 512) -> list[Finding]:
    """Pairs of entities with a name or alias each that are nearly the same (see the
    module docstring for the rule), once per pair, by their closest names. Pairs
    that :func:`confusable_names` reports are left to it."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    keys: list[str] = []
    owners: list[str] = []
    shown: list[str] = []
    for e in snap.entities:
        seen: set[str] = set()
        for t in _texts(e):
            k = name_key(t)
            if k and k not in seen:
                seen.add(k)
                keys.append(k)
                owners.append(e["id"])
                shown.append(t)
    confusable = {tuple(f.ids) for f in confusable_names(snap)}
    # Every pair the rule accepts has a similarity of at least 0.8 (one edit in five
    # characters) and lengths within 10% or one of each other. So the names are
    # sorted by length and each block of rows meets only the longer names that can
    # match; rapidfuzz drops the rest in C.
    order = sorted(range(len(keys)), key=lambda i: len(keys[i]))
    keys, owners, shown = [keys[i] for i in order], [owners[i] for i in order], [shown[i] for i in order]
    lens = [len(k) for k in keys]
    floor = min(NEAR_DUPLICATE_RATIO, 1 - 1 / NEAR_DUPLICATE_MIN_LEN)
    best: dict[tuple[str, str], tuple[int, float, int, int]] = {}
    for lo in range(0, len(keys), chunk):
        rows = keys[lo:lo + chunk]
        hi = bisect.bisect_right(lens, int(len(rows[-1]) / NEAR_DUPLICATE_RATIO) + 1)
        block = process.cdist(rows, keys[lo:hi], scorer=Levenshtein.normalized_similarity,
                              score_cutoff=floor - 1e-9, workers=1)
        for r, c in zip(*block.nonzero(), strict=True):
            i, j = lo + int(r), lo + int(c)
            if j <= i or owners[i] == owners[j]:
                continue
            near = _near(keys[i], keys[j])
            if near is None:
                continue
            pair = (owners[i], owners[j]) if owners[i] < owners[j] else (owners[j], owners[i])
            if pair in confusable:
                continue
            if pair not in best or near[0] < best[pair][0]:
                ti, tj = (i, j) if owners[i] < owners[j] else (j, i)
                best[pair] = (near[0], near[1], ti, tj)
    found = []
    for (a, b), (dist, sim, i, j) in sorted(best.items()):
        how = "the same name" if dist == 0 else f"{dist} edit{'s' if dist != 1 else ''} apart"
        found.append(_finding("near_duplicate_names", [a, b],
                              f"{shown[i]!r} ({a}) and {shown[j]!r} ({b}): {how} "
                              f"(similarity {sim:.2f}); one entity twice?"))
    return found


# ---- all -------------------------------------------------------------------------------------


def audit(snap: SnapshotLike, *, recorded: Mapping[str, str] | None = None,
          today: _dt.date | None = None) -> list[Finding]:
    """Every check's findings, worst first, then by check (in :data:`CHECKS` order) and ids.

    ``recorded``: the deals' stored statuses (see :func:`status_event_disagreement`);
    ``today``: the day a snapshot without an as-of day is judged on (default: today).
    """
    found = [
        *status_event_disagreement(snap, recorded), *shares_over_one(snap), *confusable_names(snap),
        *near_duplicate_names(snap), *weak_sources(snap), *syndicates_without_members(snap),
        *no_financials(snap, today), *stale_statuses(snap, today), *stale_financials(snap, today),
        *undisclosed_amounts(snap), *deals_without_events(snap), *side_partly_undisclosed(snap),
    ]
    order = {c: i for i, c in enumerate(CHECKS)}
    return sorted(found, key=lambda f: (SEVERITIES.index(f.severity), order[f.check], f.ids))
