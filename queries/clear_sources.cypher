// name: clear_sources
// description: Remove the CITES links of deals about to be written again: with $extra false the deal's own source (rank 0), with $extra true its further sources.
// params: $ids (list of deal ids), $extra (boolean)
// returns: removed
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (d)-[c:CITES]->(:Source)
WHERE (c.rank > 0) = $extra
DELETE c
RETURN count(*) AS removed
