// name: deals_by_id
// description: The stored deals among the given ids, to tell new, changed and unchanged rows apart before writing.
// params: $ids (list of deal ids)
// returns: deal_id, date, payer, payee, type, amount_usd, amount_qualifier, status, description, source_url, confidence
MATCH (p:Entity)-[:MADE]->(d:Deal)-[:TO]->(q:Entity)
WHERE d.id IN $ids
RETURN d.id AS deal_id, d.date AS date, p.id AS payer, q.id AS payee,
       d.type AS type, d.amount_usd AS amount_usd, d.amount_qualifier AS amount_qualifier,
       d.status AS status, d.description AS description, d.source_url AS source_url,
       d.confidence AS confidence
