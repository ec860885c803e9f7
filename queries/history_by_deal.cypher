// name: history_by_deal
// description: What the participants, sources and events rows of the given stored deals are checked against: each deal's date, parties, status and status history (read from the Deal node alone; fewer columns than deals_by_id, for deals the input names without giving their row).
// params: $ids (list of deal ids)
// returns: deal_id, date, day, payer, payee, status, ev_days, ev_statuses
MATCH (d:Deal)
WHERE d.id IN $ids
RETURN d.id AS deal_id, d.date AS date, d.day AS day, d.payer AS payer, d.payee AS payee,
       d.status AS status, d.ev_days AS ev_days, d.ev_statuses AS ev_statuses
