// name: backfill_name_keys
// description: Set the name keys (ids, names and aliases, normalised) of entities whose stored ones lack some (written before name keys were kept), once, in the write that brings the graph up to the current schema version.
// params: $rows (list of maps: id, name_keys)
// returns: filled
UNWIND $rows AS row
MATCH (e:Entity {id: row.id})
SET e.name_keys = row.name_keys
RETURN count(e) AS filled
