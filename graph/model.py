"""circfin's domain vocabulary and records: entities, deals, loops.

These are the closed sets the whole tool shares. Ingest validates against
them, the stores write them, and the loop engine and the Cypher queries
both return :class:`Loop` records, so their answers can be compared.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import FrozenInstanceError, dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from ..display import plain_number

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "is_frame",
    "AMOUNT_QUALIFIERS",
    "ASSETS_COLUMNS",
    "ASSET_CLASSES",
    "DEFAULT_DEPTH_USD",
    "EQUITY_DEPTH_PER_MARKET_CAP",
    "HOLDINGS_COLUMNS",
    "HOLDING_CAPACITIES",
    "asset_depth",
    "CONFIDENCES",
    "checked_choices",
    "checked_confidences",
    "confidences_at_least",
    "DEALS_COLUMNS",
    "DEAL_STATUSES",
    "DEAL_TYPES",
    "ENTITIES_COLUMNS",
    "ENTITY_FINANCIAL_FIELDS",
    "ENTITY_ID_COLUMNS",
    "ENTITY_KINDS",
    "EVENTS_COLUMNS",
    "FINANCIALS_COLUMNS",
    "FINANCIAL_FIELDS",
    "PARTICIPANTS_COLUMNS",
    "PARTICIPANT_ROLES",
    "PARTICIPANT_SIDES",
    "SHARE_BASES",
    "SIGNED_FINANCIAL_FIELDS",
    "SOURCES_COLUMNS",
    "SOURCE_KINDS",
    "TABLES",
    "Leg",
    "Loop",
    "LoopSource",
    "date_bounds",
    "loop_key",
    "name_key",
    "rotate_canonical",
    "status_rank",
]

@functools.lru_cache(maxsize=65536)  # an entity's names are keyed again by each step that resolves them
def name_key(text: str) -> str:
    """How names are matched: Unicode NFKC, case-folded, inner spaces collapsed.

    >>> name_key("  Open AI ") == name_key("open  ai")
    True
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


ENTITY_KINDS: tuple[str, ...] = (
    "ai_lab", "chipmaker", "hyperscaler", "neocloud", "datacenter", "spv", "bank",
    "private_credit", "hedge_fund", "asset_manager", "sovereign_fund", "crypto",
    "government", "other",
)
DEAL_TYPES: tuple[str, ...] = (
    "equity_investment", "loan", "credit_facility", "bond", "compute_purchase",
    "chip_purchase", "cloud_commitment", "warrant", "revenue_share",
    "capacity_backstop", "guarantee", "spv_financing", "lease", "other",
)
DEAL_STATUSES: tuple[str, ...] = (
    "announced", "signed", "funded", "completed", "stalled", "cancelled",
)
CONFIDENCES: tuple[str, ...] = ("high", "medium", "low")


def checked_choices(values: Iterable[str] | None, allowed: tuple[str, ...], what: str
                    ) -> tuple[str, ...] | None:
    """``values`` each once, in order (None stays None: no filter); InputError naming
    ``what`` for one outside ``allowed``.

    >>> checked_choices(["loan", "loan"], DEAL_TYPES, "deal type")
    ('loan',)
    """
    if values is None:
        return None
    out = tuple(dict.fromkeys(values))
    bad = [c for c in out if c not in allowed]
    if bad:
        from ..errors import InputError

        raise InputError(f"unknown {what} {', '.join(map(repr, bad))}; expected: {', '.join(allowed)}")
    return out


def checked_confidences(values: Iterable[str] | None) -> tuple[str, ...] | None:
    """``values`` as the ``$confidences`` of a query or filter (None: every deal), each
    once; InputError for one outside the vocabulary.

    >>> checked_confidences(["high", "high", "medium"]), checked_confidences(None)
    (('high', 'medium'), None)
    """
    return checked_choices(values, CONFIDENCES, "confidence")


def confidences_at_least(level: str | None) -> tuple[str, ...] | None:
    """The confidences at or above ``level`` (``--min-confidence``): None for no filter.

    >>> confidences_at_least("medium"), confidences_at_least(None)
    (('high', 'medium'), None)
    """
    if level is None:
        return None
    if level not in CONFIDENCES:
        raise ValueError(f"confidence must be one of {', '.join(reversed(CONFIDENCES))}, not {level!r}")
    return CONFIDENCES[: CONFIDENCES.index(level) + 1]

# How firm a disclosed amount is; "undisclosed" goes with an empty amount.
AMOUNT_QUALIFIERS: tuple[str, ...] = (
    "exact", "approx", "up_to", "at_least", "estimate", "undisclosed",
)
# The money fields an entities row may carry (one financials row dated by its as_of
# column or its file) and the fuller set of a financials row.
ENTITY_FINANCIAL_FIELDS: tuple[str, ...] = (
    "revenue_usd", "equity_usd", "market_cap_usd", "backlog_usd",
)
FINANCIAL_FIELDS: tuple[str, ...] = (
    "revenue_usd", "equity_usd", "total_assets_usd", "total_liabilities_usd",
    "market_cap_usd", "backlog_usd", "shares_outstanding", "public_float_usd",
)
# The one figure that may be below zero: book equity, which buy-backs or losses can
# turn into a deficit (the shock models then take no buffer from it).
SIGNED_FINANCIAL_FIELDS: frozenset[str] = frozenset({"equity_usd"})
PARTICIPANT_SIDES: tuple[str, ...] = ("payer", "payee")
# A member holds its share of its side; an arranger (a bond's bookrunner, a loan's
# arranger that is not known to hold any of it) is named but holds nothing circfin knows.
PARTICIPANT_ROLES: tuple[str, ...] = ("member", "arranger")
# How a member's share is known: given in the data, or an even split of what the
# disclosed shares leave (an estimate, and every output says so).
SHARE_BASES: tuple[str, ...] = ("disclosed", "equal_split")
# Where a fact comes from, most to least authoritative.
SOURCE_KINDS: tuple[str, ...] = ("filing", "company", "news", "aggregator", "other")
DEALS_COLUMNS: tuple[str, ...] = (
    "deal_id", "date", "payer", "payee", "type", "amount_usd", "amount_qualifier",
    "status", "description", "source_url", "confidence",
)
# Optional identifiers of a listed or filing entity: its SEC Central Index Key, its
# exchange tickers, its Legal Entity Identifier and the CUSIPs of its securities
# (``circfin sec`` reads filings by CIK and matches 13F holdings by CUSIP).
ENTITY_ID_COLUMNS: tuple[str, ...] = ("sec_cik", "tickers", "lei", "cusips")
ENTITIES_COLUMNS: tuple[str, ...] = (
    "entity_id", "name", "kind", "aliases", "parent", "country",
    *ENTITY_FINANCIAL_FIELDS, "as_of", "source_url", *ENTITY_ID_COLUMNS,
)
PARTICIPANTS_COLUMNS: tuple[str, ...] = ("deal_id", "side", "member", "share", "role", "source_url")
SOURCES_COLUMNS: tuple[str, ...] = ("deal_id", "url", "kind", "publisher", "published")
EVENTS_COLUMNS: tuple[str, ...] = ("deal_id", "date", "status", "source_url")
FINANCIALS_COLUMNS: tuple[str, ...] = (
    "entity_id", "as_of", *FINANCIAL_FIELDS, "basis", "source_url",
)
# Who holds how much of which traded asset on a date, and the traded assets.
HOLDINGS_COLUMNS: tuple[str, ...] = ("holder", "asset", "as_of", "value_usd", "shares", "capacity",
                                     "source_url")
# Whose money a holding is: ``own`` (on the holder's balance sheet: its losses are the
# holder's; the default for a row without one) or ``managed`` (held for clients -- funds,
# trusts, custody, what a 13F lists: its losses are the clients', not the manager's).
HOLDING_CAPACITIES: tuple[str, ...] = ("own", "managed")
ASSETS_COLUMNS: tuple[str, ...] = ("asset_id", "name", "class", "issuer", "depth_usd", "source_url")
ASSET_CLASSES: tuple[str, ...] = (
    "equity", "bond", "treasury", "crypto", "stablecoin", "gold", "fund", "other",
)
# Every input table by name, in the order ingest validates them.
TABLES: dict[str, tuple[str, ...]] = {
    "entities": ENTITIES_COLUMNS, "deals": DEALS_COLUMNS, "participants": PARTICIPANTS_COLUMNS,
    "sources": SOURCES_COLUMNS, "events": EVENTS_COLUMNS, "financials": FINANCIALS_COLUMNS,
    "assets": ASSETS_COLUMNS, "holdings": HOLDINGS_COLUMNS,
}

# Market depth: the dollar sales that move an asset's price by 100 % (price impact
# = 1 / depth), when an assets row gives none. See README "Holdings and assets".
# A listed equity with a known market value: one day's trading (about 1 % of the
# market value) moves the price by about one daily volatility (about 3 %), so
# depth = 0.01 / 0.03 of the market value.
EQUITY_DEPTH_PER_MARKET_CAP = 1 / 3
DEFAULT_DEPTH_USD: dict[str, float] = {
    "treasury": 1e13,    # Greenwood, Landier & Thesmar (2015): 10^-13 per dollar sold
    "gold": 1e13,        # ~ $150bn a day cleared in London, ~1 % daily volatility
    "crypto": 1e12,      # bitcoin: ~ $30bn a day spot volume, ~3 % daily volatility
    "stablecoin": 1e13,  # redeemed at par: its price does not move on sales
    "equity": 1e11,      # a large listed equity whose market value circfin does not hold
    "bond": 1e11,        # one corporate issue: far thinner than its issuer's equity
    "fund": 1e11,
    "other": 1e11,
}


def asset_depth(cls: str, depth_usd: float | None, market_cap_usd: float | None = None,
                ) -> tuple[float, str]:
    """An asset's market depth in dollars and where it comes from: ``given``, ``market_cap``
    (a listed equity: :data:`EQUITY_DEPTH_PER_MARKET_CAP` of its issuer's market value) or
    ``class_default`` (:data:`DEFAULT_DEPTH_USD`).

    >>> asset_depth("equity", None, 3e12), asset_depth("treasury", None), asset_depth("gold", 5e9)
    ((1000000000000.0, 'market_cap'), (10000000000000.0, 'class_default'), (5000000000.0, 'given'))
    """
    if depth_usd is not None and depth_usd > 0:
        return float(depth_usd), "given"
    if cls == "equity" and market_cap_usd is not None and market_cap_usd > 0:
        return float(market_cap_usd) * EQUITY_DEPTH_PER_MARKET_CAP, "market_cap"
    return DEFAULT_DEPTH_USD.get(cls, DEFAULT_DEPTH_USD["other"]), "class_default"


def status_rank(status: str) -> int:
    """Where a status sits in a deal's life, to order events of one day.

    >>> sorted(["funded", "announced", "signed"], key=status_rank)
    ['announced', 'signed', 'funded']
    """
    return DEAL_STATUSES.index(status) if status in DEAL_STATUSES else len(DEAL_STATUSES)

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def date_bounds(text: str) -> tuple[_dt.date, _dt.date]:
    """First and last day a partial date can mean.

    >>> date_bounds("2024-02")
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    >>> date_bounds("2025")
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))

    Raises ValueError for anything but ``YYYY``, ``YYYY-MM`` or a real
    ``YYYY-MM-DD`` calendar date.
    """
    m = _DATE_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD, YYYY-MM or YYYY")
    year = int(m.group(1))
    if year < 1900 or year > 2200:
        raise ValueError(f"year {year} is out of range 1900-2200")
    if m.group(2) is None:
        return _dt.date(year, 1, 1), _dt.date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: month {month} does not exist")
    last = calendar.monthrange(year, month)[1]
    if m.group(3) is None:
        return _dt.date(year, month, 1), _dt.date(year, month, last)
    day = int(m.group(3))
    if not 1 <= day <= last:
        raise ValueError(f"{text!r}: {calendar.month_name[month]} {year} has no day {day}")
    d = _dt.date(year, month, day)
    return d, d


def rotate_canonical(ids: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Rotate a cycle so that its smallest id comes first; direction is kept.

    >>> rotate_canonical(["oracle", "nvidia", "openai"])
    ('nvidia', 'openai', 'oracle')
    """
    ids = tuple(ids)
    if not ids:
        return ids
    i = min(range(len(ids)), key=ids.__getitem__)
    return ids[i:] + ids[:i]


def loop_key(ids: list[str] | tuple[str, ...]) -> str:
    """A loop's identity: the same whatever entity it starts at, different per direction.

    >>> loop_key(["openai", "oracle", "nvidia"])
    'nvidia>openai>oracle'
    >>> loop_key(["openai", "nvidia", "oracle"])
    'nvidia>oracle>openai'
    """
    return ">".join(rotate_canonical(ids))


@dataclass(frozen=True)
class Leg:
    """One step of a loop: every deal by which ``payer`` pays ``payee``."""

    payer_id: str
    payee_id: str
    payer: str
    payee: str
    deal_ids: tuple[str, ...]
    amount_usd: float | None  # sum of the disclosed amounts; None if none disclosed
    types: tuple[str, ...] = ()
    first_date: str | None = None  # ISO day of the leg's earliest deal
    last_date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "payer": self.payer,
            "payee": self.payee,
            "payer_id": self.payer_id,
            "payee_id": self.payee_id,
            "deal_ids": list(self.deal_ids),
            "amount_usd": plain_number(self.amount_usd),
            "types": list(self.types),
            "first_date": self.first_date,
            "last_date": self.last_date,
        }


class LoopSource(Protocol):
    """Where a deferred :class:`Loop` reads its fields the first time one is read
    (the in-memory engine's result arrays)."""

    def loop_fields(self, row: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Leg, ...], str]:
        """``(ids, entities, legs, key)`` of the loop stored at ``row``."""
        ...


class Loop:
    """A simple directed cycle of entities, with the deals on every leg.

    ``ids`` start at the loop's smallest id (see :func:`loop_key`), so equal
    loops compare equal whatever engine found them. A record is frozen (its
    fields cannot be set), compares and hashes by its four fields, and pickles
    as them.

    A loop found by the in-memory engine is built small: it points into the
    engine's arrays and reads its fields from them the first time one of them
    is read, so millions of loops cost about fifty bytes each until read
    (see :meth:`deferred`).

    >>> leg = Leg("b", "a", "B", "A", ("d1",), 5.0)
    >>> loop = Loop(("a", "b"), ("A", "B"), (Leg("a", "b", "A", "B", ("d2",), 7.0), leg))
    >>> loop.key, loop.length, loop.bottleneck_usd, loop.deal_ids
    ('a>b', 2, 5.0, ('d2', 'd1'))
    """

    # Two slots, 48 bytes a record: ``_f`` holds the four fields once read and ``_row``
    # is None; a deferred record holds its source in ``_f`` and its row in ``_row``.
    __slots__ = ("_f", "_row")
    __match_args__ = ("ids", "entities", "legs", "key")

    _f: Any
    _row: int | None

    def __init__(self, ids: tuple[str, ...], entities: tuple[str, ...], legs: tuple[Leg, ...],
                 key: str = "") -> None:
        _put_fields(self, (ids, entities, legs, key or loop_key(ids)))
        _put_row(self, None)

    @classmethod
    def deferred(cls, src: LoopSource, row: int) -> Loop:
        """A loop whose fields ``src.loop_fields(row)`` gives, read when first needed."""
        loop = object.__new__(cls)
        _put_fields(loop, src)
        _put_row(loop, row)
        return loop

    def _read(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Leg, ...], str]:
        """The four fields; a deferred loop reads them from its source the first time."""
        row = self._row
        if row is None:
            fields: tuple[tuple[str, ...], tuple[str, ...], tuple[Leg, ...], str] = self._f
            return fields
        try:
            ids, entities, legs, key = self._f.loop_fields(row)
        except AttributeError as e:  # a fault in the source, not a missing field
            raise RuntimeError(f"could not read loop {row}: {e}") from e
        fields = (ids, entities, legs, key)
        _put_fields(self, fields)  # read: the engine's arrays may go
        _put_row(self, None)
        return fields

    @property
    def ids(self) -> tuple[str, ...]:
        return self._read()[0]

    @property
    def entities(self) -> tuple[str, ...]:
        """Display names, in flow order."""
        return self._read()[1]

    @property
    def legs(self) -> tuple[Leg, ...]:
        return self._read()[2]

    @property
    def key(self) -> str:
        return self._read()[3]

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _fields(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Leg, ...], str]:
        return self._read()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (f"{type(self).__qualname__}(ids={self.ids!r}, entities={self.entities!r}, "
                f"legs={self.legs!r}, key={self.key!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._fields())

    @property
    def length(self) -> int:
        return len(self.ids)

    @property
    def deal_ids(self) -> tuple[str, ...]:
        return tuple(d for leg in self.legs for d in leg.deal_ids)

    @property
    def bottleneck_usd(self) -> float | None:
        """The smallest leg total; None when some leg discloses no amount."""
        totals = [leg.amount_usd for leg in self.legs]
        if any(t is None for t in totals):
            return None
        return min(totals)  # type: ignore[type-var]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted({t for leg in self.legs for t in leg.types}))

    @property
    def date_span(self) -> tuple[str | None, str | None]:
        firsts = [leg.first_date for leg in self.legs if leg.first_date]
        lasts = [leg.last_date for leg in self.legs if leg.last_date]
        return (min(firsts) if firsts else None, max(lasts) if lasts else None)

    def to_dict(self) -> dict[str, Any]:
        first, last = self.date_span
        return {
            "key": self.key,
            "length": self.length,
            "entities": list(self.entities),
            "ids": list(self.ids),
            "legs": [leg.to_dict() for leg in self.legs],
            "bottleneck_usd": plain_number(self.bottleneck_usd),
            "date_span": [first, last],
            "types": list(self.types),
        }


# Setting a loop's two slots directly: Loop.__setattr__ refuses every name.
_put_fields = Loop.__dict__["_f"].__set__
_put_row = Loop.__dict__["_row"].__set__


def is_frame(value: Any) -> TypeGuard[pd.DataFrame]:
    """Whether ``value`` is a pandas DataFrame, without importing pandas: none can
    exist before something has loaded it, so a command that never needs pandas
    never pays its import to ask."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)
