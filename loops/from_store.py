"""Loops from a store, by the in-memory engine or by Cypher in the database.

Both engines take the same filters and return the same :class:`Loop` records;
the tests hold them to that on random graphs.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import queries
from ..errors import InputError, QueryTimeout
from ..graph.model import (
    DEAL_STATUSES,
    DEAL_TYPES,
    FINANCIAL_FIELDS,
    Leg,
    Loop,
    asset_depth,
    checked_choices,
    checked_confidences,
    date_bounds,
    name_key,
)
from ..store.base import GraphStore, read_consistent

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_MAX_LOOPS", "DEFAULT_STATUSES", "DEFAULT_TIME_BUDGET", "Budget", "Snapshot",
           "as_of_day", "at_confidence", "closed_loops", "loops_from_store", "resolve_entity",
           "snapshot", "status_as_of", "watch_new_deals"]

# Cancelled deals no longer move money: they stop counting unless asked for.
DEFAULT_STATUSES: tuple[str, ...] = tuple(s for s in DEAL_STATUSES if s != "cancelled")
ENGINES = ("auto", "memory", "cypher")
_EPOCH = _dt.date(1970, 1, 1)

# Every command that enumerates loops stops, by default, after this many seconds
# (search, building the loops, scoring, writing) or this many loops, whichever
# comes first, and says so. Why these: a person waits half a minute for an
# answer, not ten; and 100,000 loops is more than anyone reads, while building,
# scoring and writing them stays within a few hundred MB (a dense graph has
# billions of loops: without a cap every command grew by ~100 MB a second).
DEFAULT_TIME_BUDGET = 30.0
DEFAULT_MAX_LOOPS = 100_000
NARROW_HINT = "narrow with --max-len, --entity, --types, --since or --min-amount"  # `loops`
SHORTER_HINT = "lower --max-len"  # commands without the filters
_ROW_SECONDS = 1.6e-4  # reading one Cypher result row in the client (FalkorDB, 2 cores)


@dataclass
class Budget:
    """A time and loop-count budget for one command, from its start to its last byte.

    ``time_budget`` (seconds) and ``max_loops``: None or 0 means no limit.
    ``cut`` records what stopped early; :attr:`note` says it in one sentence
    for people, :meth:`to_dict` for programs.

    >>> b = Budget(time_budget=0, max_loops=0)
    >>> b.time_budget, b.max_loops, b.complete, b.remaining() is None
    (None, None, True, True)
    """

    time_budget: float | None = DEFAULT_TIME_BUDGET
    max_loops: int | None = DEFAULT_MAX_LOOPS
    t0: float = field(default_factory=time.perf_counter)
    cut: str | None = None  # "max_loops" | "time_budget" | "cypher_timeout" | another reason
    found: int | None = None
    detail: str | None = None
    shown: int | None = None  # when writing (or scoring) was cut: how many loops got through
    stage: str = "writing"
    hint: str = SHORTER_HINT  # how to narrow the search, for the note

    def __post_init__(self) -> None:
        tb, ml = self.time_budget, self.max_loops
        if tb is not None and (isinstance(tb, bool) or not isinstance(tb, (int, float))
                               or not math.isfinite(tb) or tb < 0):
            raise InputError(f"--time-budget takes a number of seconds >= 0 (0: no limit), not {tb!r}")
        if ml is not None and (isinstance(ml, bool) or not isinstance(ml, int) or ml < 0):
            raise InputError(f"--max-loops takes a whole number >= 0 (0: no limit), not {ml!r}")
        self.time_budget = float(tb) if tb else None
        self.max_loops = int(ml) if ml else None

    # -- the clock -----------------------------------------------------------------
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def remaining(self) -> float | None:
        """Seconds left (at least a millisecond), or None without a time limit."""
        if self.time_budget is None:
            return None
        return max(1e-3, self.time_budget - self.elapsed())

    def expired(self) -> bool:
        return self.time_budget is not None and self.elapsed() >= self.time_budget

    # -- what was cut --------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return self.cut is None

    def stop(self, cut: str, found: int | None = None, detail: str | None = None) -> None:
        """Record the first reason the work stopped early (later ones keep the first)."""
        if self.cut is None:
            self.cut, self.found, self.detail = cut, found, detail

    @property
    def note(self) -> str | None:
        if self.cut is None:
            return None
        n = "" if self.found is None else f"{self.found:,} loop{'s' if self.found != 1 else ''}"
        if self.cut == "max_loops":
            what = f"stopped after {n} (--max-loops {self.max_loops})"
            fix = "raise --max-loops (0: no limit)"
        elif self.cut == "time_budget":
            what = (f"stopped after {self.time_budget:g} s (--time-budget {self.time_budget:g})"
                    + (f" with {n}" if n else ""))
            fix = "raise --time-budget (0: no limit)"
        elif self.cut == "time_projected":
            what = (f"stopped after {n}: as many as --time-budget {self.time_budget:g} leaves "
                    f"time to build, score and write")
            fix = "raise --time-budget (0: no limit)"
        elif self.cut == "cypher_timeout":
            what = (f"the Cypher query was stopped by the database after {self.time_budget:g} s "
                    f"(--time-budget {self.time_budget:g})")
            fix = "use --engine memory, or raise --time-budget"
        else:
            what, fix = f"stopped early ({self.cut}{', ' + n if n else ''})", "raise the budget"
        if self.detail:
            what += f" {self.detail}"
        if self.shown is not None:
            what += (f"; the time ran out while {self.stage} them: {self.shown:,} "
                     f"{'shown' if self.stage == 'writing' else 'done'}")
        return f"{what}: results are partial; {fix}, or {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        """The fields every JSON output carries about the budget."""
        return {"complete": self.complete, "truncated": self.note,
                "budget": {"time_budget_s": self.time_budget, "max_loops": self.max_loops,
                           "stopped_by": self.cut, "loops_found": self.found,
                           "cut_while": self.stage if self.shown is not None else None,
                           "loops_through": self.shown,
                           "elapsed_s": round(self.elapsed(), 3)}}

    def take(self, items: Iterable[Any], *, count: int | None = None, stage: str = "writing",
             detail: str | None = None, at_least: int = 0) -> Iterator[Any]:
        """``items`` until the clock runs out (checked every few items); records the cut.
        ``count`` is the number of items in all, for the note; the first ``at_least``
        come whatever the clock says (a bounded overshoot that keeps a late answer useful)."""
        if self.time_budget is None:
            yield from items
            return
        deadline = self.t0 + self.time_budget
        clock = time.perf_counter
        for i, x in enumerate(items):
            if i >= at_least and i % 16 == 0 and clock() >= deadline:
                self.shown, self.stage = i, stage
                self.stop("time_budget", count, detail)
                return
            yield x


def budget_from_engine_note(budget: Budget, note: str | None, found: int) -> None:
    """Record the engine's stop reason (``max_loops=...`` / ``time_budget=...``) on ``budget``."""
    if note and note.startswith("max_loops"):
        budget.stop("max_loops", found)
    elif note and "leaves time for" in note:
        budget.stop("time_projected", found)
    elif note:
        budget.stop("time_budget", found)


class _DealsFrame:
    """``Snapshot.deals``: given a frame or the records of the ``deals`` query, it is a
    frame, built from the records on first use. A command that reads only records
    (``deal_rows``: ``circfin deals``, ``entities``, ``audit``) never loads pandas."""

    @staticmethod
    def given(obj: Any) -> Any:
        """What ``obj.deals`` holds now: the records as read, or the frame."""
        return obj.__dict__["_deals"]

    def __get__(self, obj: Any, objtype: Any = None) -> pd.DataFrame:
        if obj is None:
            raise AttributeError("deals")  # a required field: no default
        v = self.given(obj)
        if isinstance(v, list):
            import pandas as pd

            v = obj.__dict__["_deals"] = pd.DataFrame(v, columns=list(_deal_columns()))
        return v

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_deals"] = value


def _deal_columns() -> tuple[str, ...]:
    return queries.load("deals").returns


@dataclass
class Snapshot:
    """The graph as the in-memory engine reads it, as of a date.

    ``deal_rows``: the deals as records (dicts), as read; ``deals``: the same as a
    frame with the columns of the ``deals`` query (built on first use). With ``as_of``,
    only deals dated on or before it, each with its status as of that date (its
    latest event on or before it; before its first event, the first event's
    status; a deal without events keeps its status). ``entities``: dicts with
    ``id, name, kind, aliases, name_keys, country, parent, source_url``, and the
    latest figure of each financial field dated on or before ``as_of``
    (``revenue_usd``, ``equity_usd``, ...: None when none), with ``financials``:
    field -> ``{as_of, basis, source_url}`` of the figure used.
    ``participants``: ``deal_id, side, member, share, share_basis, source_url`` of
    the deals in ``deals``; ``events``: ``deal_id, date, day, status,
    source_url`` up to ``as_of``; ``financials``: every dated row up to ``as_of``;
    ``sources`` (read with ``sources=True`` only): ``deal_id, rank, url, kind,
    publisher, published``. ``confidences``: when not None, only deals of these
    confidences are in it (``--min-confidence``, see :func:`at_confidence`), and
    the members, events and sources of the others are left out too.
    ``holdings``: ``holder, asset, as_of, day, value_usd, shares, capacity,
    source_url``, the latest holding of each holder in each asset dated on or before
    ``as_of``, left out when that latest row is 0 (the position was sold: an exit is
    a dated 0 row); ``capacity`` is ``own`` (the holder's balance sheet) or
    ``managed`` (held for clients, whose losses they are);
    ``assets``: ``asset_id, name, class, issuer, depth_usd, source_url, implied``
    and the depth used, ``depth`` (dollars) and ``depth_basis`` (``given``,
    ``market_cap`` or ``class_default``: see :func:`circfin.graph.model.asset_depth`);
    an entity's listed equity is named after the entity (holdings carry no
    confidence: a confidence filter leaves them as they are).
    """

    # a frame, or the records (a list) to build one from. The descriptor gives no default
    # (its class access raises AttributeError), so ``deals`` stays required; mypy reads
    # any class value as a default.
    deals: _DealsFrame = _DealsFrame()
    entities: list[dict[str, Any]]  # type: ignore[misc]
    participants: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    financials: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] | None = None
    as_of: str | None = None  # ISO day, or None: everything the graph holds
    confidences: tuple[str, ...] | None = None  # None: deals of every confidence
    holdings: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deals_given(self) -> pd.DataFrame | list[dict[str, Any]]:
        """The deals as the snapshot holds them now: the records as read, or the frame
        once something has built it. For readers that take either, so that neither a
        frame nor records are built for them."""
        given: pd.DataFrame | list[dict[str, Any]] = _DealsFrame.given(self)
        return given

    @property
    def deal_rows(self) -> list[dict[str, Any]]:
        """The deals as records, the ``deals`` query's columns in each (a missing value is
        None as read, or NaN once they have been through a frame)."""
        v = _DealsFrame.given(self)
        return v if isinstance(v, list) else (v.to_dict("records") if len(v) else [])

    @property
    def names(self) -> dict[str, str]:
        return {e["id"]: e.get("name") or e["id"] for e in self.entities}

    @property
    def parents(self) -> dict[str, str | None]:
        return {e["id"]: e.get("parent") for e in self.entities}


def as_of_day(as_of: str | _dt.date | None) -> int | None:
    """The day number (days since 1970-01-01) of an as-of date: the last day a
    partial date can mean, so ``2025`` is the end of 2025. None stays None.

    >>> as_of_day("1970-01-02"), as_of_day("1970-01")
    (1, 30)
    """
    if as_of is None:
        return None
    if isinstance(as_of, _dt.date):
        return (as_of - _EPOCH).days
    return _day(str(as_of), end=True)


def status_as_of(status: str, ev_days: list[int] | None, ev_statuses: list[str] | None,
                 day: int | None) -> str:
    """A deal's status on day ``day``: its latest event on or before it; before its
    first event, the first event's status; without events, ``status``.

    >>> status_as_of("funded", [10, 20], ["signed", "funded"], 15)
    'signed'
    >>> status_as_of("funded", [10, 20], ["signed", "funded"], 5), status_as_of("funded", [], [], 5)
    ('signed', 'funded')
    """
    if day is None or not ev_days or not ev_statuses:
        return status
    current = ev_statuses[0]
    for d, st in zip(ev_days, ev_statuses, strict=False):
        if d > day:
            break
        current = st
    return current


_FIN = FINANCIAL_FIELDS


def _of_confidence(deals: Any, allowed: Sequence[str]) -> Any:
    """The deals (records, or a frame) whose confidence is one of ``allowed``, held the
    same way."""
    if isinstance(deals, list):  # records, as the store returns them
        return [r for r in deals if r.get("confidence") in allowed]
    if len(deals):
        return deals[deals["confidence"].isin(allowed)].reset_index(drop=True)
    return deals


def at_confidence(snap: Snapshot, confidences: Iterable[str] | None) -> Snapshot:
    """``snap`` with only the deals whose confidence is one of ``confidences``
    (None: ``snap`` itself), and only those deals' members, events and sources:
    a deal counts only at or above ``--min-confidence``
    (:func:`circfin.graph.model.confidences_at_least`). Entities and financials stay.
    Filtering an already filtered snapshot again keeps the narrower filter."""
    allowed = checked_confidences(confidences)
    if allowed is None:
        return snap
    if snap.confidences is not None:
        allowed = tuple(c for c in snap.confidences if c in allowed)
    from dataclasses import replace

    deals = _of_confidence(snap.deals_given, allowed)
    kept = {r["deal_id"] for r in deals} if isinstance(deals, list) else set(deals["deal_id"])
    return replace(snap, deals=deals, confidences=allowed,
                   participants=[r for r in snap.participants if r["deal_id"] in kept],
                   events=[r for r in snap.events if r["deal_id"] in kept],
                   sources=None if snap.sources is None else [r for r in snap.sources
                                                              if r["deal_id"] in kept])


def snapshot(store: GraphStore, *, as_of: str | _dt.date | None = None,
             sources: bool = False, confidences: Iterable[str] | None = None) -> Snapshot:
    """The store's deals, entities, members, events and financials, as of a date
    (None: everything, with current statuses); see :class:`Snapshot`.
    ``confidences`` (None: all): only deals of these confidences (:func:`at_confidence`)."""
    allowed = checked_confidences(confidences)  # InputError before any reading
    day = as_of_day(as_of)
    names = ["deals", "participants", "events", "financials", "entities", "holdings", "assets",
             *(["sources"] if sources else [])]
    # as of one moment: an ingest that lands meanwhile is seen whole or not at all
    read = dict(zip(names, read_consistent(store, [(queries.load(n).text, {}) for n in names]),
                    strict=True))
    rows = read["deals"]
    if day is not None:
        rows = [r for r in rows if r["day"] is not None and r["day"] <= day]
        for r in rows:
            r["status"] = status_as_of(r["status"], r["ev_days"], r["ev_statuses"], day)
    kept = {r["deal_id"] for r in rows}
    participants = [r for r in read["participants"] if r["deal_id"] in kept]
    events = [r for r in read["events"]
              if r["deal_id"] in kept and (day is None or r["day"] <= day)]
    financials = [r for r in read["financials"]
                  if day is None or r["day"] <= day]
    latest: dict[str, dict[str, Any]] = {}
    for f in financials:  # oldest first: a later figure replaces an earlier one
        mine = latest.setdefault(f["entity_id"], {})
        for k in _FIN:
            if f.get(k) is not None:
                mine[k] = (f[k], {"as_of": f["as_of"], "basis": f.get("basis"),
                                  "source_url": f.get("source_url")})
    entities = read["entities"]
    for e in entities:
        mine = latest.get(e["id"], {})
        for k in _FIN:
            e[k] = mine[k][0] if k in mine else None
        e["financials"] = {k: meta for k, (_, meta) in mine.items()}
    srcs = None
    if sources:
        srcs = sorted((r for r in read["sources"] if r["deal_id"] in kept),
                      key=lambda r: (r["deal_id"], r["rank"]))
    iso = None if day is None else (_EPOCH + _dt.timedelta(days=day)).isoformat()
    held: dict[tuple[str, str], dict[str, Any]] = {}
    for h in read["holdings"]:  # oldest first: a later one replaces
        if day is None or h["day"] <= day:
            held[(h["holder"], h["asset"])] = h
    by_id = {e["id"]: e for e in entities}
    assets = read["assets"]
    for a in assets:
        issuer = by_id.get(a["issuer"] or "") or {}
        if a["name"] is None:
            a["name"] = issuer.get("name") or a["asset_id"]
        a["depth"], a["depth_basis"] = asset_depth(a["class"], a["depth_usd"], issuer.get("market_cap_usd"))
    return at_confidence(Snapshot(rows, entities, participants, events, financials, srcs, iso,
                                  holdings=sorted((h for h in held.values() if h["value_usd"] != 0),
                                                  key=lambda h: (h["holder"], h["asset"])),
                                  assets=assets), allowed)


def _did_you_mean(key: str, ents: list[dict[str, Any]], n: int = 3) -> str:
    """"did you mean 'A' or 'B'? " for the entities whose name, alias or id is closest
    to ``key`` (a :func:`name_key`), each by its name; "" when none is close."""
    import difflib

    named: dict[str, list[str]] = {}  # a name key -> the names of the entities it names
    for e in ents:
        name = e.get("name") or e["id"]
        for k in {name_key(name), name_key(e["id"]), *(e.get("name_keys") or []),
                  *(name_key(a) for a in e.get("aliases") or [])}:
            named.setdefault(k, []).append(name)
    keys = difflib.get_close_matches(key, list(named), n=n * 2, cutoff=0.6)  # best first
    if keys:  # only those nearly as close as the closest: 'Acme Clod' is Acme Cloud, not Oracle Cloud
        best = difflib.SequenceMatcher(None, key, keys[0]).ratio()
        keys = [k for k in keys if difflib.SequenceMatcher(None, key, k).ratio() >= best - 0.15]
    close = [nm for k in keys for nm in named[k]]
    names = list(dict.fromkeys(close))[:n]
    if not names:
        return ""
    quoted = [repr(nm) for nm in names]
    alts = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"did you mean {alts}? "


def resolve_entity(text: str, entities: Iterable[dict[str, Any]]) -> str:
    """An entity id from an id, name or alias; InputError if none or several match
    (with the closest names when none does).

    >>> ents = [{"id": "nvidia", "name": "Nvidia"}, {"id": "oracle", "name": "Oracle"}]
    >>> resolve_entity("NVIDIA", ents)
    'nvidia'
    >>> resolve_entity("Nvidai", ents)
    Traceback (most recent call last):
    ...
    circfin.errors.InputError: no entity called 'Nvidai'; did you mean 'Nvidia'? try 'circfin entities' for the list
    """
    ents = list(entities)
    for e in ents:
        eid: str = e["id"]
        if eid == text:
            return eid
    key = name_key(text)
    hits: set[str] = {e["id"] for e in ents if key in (e.get("name_keys") or [])
            or key == name_key(e.get("name") or "")}
    if len(hits) == 1:
        return hits.pop()
    if not hits:
        raise InputError(f"no entity called {text!r}; {_did_you_mean(key, ents)}"
                         "try 'circfin entities' for the list")
    raise InputError(f"{text!r} names several entities: {', '.join(sorted(hits))}")


def _check_choices(values: Iterable[str] | None, allowed: tuple[str, ...], what: str) -> list[str] | None:
    checked = checked_choices(values, allowed, what)
    return None if checked is None else list(checked)


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
                  ordered: bool, rollup: bool = False, timeout_ms: int | None = None,
                  row_limit: int | None = None, cut: list[bool] | None = None,
                  as_of: int | None = None, confidences: list[str] | None = None) -> list[Loop]:
    """The loops by Cypher. ``timeout_ms``: the database stops the query after that
    long (QueryTimeout). ``row_limit``: at most that many rows (one per leg, in
    loop order) come back, since reading rows costs the client ~0.15 ms each; a
    loop whose legs were cut off is dropped, and ``cut[0]`` is set when rows were.
    ``as_of``: a day number (:func:`as_of_day`): only deals dated on or before it
    count, each with its status as of that day."""
    q = queries.load("loops")
    text = q.bounded(min_len, max_len)
    if rollup:  # walk the derived edges between top-most ancestors
        _ensure_rollup(store)
        text = q.on_relationship(text, "PAYS_TOP")
    params = {
        "entity": entity, "types": types, "statuses": status, "min_amount": min_amount,
        "since": _day(since, end=False), "until": _day(until, end=True),
        "within": within, "ordered": bool(ordered), "as_of": as_of, "confidences": confidences,
    }
    legs: dict[tuple[str, ...], dict[int, Leg]] = defaultdict(dict)
    if row_limit is not None:
        text = text.rstrip() + f"\nLIMIT {int(row_limit)}"  # an int of ours, not user text
    rows = (store.read(text, params, timeout_ms=timeout_ms) if timeout_ms is not None
            else store.read(text, params))
    if row_limit is not None and len(rows) >= row_limit and cut is not None:
        cut[0] = True
    for r in rows:
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
        if len(by_leg) != len(ids):
            continue  # its last legs were beyond row_limit
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
        
        store.write(queries.rollup_statements())


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
                     limit: int | None = None, time_budget: float | None = DEFAULT_TIME_BUDGET,
                     max_loops: int | None = DEFAULT_MAX_LOOPS, budget: Budget | None = None,
                     reserve_per_loop: float = 0.0, snap: Snapshot | None = None,
                     as_of: str | _dt.date | None = None, members: bool = False,
                     confidences: Iterable[str] | None = None,
                     ) -> tuple[list[Loop], bool, str | None]:
    """Loops in the store's graph: (loops, complete, note).

    The search stops after ``time_budget`` seconds or ``max_loops`` loops
    (None or 0: no limit; the defaults are :data:`DEFAULT_TIME_BUDGET` and
    :data:`DEFAULT_MAX_LOOPS`), with ``complete=False`` and a note that says
    what was cut. Pass a :class:`Budget` instead to share one clock with the
    work after the search (its ``t0`` is when the command began), and
    ``reserve_per_loop``, the seconds that work takes per loop, so the search
    leaves time for it. The Cypher engine passes the time left to the
    database as the query's timeout. ``snap``: the store's :func:`snapshot`, if
    the caller has read it already (reading it again costs about a second per
    100,000 deals); it must be the snapshot as of ``as_of``.
    ``members``: open syndicates up: each syndicate leg becomes its members' legs,
    by share (:func:`circfin.loops.members.split_members`), so loops through
    single banks appear; in-memory engine only.
    ``as_of`` (ISO date, partial date or date; None: everything, with current
    statuses): the graph as of that day, as :func:`snapshot` reads it: only deals
    dated on or before it count, each with its status on that day.
    ``confidences`` (None: all): only deals of these confidences count
    (``--min-confidence``; :func:`circfin.graph.model.confidences_at_least`); a
    ``snap`` read with a confidence filter (:func:`at_confidence`) brings its own.
    """
    if budget is None:
        budget = Budget(time_budget=time_budget, max_loops=max_loops)
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
    conf_t = checked_confidences(confidences)
    for d in (since, until):
        _day(d, end=False)
    day = as_of_day(as_of)  # InputError for a bad date
    if snap is not None and as_of is None:
        day = as_of_day(snap.as_of)  # both engines see the graph as of the snapshot's date
    elif snap is not None and as_of_day(snap.as_of) != day:
        raise ValueError(f"the snapshot is as of {snap.as_of}, not {_iso(day)}")
    if members:
        # The database holds syndicate legs, not member legs: only the in-memory
        # engine can open syndicates up (loops/members.py).
        if engine == "cypher":
            raise InputError("--members needs the memory engine: the database holds each "
                             "syndicate's legs, not its members'; use --engine memory or auto")
        engine = "memory"
    if snap is not None:  # both engines count the deals the snapshot holds
        snap = at_confidence(snap, conf_t)
        conf_t = snap.confidences
    elif engine != "cypher" or entity is not None:
        snap = snapshot(store, as_of=as_of, confidences=conf_t)
    if members and snap is not None:
        from dataclasses import replace

        from .members import split_members

        snap = replace(snap, deals=split_members(snap.deals, snap.participants))
    entity_id = resolve_entity(entity, snap.entities) if (entity and snap) else None
    if engine == "cypher":
        if rollup and entity_id is not None:
            entity_id = _top(entity_id, snap.parents if snap else {})
        left = budget.remaining()
        # Rows (one per leg) cost the client ~0.15 ms each to read, after the query: ask
        # for no more than max_loops loops' worth, nor than a third of the time left can read.
        limits = []
        if budget.max_loops is not None:
            limits.append(((budget.max_loops + 1) * max_len, "max_loops"))
        if left is not None:
            limits.append((max(1000, int(left / 3 / _ROW_SECONDS)), "time_projected"))
        row_limit, why = min(limits) if limits else (None, None)
        cut = [False]
        try:
            loops = _cypher_loops(store, min_len=min_len, max_len=max_len, entity=entity_id,
                                  types=types_l, status=status_l, min_amount=min_amount, since=since,
                                  until=until, within=within, ordered=ordered, rollup=rollup,
                                  timeout_ms=None if left is None else max(1, int(left * 1000)),
                                  row_limit=row_limit, cut=cut, as_of=day,
                                  confidences=None if conf_t is None else list(conf_t))
        except QueryTimeout:
            budget.stop("cypher_timeout", 0, "with no loops returned")
            return [], False, budget.note
        loops = _sort(loops, sort)
        if budget.max_loops is not None and len(loops) > budget.max_loops:
            loops = loops[:budget.max_loops]  # the first in the requested order
            budget.stop("max_loops", len(loops))
        elif cut[0]:
            budget.stop(why or "max_loops", len(loops))
        return (loops[:limit] if limit is not None else loops), budget.complete, budget.note
    from .engine import find_loops

    assert snap is not None
    result = find_loops(snap.deals_given, max_len=max_len, min_len=min_len, entity=entity_id,
                        types=types_l, status=status_l, min_amount=min_amount, since=since,
                        until=until, within=within, ordered=ordered, rollup=rollup,
                        parents=snap.parents, names=snap.names, sort=sort, limit=limit,
                        time_budget=budget.remaining(), max_loops=budget.max_loops,
                        reserve_per_loop=reserve_per_loop)
    if not result.complete:
        budget_from_engine_note(budget, result.note, len(result))
        result.note = budget.note
    # The engine's result builds each Loop on first access: pass it on as it is.
    return result, budget.complete, budget.note


def closed_loops(deals: pd.DataFrame | list[dict[str, Any]], new_deals: Iterable[Mapping[str, Any]], *,
                 names: Mapping[str, str], parents: Mapping[str, str | None], max_len: int = 6,
                 status: Iterable[str] | None = DEFAULT_STATUSES,
                 budget: Budget | None = None, reserve_per_loop: float = 0.0,
                 confidences: Iterable[str] | None = None) -> list[Loop]:
    """The loops that ``new_deals``, added one by one to ``deals``, close (``ingest --watch-loops``).

    A list sorted by (length, key) with ``complete`` and ``note`` attributes:
    the budget covers all the deals together, so a dense graph stops after
    ``max_loops`` loops in all, or when the time is up, whichever comes first.
    ``confidences`` (None: all): only deals, old and new, of these confidences count.
    """
    from .engine import LoopIndex, LoopResult

    budget = budget or Budget()
    allowed = checked_confidences(confidences)
    if allowed is not None:
        deals = _of_confidence(deals, allowed)
        new_deals = [d for d in new_deals if d.get("confidence") in allowed]
    index = LoopIndex(deals, names=names, parents=parents, max_len=max_len, status=status)
    closed: dict[str, Loop] = {}
    for d in new_deals:
        # The loops closed so far still have to be written: keep their time back.
        left = budget.remaining()
        if left is not None:
            left -= reserve_per_loop * len(closed)
            if left <= 0:
                budget.stop("time_projected" if closed else "time_budget", len(closed),
                            "(before every new deal was checked)")
                break
        room = None if budget.max_loops is None else budget.max_loops - len(closed)
        if room is not None and room <= 0:
            budget.stop("max_loops", len(closed), "(before every new deal was checked)")
            break
        # + ~20 us a loop to build each Loop here (they are all built, to merge by key).
        found = index.add(d, time_budget=left, max_loops=room,
                          reserve_per_loop=reserve_per_loop + 2e-5)
        for loop in found:
            closed[loop.key] = loop  # a later deal on the same loop gives its fuller version
        if not found.complete:
            budget_from_engine_note(budget, found.note, len(closed))
            break
    out = LoopResult(sorted(closed.values(), key=lambda lp: (lp.length, lp.key)),
                     complete=budget.complete, note=budget.note)
    return out


def watch_new_deals(store: GraphStore, new_deals: list[dict[str, Any]], *, max_len: int = 6,
                    status: Iterable[str] | None = DEFAULT_STATUSES, budget: Budget | None = None,
                    reserve_per_loop: float = 0.0, as_of: str | _dt.date | None = None,
                    confidences: Iterable[str] | None = None) -> list[Any]:
    """The loops the new deals close, found from the graph as it was before them:
    each deal is added to a snapshot index that searches only paths from its
    payee back to its payer, so no loop is recomputed that the deal is not on.
    ``as_of``: the graph before them as of that date (see :func:`snapshot`); the
    new deals are taken as given. ``confidences`` (None: all): only deals of
    these confidences count, old and new."""
    snap = snapshot(store, as_of=as_of, confidences=confidences)
    known = {e["id"]: e.get("name") or e["id"] for e in snap.entities}
    names = {**known, **{d["payer"]: d["payer"] for d in new_deals if d["payer"] not in known},
             **{d["payee"]: d["payee"] for d in new_deals if d["payee"] not in known}}
    # Bounded by ``budget`` (time and loop count; default: Budget()): the result has
    # .complete and .note.
    return closed_loops(snap.deals_given, new_deals, names=names, parents=snap.parents,
                        max_len=max_len, status=status, budget=budget,
                        reserve_per_loop=reserve_per_loop, confidences=snap.confidences)
