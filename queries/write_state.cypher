// name: write_state
// description: What an ingest asks of the graph before planning, in one read: the indexes and stored layout the graph was last brought up to (set_schema_version; null for a graph written before it was kept: then the ingest creates the indexes and back-fills), and whether it holds PAYS relationships but no derived PAYS_TOP one (then the write rebuilds the whole roll-up; see rollup_missing).
// params: (none)
// returns: version, rollup_missing
OPTIONAL MATCH (s:Schema)
WITH max(s.version) AS version
OPTIONAL MATCH (:Entity)-[r:PAYS]->(:Entity)
WITH version, r LIMIT 1
OPTIONAL MATCH (:Entity)-[t:PAYS_TOP]->(:Entity)
WITH version, r, t LIMIT 1
RETURN version, r IS NOT NULL AND t IS NULL AS rollup_missing
