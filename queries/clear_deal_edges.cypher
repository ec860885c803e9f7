// name: clear_deal_edges
// description: Remove the PAYS relationships of deals that are about to be written again (their payer or payee may have changed). Found through the Deal node's stored payer and payee; the WITH keeps every step an index lookup (without it FalkorDB plans a scan of all entities per deal).
// params: $ids (list of deal ids)
// returns: removed
UNWIND $ids AS id
MATCH (d:Deal {id: id})
WITH id, d.payer AS payer, d.payee AS payee
MATCH (p:Entity {id: payer})
MATCH (p)-[r:PAYS]->(q:Entity)
WHERE r.deal_id = id AND q.id = payee
DELETE r
RETURN count(*) AS removed
