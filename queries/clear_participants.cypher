// name: clear_participants
// description: Remove the members of deals whose membership is about to be written again.
// params: $ids (list of deal ids)
// returns: removed
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (:Entity)-[r:MEMBER_OF]->(d)
DELETE r
RETURN count(*) AS removed
