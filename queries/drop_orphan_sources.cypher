// name: drop_orphan_sources
// description: Delete the Source nodes no deal cites any more.
// params: (none)
// returns: dropped
MATCH (s:Source)
WHERE NOT (:Deal)-[:CITES]->(s)
DELETE s
RETURN count(*) AS dropped
