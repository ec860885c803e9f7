// name: browser_loop
// description: Draw one loop in Neo4j Browser: its entities and every PAYS relationship on its legs. The key is as circfin prints it (entity ids joined by '>').
// params: $key (loop key, e.g. 'nvidia>openai>oracle'), $statuses (list or null), $confidences (list or null: only deals of these confidences count)
// returns: x, r, y, leg, deal_id
WITH split($key, '>') AS ids
UNWIND range(0, size(ids) - 1) AS leg
MATCH (x:Entity {id: ids[leg]})-[r:PAYS]->(y:Entity {id: ids[(leg + 1) % size(ids)]})
WHERE ($statuses IS NULL OR r.status IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
RETURN x, r, y, leg, r.deal_id AS deal_id
ORDER BY leg, deal_id
