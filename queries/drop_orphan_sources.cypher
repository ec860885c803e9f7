// name: drop_orphan_sources
// description: Delete those of the given Source nodes that no deal cites any more (the sources of deals whose further sources were written again, or deleted).
// params: $urls (list of source URLs)
// returns: dropped
UNWIND $urls AS url
MATCH (s:Source {url: url})
WHERE NOT (:Deal)-[:CITES]->(s)
DELETE s
RETURN count(*) AS dropped
