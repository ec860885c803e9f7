// name: delete_deals
// description: Delete deals by id: the PAYS relationship (found through the Deal node's payer and payee, by index lookups), the deal's events, then the Deal node with its MADE, TO, MEMBER_OF and CITES links.
// params: $ids (list of deal ids)
// returns: deleted
UNWIND $ids AS id
MATCH (d:Deal {id: id})
WITH d, id, d.payer AS payer, d.payee AS payee
OPTIONAL MATCH (:Entity {id: payer})-[r:PAYS]->(q:Entity)
WHERE r.deal_id = id AND q.id = payee
DELETE r
WITH DISTINCT d
OPTIONAL MATCH (d)-[:HAS_EVENT]->(e:Event)
DETACH DELETE e
WITH DISTINCT d
DETACH DELETE d
RETURN count(*) AS deleted
