// name: delete_deals
// description: Delete deals by id, with their Deal nodes and PAYS relationships.
// params: $ids (list of deal ids)
// returns: deleted
UNWIND $ids AS id
MATCH (d:Deal {id: id})
OPTIONAL MATCH (:Entity)-[r:PAYS {deal_id: id}]->(:Entity)
DELETE r
WITH DISTINCT d
DETACH DELETE d
RETURN count(*) AS deleted
