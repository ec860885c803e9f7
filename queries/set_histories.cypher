// name: set_histories
// description: Set the status history (parallel lists of event days and statuses) on stored deals and their PAYS relationships, for deals whose events changed but whose own row did not. Found through the Deal node's payer and payee, by index lookups.
// params: $rows (list of maps: deal_id, ev_days, ev_statuses)
// returns: deals
UNWIND $rows AS row
MATCH (d:Deal {id: row.deal_id})
SET d.ev_days = row.ev_days, d.ev_statuses = row.ev_statuses
// The deal's content hash no longer matches: dropped, so the next ingest of its row
// compares it field by field (and stores a new hash if it writes it).
SET d.hash = null
WITH row, d.payer AS payer, d.payee AS payee
MATCH (p:Entity {id: payer})
MATCH (p)-[r:PAYS]->(q:Entity)
WHERE r.deal_id = row.deal_id AND q.id = payee
SET r.ev_days = row.ev_days, r.ev_statuses = row.ev_statuses
RETURN count(*) AS deals
