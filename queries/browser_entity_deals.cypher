// name: browser_entity_deals
// description: Every deal an entity makes (out) or receives (in), as company -> deal -> company paths for Neo4j Browser.
// params: $entity (entity id)
// returns: p, deal_id, direction, date
MATCH p = (e:Entity {id: $entity})-[:MADE]->(d:Deal)-[:TO]->(:Entity)
RETURN p, d.id AS deal_id, 'out' AS direction, d.date AS date
UNION ALL
MATCH p = (:Entity)-[:MADE]->(d:Deal)-[:TO]->(e:Entity {id: $entity})
RETURN p, d.id AS deal_id, 'in' AS direction, d.date AS date
