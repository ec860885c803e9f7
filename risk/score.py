"""An explainable risk score per loop: named parts in [0, 1], combined with documented weights.

``score = sum(weight[p] * value[p] for p in PARTS)`` with the weights summing
to 1, so the score is in [0, 1] too. Every part is reported with its value,
its weight and a one-line reason (``ScoredLoop.parts``), so a reader can see
why a loop ranks where it does. Nothing is random: the same loops, deals,
entities and ``now`` give the same scores.

The parts (B is the loop's bottleneck, its smallest leg total in USD;
amounts are the disclosed amounts of the counting deals):

``size`` (weight 0.25)
    B against the members' own size: ``r = B / m`` with ``m`` the size of the
    smallest member, a member's size being the largest of its available
    ``revenue_usd``, ``equity_usd`` and ``backlog_usd`` (a chipmaker's small
    order backlog does not make it small); ``value = r / (1 + r)`` (0.5 when
    the loop is as large as its smallest member; rises with B). Members without
    any of those figures are left out of ``m`` (nothing is invented for them).
    Fallback when *no* member has a figure: the value is 0 and the part's
    weight moves to ``bottleneck`` (the absolute size), which the part's
    reason says.
``bottleneck`` (weight 0.20)
    Log-scaled absolute size: ``log10(B / $1M) / 6`` clipped to [0, 1], so
    $1M or less is 0, $1B is 0.5 and $1T or more is 1.
``round_trip`` (weight 0.15)
    The share of the loop's largest leg that makes it all the way round:
    ``B / max(leg totals)``, in (0, 1]. 1 when every leg carries as much.
``confidence`` (weight 0.15)
    Sources' confidence, high = 1, medium = 0.6, low = 0.3. A leg is as
    credible as its best-sourced deal, the loop as its least credible leg:
    ``min over legs of max over the leg's deals``.
``recency`` (weight 0.15)
    ``0.5 ** (age / half_life)``, age in days from the loop's latest deal
    date to ``now`` (never negative), half-life 365 days. A loop with no
    dated deal scores 0.
``types`` (weight 0.10)
    Distinct deal types on the loop, ``k``: ``min(1, (k - 1) / 3)``. One
    type is 0 (ordinary trade or a chain of stakes); four or more is 1
    (funding, purchases and contingent terms mixed).

An undisclosed leg makes B unknown: ``size``, ``bottleneck`` and
``round_trip`` are then 0, with the reason "undisclosed"; the score counts
disclosed evidence only. Flags (:mod:`circfin.risk.flags`) are attached to
every scored loop but do not enter the score.

Custom ``weights`` (a mapping part -> weight >= 0) replace the defaults for
the parts they name and are then normalised to sum 1.
"""

from __future__ import annotations

__all__ = ["CONFIDENCE_VALUES", "DEFAULT_WEIGHTS", "HALF_LIFE_DAYS", "PARTS", "ScoredLoop",
           "rank_by_score", "score_loops"]

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from ..graph.model import Loop, date_bounds
from .exposures import entity_table
from .flags import Flag, deal_table, flags_for

if TYPE_CHECKING:
    import pandas as pd

PARTS: tuple[str, ...] = ("size", "bottleneck", "round_trip", "confidence", "recency", "types")
DEFAULT_WEIGHTS: dict[str, float] = {"size": 0.25, "bottleneck": 0.20, "round_trip": 0.15,
                                     "confidence": 0.15, "recency": 0.15, "types": 0.10}
assert abs(sum(DEFAULT_WEIGHTS.values()) - 1.0) < 1e-12 and tuple(DEFAULT_WEIGHTS) == PARTS

CONFIDENCE_VALUES: dict[str, float] = {"high": 1.0, "medium": 0.6, "low": 0.3}
HALF_LIFE_DAYS = 365.0
SIZE_MEASURES: tuple[str, ...] = ("revenue_usd", "equity_usd", "backlog_usd")
_LOG_FLOOR, _LOG_DECADES = 1e6, 6.0  # $1M .. $1T


class ScorePart(TypedDict):
    """One named part of a loop's score."""

    value: float  # in [0, 1]
    weight: float
    why: str


@dataclass(frozen=True)
class ScoredLoop:
    """A loop with its score, the parts it is made of, and its flags."""

    loop: Loop
    score: float
    parts: dict[str, ScorePart]  # part -> {"value", "weight", "why"}
    flags: list[Flag] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.loop.key

    @property
    def flag_names(self) -> list[str]:
        return [f.name for f in self.flags]

    def to_dict(self) -> dict[str, Any]:
        return {**self.loop.to_dict(), "score": self.score, "parts": self.parts,
                "flags": [f.to_dict() for f in self.flags]}


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = sorted(set(weights) - set(PARTS))
        if unknown:
            raise ValueError(f"unknown score part(s) {', '.join(unknown)}; parts: {', '.join(PARTS)}")
        for k, v in weights.items():
            v = float(v)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"weight of {k!r} must be a finite number >= 0, got {v!r}")
            w[k] = v
    total = sum(w.values())
    if not total > 0:
        raise ValueError("the score weights must not all be zero")
    return {k: v / total for k, v in w.items()}


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None



def _today(now: Any) -> _dt.date:
    if now is None:
        return _dt.datetime.now(_dt.UTC).date()
    if isinstance(now, _dt.datetime):
        return now.date()
    if isinstance(now, _dt.date):
        return now
    return date_bounds(str(now))[0]


def _size(b: float | None, loop: Loop, ents: Mapping[str, Mapping[str, Any]]
          ) -> tuple[float, str, bool]:
    """(value, why, available)."""
    # A member's size is its largest measure (a chipmaker's small order backlog does not
    # make it small); the loop is measured against its smallest member.
    sizes = []
    for e in loop.ids:
        # a deficit (negative equity) measures nothing: the member's other measures do
        mine = [(v, e, m) for m in SIZE_MEASURES if (v := _num(ents.get(e, {}).get(m))) is not None and v >= 0]
        if mine:
            sizes.append(max(mine))
    if not sizes:
        return 0.0, "no member has revenue, equity or backlog: weight moved to bottleneck", False
    v, e, m = min(sizes)
    name = ents.get(e, {}).get("name") or e
    if b is None:
        return 0.0, f"undisclosed bottleneck (smallest member measure: {name} {m[:-4]})", True
    r = b / v
    return r / (1.0 + r), f"bottleneck is {r:.3g}x {name}'s {m[:-4]} (${v:,.0f})", True


def _bottleneck(b: float | None) -> tuple[float, str]:
    if b is None:
        return 0.0, "undisclosed: some leg has no disclosed amount"
    if b <= _LOG_FLOOR:
        return 0.0, f"${b:,.0f} is at most $1M"
    return min(1.0, math.log10(b / _LOG_FLOOR) / _LOG_DECADES), f"${b:,.0f} on a log scale $1M..$1T"


def _round_trip(loop: Loop, b: float | None) -> tuple[float, str]:
    totals = [leg.amount_usd for leg in loop.legs if leg.amount_usd is not None]
    if b is None or not totals:
        return 0.0, "undisclosed: some leg has no disclosed amount"
    top = max(totals)
    if not top > 0:
        return 0.0, "no money on the largest leg"
    return min(1.0, b / top), f"${b:,.0f} of the largest leg's ${top:,.0f} comes all the way round"


def _confidence(loop: Loop, table: Mapping[str, Mapping[str, Any]]) -> tuple[float, str]:
    worst, where = 1.0, None
    for leg in loop.legs:
        vals = [CONFIDENCE_VALUES.get(str(table[d].get("confidence")), 0.0)
                for d in leg.deal_ids if d in table]
        best = max(vals, default=0.0)
        if where is None or best < worst:
            worst, where = best, leg
    if where is None:
        return 0.0, "no legs"
    return worst, f"weakest leg {where.payer} → {where.payee} is best sourced at {worst:g}"


def _recency(loop: Loop, today: _dt.date, half_life: float) -> tuple[float, str]:
    last = loop.date_span[1]
    if not last:
        return 0.0, "no dated deal"
    age = max(0, (today - date_bounds(last)[0]).days)
    return 0.5 ** (age / half_life), f"latest deal {last}, {age} days before {today.isoformat()}"


def _types(loop: Loop, table: Mapping[str, Mapping[str, Any]]) -> tuple[float, str]:
    kinds = sorted({str(table[d]["type"]) for d in loop.deal_ids if d in table} or set(loop.types))
    k = len(kinds)
    return (min(1.0, (k - 1) / 3.0) if k else 0.0), f"{k} deal type{'s' if k != 1 else ''}: {', '.join(kinds)}"


def score_loop(loop: Loop, table: Mapping[str, Mapping[str, Any]],
               ents: Mapping[str, Mapping[str, Any]], parents: Mapping[str, str | None], *,
               today: _dt.date, weights: Mapping[str, float],
               half_life: float = HALF_LIFE_DAYS) -> ScoredLoop:
    """One loop's score from prepared tables (see :func:`score_loops`)."""
    b = loop.bottleneck_usd
    b = None if b is None else float(b)
    size, size_why, size_ok = _size(b, loop, ents)
    values = {
        "size": (size, size_why),
        "bottleneck": _bottleneck(b),
        "round_trip": _round_trip(loop, b),
        "confidence": _confidence(loop, table),
        "recency": _recency(loop, today, half_life),
        "types": _types(loop, table),
    }
    w = dict(weights)
    if not size_ok:
        w["bottleneck"] += w["size"]
        w["size"] = 0.0
    parts = {p: ScorePart(value=float(values[p][0]), weight=float(w[p]), why=values[p][1])
             for p in PARTS}
    score = sum(parts[p]["value"] * parts[p]["weight"] for p in PARTS)
    return ScoredLoop(loop=loop, score=float(min(1.0, max(0.0, score))), parts=parts,
                      flags=flags_for(loop, table, parents))


def score_loops(loops: Iterable[Loop],
                deals: pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
                entities: Any, *, now: Any = None, weights: Mapping[str, float] | None = None,
                half_life_days: float = HALF_LIFE_DAYS, budget: Any = None) -> list[ScoredLoop]:
    """Score loops; highest score first (ties by length, then key).

    Parameters
    ----------
    loops : iterable of Loop
        As the loop search returns them (``leg.deal_ids`` are the counting deals).
    deals : DataFrame or mapping
        The deals table (``deal_id, type, status, amount_qualifier,
        confidence`` at least), e.g. ``snapshot(store).deals``.
    entities : list of dicts, DataFrame or mapping id -> dict
        With ``id`` (or ``entity_id``), ``name``, ``parent`` and the
        financial fields, e.g. ``snapshot(store).entities``.
    now : date, datetime or ``YYYY[-MM[-DD]]``, optional
        The day recency is measured from; default today (UTC). Pass it to
        make a run reproducible.
    weights : mapping part -> weight, optional
        See the module docstring; normalised to sum 1.
    half_life_days : float
        Recency half-life, > 0.

    budget : circfin.loops.from_store.Budget, optional
        Stop scoring when its time is up (the loops scored so far are returned,
        and ``budget.note`` says how many of how many).

    Raises ValueError on unknown parts, negative or all-zero weights, a
    non-positive half-life, or a loop deal missing from ``deals``.
    """
    if not (math.isfinite(float(half_life_days)) and half_life_days > 0):
        raise ValueError(f"half_life_days must be > 0, got {half_life_days!r}")
    w = _weights(weights)
    # a mapping is a table already (deal_table's rows, e.g. the brief's): used as it is
    table = {str(k): v for k, v in deals.items()} if isinstance(deals, Mapping) else deal_table(deals)
    ents = entity_table(entities)
    parents = {k: (v.get("parent") if isinstance(v.get("parent"), str) else None)
               for k, v in ents.items()}
    today = _today(now)
    if budget is not None:
        count = len(loops) if hasattr(loops, "__len__") else None  # type: ignore[arg-type]
        loops = budget.take(loops, count=count, stage="scoring", at_least=100)
    out = [score_loop(lp, table, ents, parents, today=today, weights=w, half_life=float(half_life_days))
           for lp in loops]
    out.sort(key=lambda s: (-s.score, s.loop.length, s.loop.key))
    return out


def rank_by_score(store: Any, *, now: Any = None, weights: Mapping[str, float] | None = None,
                  snap: Any = None, as_of: Any = None,
                  confidences: Iterable[str] | None = None) -> Callable[[Loop], float]:
    """A ranking for the periodic report (``write_report(store, out, rank=rank_by_score(store))``):
    loop -> its score, from the store's deals and entities as they are now, or as in
    ``snap`` (a ``loops.from_store.Snapshot``): the report passes the snapshot its loops
    came from, so a deal another ingest adds meanwhile is in both or in neither.
    ``as_of`` (without ``snap``): the deals and financials as of that date;
    ``confidences`` (without ``snap``; None: all): only deals of these confidences."""
    from ..loops.from_store import snapshot

    if snap is None:
        snap = snapshot(store, as_of=as_of, confidences=confidences)
    table = deal_table(snap.deal_rows)
    ents = entity_table(snap.entities)
    parents = {k: (v.get("parent") if isinstance(v.get("parent"), str) else None) for k, v in ents.items()}
    w = _weights(weights)
    today = _today(now)

    def risk_score(loop: Loop) -> float:
        return score_loop(loop, table, ents, parents, today=today, weights=w).score

    return risk_score
