// name: report_loop_legs
// description: Record each leg of the loops a report run saw, (loop)-[:THROUGH {payee, ids: deal ids, amount_usd: disclosed total}]->(payer), and link the loop to its deals.
// params: $rows (list of maps: key, payer, payee, ids, amount_usd)
// returns: links
UNWIND $rows AS row
MATCH (l:Loop {key: row.key})
MATCH (e:Entity {id: row.payer})
CREATE (l)-[:THROUGH {payee: row.payee, ids: row.ids, amount_usd: row.amount_usd}]->(e)
WITH l, row
UNWIND row.ids AS deal
MATCH (d:Deal {id: deal})
CREATE (l)-[:HAS_DEAL]->(d)
RETURN count(*) AS links
