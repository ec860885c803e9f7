// name: deals
// description: Every deal with its payer and payee ids, its provenance and its status history; the snapshot the in-memory engine works on.
// params: (none)
// returns: deal_id, date, day, payer, payee, type, amount_usd, amount_qualifier, status, description, source_url, source_kind, confidence, ev_days, ev_statuses
// The payer and payee ids are kept on the Deal (as its MADE and TO links say): no hops.
MATCH (d:Deal)
RETURN d.id AS deal_id, d.date AS date, d.day AS day, d.payer AS payer, d.payee AS payee,
       d.type AS type, d.amount_usd AS amount_usd, d.amount_qualifier AS amount_qualifier,
       d.status AS status, d.description AS description, d.source_url AS source_url,
       d.source_kind AS source_kind, d.confidence AS confidence, d.ev_days AS ev_days,
       d.ev_statuses AS ev_statuses
ORDER BY deal_id
