"""Write a test frame straight into a store, bypassing ingest's validation.

Random frames hold what ingest refuses (undated deals, self-deals), and the
queries must cope with those too; the rows go in through the same upsert
queries ingest uses.
"""

from __future__ import annotations

import datetime as dt
import math

from circfin import queries
from circfin.graph.model import date_bounds

EPOCH = dt.date(1970, 1, 1)


def _amount(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v) if not isinstance(v, str) else float(int(v))


def load_frame(store, frame) -> None:
    parents = {k: v for k, v in frame.attrs.get("parents", {}).items() if v}
    ids = sorted(set(frame["payer"]) | set(frame["payee"]) | set(parents) | set(parents.values()))
    names = frame.attrs.get("names", {})
    ents = [{"id": i, "name": names.get(i, i), "kind": "other", "aliases": [], "name_keys": [i],
             "country": None, "revenue_usd": None, "equity_usd": None, "market_cap_usd": None,
             "backlog_usd": None, "source_url": None} for i in ids]
    rows = []
    for r in frame.to_dict("records"):
        date = r["date"] if isinstance(r["date"], str) and r["date"] else None
        first = date_bounds(date)[0] if date else None
        rows.append({"deal_id": r["deal_id"], "date": date,
                     "day": (first - EPOCH).days if first else None,
                     "date_from": first.isoformat() if first else None,
                     "payer": r["payer"], "payee": r["payee"], "type": r["type"],
                     "amount_usd": _amount(r["amount_usd"]), "amount_qualifier": r["amount_qualifier"],
                     "status": r["status"], "description": "", "source_url": None,
                     "confidence": r.get("confidence") or "high"})  # a frame may say, else high
    statements = [(queries.load("upsert_entities").text, {"rows": ents})]
    if parents:
        statements.append((queries.load("set_parents").text,
                           {"rows": [{"id": k, "parent": v} for k, v in parents.items()]}))
    if rows:
        statements.append((queries.load("upsert_deals").text, {"rows": rows}))
    statements += [(queries.load("clear_rollup").text, {}), (queries.load("build_rollup").text, {})]
    store.write(statements)
