// name: clear_sources
// description: Remove the CITES links of deals whose further sources are about to be written again (the Source nodes stay; drop_orphan_sources deletes those no deal cites).
// params: $ids (list of deal ids)
// returns: removed
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (d)-[c:CITES]->(:Source)
DELETE c
RETURN count(*) AS removed
