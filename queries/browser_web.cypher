// name: browser_web
// description: The financing web for Neo4j Browser: every entity pair linked by a counting deal (one PAYS relationship per deal), largest disclosed deals first.
// params: $statuses (list or null), $confidences (list or null: only deals of these confidences count), $limit (maximum number of deals)
// returns: a, r, b, deal_id
MATCH (a:Entity)-[r:PAYS]->(b:Entity)
WHERE ($statuses IS NULL OR r.status IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
RETURN a, r, b, r.deal_id AS deal_id
ORDER BY coalesce(r.amount_usd, 0) DESC, deal_id
LIMIT $limit
