// name: build_rollup
// description: Derive PAYS_TOP: each deal again, between the top-most ancestors (via PART_OF) of its payer and payee, so a loop through Meta's Hyperion SPV shows as Meta's; deals inside one group drop out. Rebuilt in the same atomic write as every ingest and delete.
// params: (none)
// returns: created
MATCH (a:Entity)-[r:PAYS]->(b:Entity)
OPTIONAL MATCH (a)-[:PART_OF*1..]->(ta:Entity)
WHERE NOT (ta)-[:PART_OF]->(:Entity)
OPTIONAL MATCH (b)-[:PART_OF*1..]->(tb:Entity)
WHERE NOT (tb)-[:PART_OF]->(:Entity)
WITH coalesce(ta, a) AS x, coalesce(tb, b) AS y, r
WHERE x <> y
CREATE (x)-[:PAYS_TOP {deal_id: r.deal_id, date: r.date, day: r.day, type: r.type,
                       amount_usd: r.amount_usd, amount_qualifier: r.amount_qualifier,
                       status: r.status, confidence: r.confidence}]->(y)
RETURN count(*) AS created
