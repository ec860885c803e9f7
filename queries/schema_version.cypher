// name: schema_version
// description: The indexes and stored layout the graph was last brought up to (set_schema_version), or null for a graph written before it was kept: an ingest of a graph at the current version skips creating indexes and looks up only the deals and names its input uses.
// params: (none)
// returns: version
OPTIONAL MATCH (s:Schema)
RETURN max(s.version) AS version
