// name: set_parents
// description: Link subsidiaries, SPVs and JVs to their parent entity.
// params: $rows (list of maps: id, parent)
// returns: linked
UNWIND $rows AS row
MATCH (child:Entity {id: row.id})
MATCH (parent:Entity {id: row.parent})
MERGE (child)-[:PART_OF]->(parent)
RETURN count(*) AS linked
