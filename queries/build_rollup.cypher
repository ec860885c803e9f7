// name: build_rollup
// description: Derive PAYS_TOP: each deal again (read from its Deal node: FalkorDB reads the properties of a relationship created earlier in the same query as null, and this runs in the same query as the deals' upsert), between the top-most ancestors (via PART_OF) of its payer and payee, so a loop through Meta's Hyperion SPV shows as Meta's; deals inside one group drop out. Rebuilt in the same atomic write as every ingest and delete.
// params: (none)
// returns: created
MATCH (a:Entity)-[:MADE]->(d:Deal)-[:TO]->(b:Entity)
OPTIONAL MATCH (a)-[:PART_OF*1..]->(ta:Entity)
WHERE NOT (ta)-[:PART_OF]->(:Entity)
OPTIONAL MATCH (b)-[:PART_OF*1..]->(tb:Entity)
WHERE NOT (tb)-[:PART_OF]->(:Entity)
WITH coalesce(ta, a) AS x, coalesce(tb, b) AS y, d
WHERE x <> y
CREATE (x)-[:PAYS_TOP {deal_id: d.id, date: d.date, day: d.day, type: d.type,
                       amount_usd: d.amount_usd, amount_qualifier: d.amount_qualifier,
                       status: d.status, confidence: d.confidence,
                       ev_days: d.ev_days, ev_statuses: d.ev_statuses}]->(y)
RETURN count(*) AS created
