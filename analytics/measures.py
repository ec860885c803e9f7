"""Concentration, self-funded demand, reciprocal pairs and hubs, computed in the database.

Each function runs one catalogue query on a store and returns plain records;
the CLI renders them and the tests check them against pandas on random graphs.
Amounts are disclosed amounts only: an undisclosed deal adds to deal and
partner counts, never to dollar totals. Each takes ``as_of`` (an ISO date, a
partial date meaning its last day, or a date; None: everything, with current
statuses): only deals dated on or before it count, each with its status on
that day (as ``loops.from_store.snapshot`` reads the graph), and ``confidences``
(None: all): only deals of these confidences count (``--min-confidence``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

from .. import queries
from ..display import plain_number as _num
from ..errors import InputError
from ..graph.model import DEAL_TYPES, checked_confidences, date_bounds
from ..store.base import GraphStore

__all__ = ["FUNDING_TYPES", "PURCHASE_TYPES", "concentration", "hubs", "loops_through",
           "reciprocal_pairs", "self_funded_demand"]

# Deals by which one party funds another: the money is meant to come back as purchases.
FUNDING_TYPES: tuple[str, ...] = ("equity_investment", "loan", "credit_facility", "bond", "warrant",
                                  "capacity_backstop", "guarantee", "spv_financing")
# Deals by which a party buys from another: where vendor financing returns.
PURCHASE_TYPES: tuple[str, ...] = ("compute_purchase", "chip_purchase", "cloud_commitment", "lease",
                                   "revenue_share")
assert set(FUNDING_TYPES) | set(PURCHASE_TYPES) <= set(DEAL_TYPES)


def _statuses(status: Iterable[str] | None) -> list[str] | None:
    return None if status is None else list(status)


def _confidences(confidences: Iterable[str] | None) -> list[str] | None:
    """The ``$confidences`` list (None: every deal); InputError for an unknown confidence."""
    checked = checked_confidences(confidences)
    return None if checked is None else list(checked)


def _as_of(as_of: str | _dt.date | None) -> int | None:
    """The ``$as_of`` day number (days since 1970-01-01; a partial date's last day).

    >>> _as_of("1970-01"), _as_of(_dt.date(1970, 1, 2)), _as_of(None)
    (30, 1, None)
    """
    if as_of is None:
        return None
    if not isinstance(as_of, _dt.date):
        try:
            as_of = date_bounds(str(as_of))[1]
        except ValueError as e:
            raise InputError(str(e)) from None
    return (as_of - _dt.date(1970, 1, 1)).days




def concentration(store: GraphStore, *, status: Iterable[str] | None = None,
                  as_of: str | _dt.date | None = None,
                  confidences: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Per entity and direction ('in': who pays it, 'out': whom it pays): total, number of
    counterparties, the top counterparty and its share, and the HHI (0..1)."""
    rows = store.read(queries.load("concentration").text,
                      {"statuses": _statuses(status), "as_of": _as_of(as_of),
                       "confidences": _confidences(confidences)})
    out = []
    for r in rows:
        total = float(r["total_usd"])
        out.append({
            "id": r["id"], "name": r["name"], "direction": r["direction"],
            "total_usd": _num(r["total_usd"]), "counterparties": r["counterparties"],
            "top_counterparty": min(r["top_ids"]), "top_share": float(r["top_usd"]) / total,
            "hhi": float(r["hhi"]),
        })
    out.sort(key=lambda r: (-r["hhi"], -r["total_usd"], r["id"], r["direction"]))
    return out


def self_funded_demand(store: GraphStore, *, status: Iterable[str] | None = None,
                       funding_types: Iterable[str] = FUNDING_TYPES,
                       as_of: str | _dt.date | None = None,
                       confidences: Iterable[str] | None = None) -> list[dict[str, Any]]:
    rows = store.read(queries.load("self_funded_demand").text,
                      {"statuses": _statuses(status), "funding_types": list(funding_types),
                       "as_of": _as_of(as_of), "confidences": _confidences(confidences)})
    return [{"id": r["id"], "name": r["name"], "inflow_usd": _num(r["inflow_usd"]),
             "self_funded_usd": _num(r["self_funded_usd"]), "share": float(r["share"]),
             "funded_payers": sorted(r["funded_payers"])} for r in rows]


def reciprocal_pairs(store: GraphStore, *, status: Iterable[str] | None = None,
                     funding_types: Iterable[str] = FUNDING_TYPES,
                     purchase_types: Iterable[str] = PURCHASE_TYPES,
                     as_of: str | _dt.date | None = None,
                     confidences: Iterable[str] | None = None) -> list[dict[str, Any]]:
    rows = store.read(queries.load("reciprocal_pairs").text,
                      {"statuses": _statuses(status), "funding_types": list(funding_types),
                       "purchase_types": list(purchase_types), "as_of": _as_of(as_of),
                       "confidences": _confidences(confidences)})
    return [{"funder_id": r["funder_id"], "funder": r["funder"], "funded_id": r["funded_id"],
             "funded": r["funded"], "funding_deals": sorted(r["funding_deals"]),
             "funding_usd": _num(r["funding_usd"]) if r["funding_disclosed"] else None,
             "purchase_deals": sorted(r["purchase_deals"]),
             "purchase_usd": _num(r["purchase_usd"]) if r["purchase_disclosed"] else None}
            for r in rows]


def hubs(store: GraphStore, *, status: Iterable[str] | None = None,
         limit: int | None = None, as_of: str | _dt.date | None = None,
         confidences: Iterable[str] | None = None) -> list[dict[str, Any]]:
    rows = store.read(queries.load("hubs").text,
                      {"statuses": _statuses(status), "as_of": _as_of(as_of),
                       "confidences": _confidences(confidences)})
    out = [{**r, "in_usd": _num(r["in_usd"] or 0), "out_usd": _num(r["out_usd"] or 0),
            "volume_usd": _num(r["volume_usd"] or 0)} for r in rows]
    return out[:limit] if limit is not None else out


def loops_through(store: GraphStore, entity_id: str, *, max_len: int = 6,
                  status: Iterable[str] | None = None,
                  as_of: str | _dt.date | None = None,
                  confidences: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per path (a choice of one deal per leg) of loops through one entity."""
    q = queries.load("loops_through")
    rows = store.read(q.bounded(2, max_len), {"entity": entity_id, "statuses": _statuses(status),
                                              "as_of": _as_of(as_of),
                                              "confidences": _confidences(confidences)})
    return [{"ids": r["ids"], "deal_ids": r["deal_ids"]} for r in rows]
