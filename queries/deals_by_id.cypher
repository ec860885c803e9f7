// name: deals_by_id
// description: The stored deals among the given ids, to tell new, changed and unchanged rows apart before writing, and to check the rows that hang on them.
// params: $ids (list of deal ids)
// returns: deal_id, date, day, payer, payee, type, amount_usd, amount_qualifier, status, description, source_url, source_kind, confidence, ev_days, ev_statuses
MATCH (p:Entity)-[:MADE]->(d:Deal)-[:TO]->(q:Entity)
WHERE d.id IN $ids
RETURN d.id AS deal_id, d.date AS date, d.day AS day, p.id AS payer, q.id AS payee,
       d.type AS type, d.amount_usd AS amount_usd, d.amount_qualifier AS amount_qualifier,
       d.status AS status, d.description AS description, d.source_url AS source_url,
       d.source_kind AS source_kind, d.confidence AS confidence, d.ev_days AS ev_days,
       d.ev_statuses AS ev_statuses
