"""Raw references for bench_write.py and bench_read.py: what the falkordb client
does with the same data and no circfin in between."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

# One batched MERGE of deals, as a script written against the client would do it:
# the Deal node with its properties, its MADE and TO links and the PAYS edge.
RAW_MERGE = """
UNWIND $rows AS row
MATCH (p:Entity {id: row.payer})
MATCH (q:Entity {id: row.payee})
MERGE (d:Deal {id: row.deal_id})
SET d += {date: row.date, type: row.type, amount_usd: row.amount_usd,
          amount_qualifier: row.amount_qualifier, status: row.status,
          description: row.description, source_url: row.source_url,
          confidence: row.confidence, payer: row.payer, payee: row.payee}
MERGE (p)-[:MADE]->(d)
MERGE (d)-[:TO]->(q)
MERGE (p)-[r:PAYS {deal_id: row.deal_id}]->(q)
SET r += {date: row.date, type: row.type, amount_usd: row.amount_usd,
          amount_qualifier: row.amount_qualifier, status: row.status,
          confidence: row.confidence}
RETURN count(*) AS n
"""


def raw_rows(deals_csv: Path, prefix: str | None = None) -> list[dict[str, Any]]:
    """The deals of a make_corpus file as plain rows (payer and payee as ids)."""
    out = []
    with deals_csv.open(newline="") as f:
        for r in csv.DictReader(f):
            payer = r["payer"]
            if payer.startswith("Entity "):
                payer = "e" + payer.split()[1]
            out.append({"deal_id": (prefix + r["deal_id"]) if prefix else r["deal_id"],
                        "date": r["date"], "payer": payer, "payee": r["payee"], "type": r["type"],
                        "amount_usd": float(r["amount_usd"]) if r["amount_usd"] else None,
                        "amount_qualifier": r["amount_qualifier"], "status": r["status"],
                        "description": r["description"], "source_url": r["source_url"],
                        "confidence": r["confidence"]})
    return out


def raw_merge(graph: Any, rows: list[dict[str, Any]], batch: int = 2000) -> float:
    """Seconds to MERGE ``rows`` in batches through the client's ``query``."""
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        graph.query(RAW_MERGE, {"rows": rows[i:i + batch]})
    return time.perf_counter() - t
