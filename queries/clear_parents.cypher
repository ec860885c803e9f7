// name: clear_parents
// description: Remove the PART_OF links of the given entities before they are set again.
// params: $ids (list of entity ids)
// returns: removed
UNWIND $ids AS id
MATCH (:Entity {id: id})-[r:PART_OF]->(:Entity)
DELETE r
RETURN count(*) AS removed
