// name: build_rollup_deals
// description: Derive PAYS_TOP for the given deals only, exactly as build_rollup does for every deal (between the top-most ancestors of payer and payee; deals inside one group drop out): the incremental roll-up of a write that changes no parent link. Each deal is found by the Deal index.
// params: $ids (list of deal ids)
// returns: created
UNWIND $ids AS id
MATCH (d:Deal {id: id})
WITH d
MATCH (a:Entity)-[:MADE]->(d)-[:TO]->(b:Entity)
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
