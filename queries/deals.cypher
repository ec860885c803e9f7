// name: deals
// description: Every deal with its payer and payee ids and its provenance; the snapshot the in-memory engine works on.
// params: (none)
// returns: deal_id, date, day, payer, payee, type, amount_usd, amount_qualifier, status, description, source_url, confidence
MATCH (p:Entity)-[:MADE]->(d:Deal)-[:TO]->(q:Entity)
RETURN d.id AS deal_id, d.date AS date, d.day AS day, p.id AS payer, q.id AS payee,
       d.type AS type, d.amount_usd AS amount_usd, d.amount_qualifier AS amount_qualifier,
       d.status AS status, d.description AS description, d.source_url AS source_url,
       d.confidence AS confidence
ORDER BY deal_id
