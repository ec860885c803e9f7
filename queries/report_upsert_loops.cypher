// name: report_upsert_loops
// description: Record the loops a report run saw: one Loop node per key, first seen at its first run, last seen at this one.
// params: $rows (list of maps: key, ids, length), $at (the run's timestamp, ISO 8601)
// returns: loops
UNWIND $rows AS row
MERGE (l:Loop {key: row.key})
ON CREATE SET l.first_seen = $at
SET l.ids = row.ids, l.length = row.length, l.last_seen = $at
RETURN count(l) AS loops
