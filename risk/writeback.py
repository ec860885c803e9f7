"""Write loop scores and flags into the graph, for exploring ``(:Loop)`` in Neo4j Browser.

One atomic ``store.write`` per call:

1. ``risk_upsert_loop_scores``: ``MERGE (l:Loop {key})`` and set ``l.score``,
   ``l.flags`` (the flag names, a list), ``l.score_parts`` (a JSON string:
   part -> {value, weight, why}, plus each flag's deal ids and reason
   under ``"flags"``), ``l.scored_at`` (ISO 8601, UTC), and ``l.ids`` and
   ``l.length``, which the key determines. A report's ``first_seen`` and
   ``last_seen`` are never touched;
2. ``risk_link_loop_legs``: ``MERGE (l)-[:THROUGH]->(payer)`` per leg, its
   properties ``{payee, ids, amount_usd}`` set only when the link is new (a
   link a report wrote is the report's record of the loop as it last saw
   it, which its next run compares against), and ``MERGE
   (l)-[:HAS_DEAL]->(deal)`` per counting deal.

Writing the same scores twice changes nothing but ``scored_at``. Loops
scored before and not in this call keep their last score and ``scored_at``.

In Browser::

    MATCH (l:Loop) WHERE 'vendor_financing' IN l.flags RETURN l.key, l.score ORDER BY l.score DESC

or the catalogue's ``risk_flagged_loops`` (loops by flag) and
``risk_loop_graph`` (the top loops drawn with their deals).
"""

from __future__ import annotations

__all__ = ["score_rows", "write_scores"]

import datetime as _dt
import json
from collections.abc import Iterable
from typing import Any

from .. import queries
from .score import ScoredLoop

_BATCH = 2000


def _iso(at: _dt.datetime | None) -> str:
    t = at or _dt.datetime.now(_dt.UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def score_rows(scored: Iterable[ScoredLoop]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The query parameters: (loop rows, leg rows)."""
    loops, legs = [], []
    seen: set[str] = set()
    for s in scored:
        lp = s.loop
        if lp.key in seen:
            continue
        seen.add(lp.key)
        parts = {**s.parts, "flags": {f.name: {"deal_ids": list(f.deal_ids), "why": f.why} for f in s.flags}}
        loops.append({"key": lp.key, "ids": list(lp.ids), "length": lp.length, "score": float(s.score),
                      "flags": [f.name for f in s.flags],
                      "score_parts": json.dumps(parts, sort_keys=True, ensure_ascii=False)})
        legs += [{"key": lp.key, "payer": leg.payer_id, "payee": leg.payee_id,
                  "ids": sorted(leg.deal_ids),
                  "amount_usd": None if leg.amount_usd is None else float(leg.amount_usd)}
                 for leg in lp.legs]
    return loops, legs


def write_scores(store: Any, scored: Iterable[ScoredLoop], *, at: _dt.datetime | None = None) -> int:
    """Write scores, flags and links for ``scored`` in one atomic write; the number of loops written."""
    loops, legs = score_rows(scored)
    if not loops:
        return 0
    when = _iso(at)
    statements: list[tuple[str, dict[str, Any]]] = []
    for i in range(0, len(loops), _BATCH):
        statements.append((queries.load("risk_upsert_loop_scores").text,
                           {"rows": loops[i:i + _BATCH], "at": when}))
    for i in range(0, len(legs), _BATCH):
        statements.append((queries.load("risk_link_loop_legs").text, {"rows": legs[i:i + _BATCH]}))
    store.ensure_schema()
    store.write(statements)
    return len(loops)
