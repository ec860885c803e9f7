// name: report_loop_state
// description: What the given loops looked like when a report last saw them: per leg (THROUGH its payer), the leg's deal ids and disclosed total.
// params: $keys (list of loop keys)
// returns: key, ids, first_seen, last_seen, payer, payee, deal_ids, amount_usd
MATCH (l:Loop)
WHERE l.key IN $keys
OPTIONAL MATCH (l)-[t:THROUGH]->(e:Entity)
RETURN l.key AS key, l.ids AS ids, l.first_seen AS first_seen, l.last_seen AS last_seen,
       e.id AS payer, t.payee AS payee, t.ids AS deal_ids, t.amount_usd AS amount_usd
ORDER BY key, payer
