// name: risk_loop_graph
// description: For Neo4j Browser: the highest-scored loops drawn with their deals and the entities that pay and are paid, with each loop's score and flags. Written by 'circfin score --write'.
// params: $limit (maximum loops)
// returns: l, d, p, q, key, score, flags
MATCH (l:Loop)
WHERE l.score IS NOT NULL
WITH l ORDER BY l.score DESC, l.key LIMIT $limit
MATCH (l)-[:HAS_DEAL]->(d:Deal)
MATCH (p:Entity)-[:MADE]->(d)-[:TO]->(q:Entity)
RETURN l, d, p, q, l.key AS key, l.score AS score, l.flags AS flags
ORDER BY score DESC, key, d.id
