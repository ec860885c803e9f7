// name: ensure_entities
// description: Create entities that deals name but no entities file defines (kind 'other'); existing ones are left as they are.
// params: $rows (list of maps: id, name, name_keys)
// returns: entities
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
ON CREATE SET e.name = row.name, e.kind = 'other', e.aliases = [], e.name_keys = row.name_keys
RETURN count(e) AS entities
