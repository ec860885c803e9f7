"""The deal graph for Gephi and Cytoscape: GraphML or GEXF, through networkx.

One node per entity (name, kind, country, parent, financials, its holdings'
value by whose money they are -- ``holdings_own_usd`` on its balance sheet,
``holdings_managed_usd`` held for clients -- and how many loops pass through it) and one edge per counting deal (id, type, amount,
date, status, provenance, and how many loops it is on), so a Gephi user can
size, colour and filter by the same facts circfin reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import InputError
from ..loops.from_store import DEFAULT_STATUSES, Budget, Snapshot, at_confidence, budget_from_engine_note
from ..safe import atomic_write, visible

__all__ = ["FORMATS", "to_networkx", "write_graph"]

FORMATS = ("graphml", "gexf")
_NODE_FIELDS = ("name", "kind", "country", "parent", "revenue_usd", "equity_usd", "market_cap_usd",
                "backlog_usd", "source_url")
_EDGE_FIELDS = ("type", "amount_usd", "amount_qualifier", "date", "status", "confidence",
                "source_url", "description")


def _clean(v: Any) -> Any:
    """GraphML and GEXF take scalars only and no missing values; XML takes no control
    characters, and a label shown in Gephi should not reorder itself: text goes through
    :func:`circfin.safe.visible`."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (list, tuple)):
        return visible("; ".join(map(str, v)))
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        return visible(v)
    return v


def to_networkx(snap: Snapshot, *, status: Iterable[str] | None = DEFAULT_STATUSES,
                max_len: int = 6, budget: Budget | None = None,
                confidences: Iterable[str] | None = None) -> nx.MultiDiGraph:
    """A MultiDiGraph of the snapshot's entities and counting deals, with loop counts.

    ``confidences`` (None: all, or the snapshot's own filter): only deals of these
    confidences count (:func:`circfin.loops.from_store.at_confidence`).

    ``budget`` bounds the loop count (time and loops); when it cuts the search the
    counts are lower bounds, the budget records why, and the graph's
    ``loop_counts`` attribute says ``partial``.
    """
    from ..loops.engine import find_loops

    snap = at_confidence(snap, confidences)
    statuses = None if status is None else set(status)
    deals = snap.deals
    if statuses is not None and len(deals):
        deals = deals[deals["status"].isin(statuses)]
    loops: Any = []
    if len(deals):
        loops = find_loops(deals, max_len=max_len, status=None,
                           time_budget=None if budget is None else budget.remaining(),
                           max_loops=None if budget is None else budget.max_loops)
        if budget is not None and not getattr(loops, "complete", True):
            budget_from_engine_note(budget, getattr(loops, "note", None), len(loops))
    on_deal: Counter[str] = Counter()
    on_entity: Counter[str] = Counter()
    for loop in loops:
        on_deal.update(loop.deal_ids)
        on_entity.update(loop.ids)
    g = nx.MultiDiGraph(loop_counts="complete" if getattr(loops, "complete", True) else "partial")
    if snap.as_of:  # the web as of this date: deals, statuses and financials
        g.graph["as_of"] = snap.as_of
    if snap.confidences is not None:  # only deals of these confidences
        g.graph["confidences"] = ", ".join(snap.confidences)
    held: dict[tuple[str, str], float] = {}
    for h in snap.holdings:  # the latest holding of each position, as of the snapshot's date
        key = (str(h["holder"]), "managed" if h.get("capacity") == "managed" else "own")
        held[key] = held.get(key, 0.0) + float(h["value_usd"])
    for e in snap.entities:
        attrs = {k: _clean(e.get(k)) for k in _NODE_FIELDS}
        for cap in ("own", "managed"):
            attrs[f"holdings_{cap}_usd"] = _clean(held.get((e["id"], cap)))
        attrs["label"] = attrs.pop("name") or visible(e["id"])
        attrs["loops"] = on_entity[e["id"]]
        g.add_node(e["id"], **{k: v for k, v in attrs.items() if v is not None})
    for d in deals.to_dict("records"):
        attrs = {k: _clean(d.get(k)) for k in _EDGE_FIELDS}
        attrs["deal_type"] = attrs.pop("type")  # GEXF reserves an edge's "type" (directed or not)
        attrs["deal_id"] = visible(d["deal_id"])
        attrs["loops"] = on_deal[d["deal_id"]]
        g.add_edge(d["payer"], d["payee"], key=d["deal_id"],
                   **{k: v for k, v in attrs.items() if v is not None})
    return g


def write_graph(graph: nx.MultiDiGraph, path: Path | str, fmt: str) -> None:
    """Write ``graph`` as GraphML or GEXF, atomically: an unpredictable temp file in the
    target's folder, renamed into place. A target that is not a regular file (a symlink,
    a device, a folder) is refused (see :func:`circfin.safe.atomic_write`)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use {' or '.join(FORMATS)}")
    writer = nx.write_graphml if fmt == "graphml" else nx.write_gexf
    atomic_write(Path(path), lambda f: writer(graph, f, encoding="utf-8"))
