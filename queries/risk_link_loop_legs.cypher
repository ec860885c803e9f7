// name: risk_link_loop_legs
// description: Link scored loops to their payers and deals as a report does, (loop)-[:THROUGH {payee, ids, amount_usd}]->(payer) and (loop)-[:HAS_DEAL]->(deal), merging links that exist. A THROUGH link a report wrote keeps its properties: they are the report's record of the loop when it last saw it.
// params: $rows (list of maps: key, payer, payee, ids, amount_usd)
// returns: links
UNWIND $rows AS row
MATCH (l:Loop {key: row.key})
MATCH (e:Entity {id: row.payer})
MERGE (l)-[t:THROUGH]->(e)
ON CREATE SET t.payee = row.payee, t.ids = row.ids, t.amount_usd = row.amount_usd
WITH l, row
UNWIND row.ids AS deal
MATCH (d:Deal {id: deal})
MERGE (l)-[:HAS_DEAL]->(d)
RETURN count(*) AS links
