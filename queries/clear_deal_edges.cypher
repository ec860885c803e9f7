// name: clear_deal_edges
// description: Remove the relationships of deals that are about to be written again (their payer or payee may have changed).
// params: $ids (list of deal ids)
// returns: removed
UNWIND $ids AS id
MATCH (:Entity)-[r:PAYS {deal_id: id}]->(:Entity)
DELETE r
RETURN count(*) AS removed
