// name: browser_loop_deals
// description: One loop's deals with their provenance, as company -> deal -> company paths to click through in Neo4j Browser (source URL, confidence and description are on the Deal nodes).
// params: $key (loop key, e.g. 'nvidia>openai>oracle'), $statuses (list or null), $confidences (list or null: only deals of these confidences count)
// returns: p, leg, deal_id, source_url
WITH split($key, '>') AS ids
UNWIND range(0, size(ids) - 1) AS leg
MATCH p = (x:Entity {id: ids[leg]})-[:MADE]->(d:Deal)-[:TO]->(y:Entity {id: ids[(leg + 1) % size(ids)]})
WHERE ($statuses IS NULL OR d.status IN $statuses) AND ($confidences IS NULL OR d.confidence IN $confidences)
RETURN p, leg, d.id AS deal_id, d.source_url AS source_url
ORDER BY leg, deal_id
