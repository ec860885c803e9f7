// name: upsert_deals
// description: Write deals: a Deal node with its provenance and its status history, linked (payer)-[:MADE]->(deal)-[:TO]->(payee), and a PAYS relationship payer -> payee carrying what loop queries filter on (the history too, so a status as of a date needs no join).
// params: $rows (list of maps: deal_id, date, day, date_from, payer, payee, type, amount_usd, amount_qualifier, status, description, source_url, source_kind, confidence, ev_days, ev_statuses, hash (ingest.pipeline.deal_hash))
// returns: deals
UNWIND $rows AS row
MATCH (p:Entity {id: row.payer})
MATCH (q:Entity {id: row.payee})
MERGE (d:Deal {id: row.deal_id})
// One map replacing every property, not one SET per property: FalkorDB 4.16 can
// remove the wrong property when one SET clause removes several.
SET d = {id: row.deal_id, date: row.date, day: row.day, date_from: date(row.date_from),
         type: row.type, amount_usd: row.amount_usd, amount_qualifier: row.amount_qualifier,
         status: row.status, description: row.description, source_url: row.source_url,
         source_kind: row.source_kind, confidence: row.confidence, payer: row.payer,
         payee: row.payee, ev_days: row.ev_days, ev_statuses: row.ev_statuses,
         hash: row.hash, key: toLower(row.deal_id)}
CREATE (p)-[:MADE]->(d)
CREATE (d)-[:TO]->(q)
CREATE (p)-[:PAYS {deal_id: row.deal_id, date: row.date, day: row.day, type: row.type,
                   amount_usd: row.amount_usd, amount_qualifier: row.amount_qualifier,
                   status: row.status, confidence: row.confidence,
                   ev_days: row.ev_days, ev_statuses: row.ev_statuses}]->(q)
RETURN count(d) AS deals
