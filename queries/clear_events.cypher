// name: clear_events
// description: Delete the events of deals whose history is about to be written again.
// params: $ids (list of deal ids)
// returns: removed
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (d)-[:HAS_EVENT]->(e:Event)
DETACH DELETE e
RETURN count(*) AS removed
