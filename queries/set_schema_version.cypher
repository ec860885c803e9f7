// name: set_schema_version
// description: Record the indexes and stored layout the graph now has, last in the atomic write that brought it up to them (index creation before it, the back-fills in it).
// params: $version (text: the stored layout and the store's index set)
// returns: version
MERGE (s:Schema)
SET s.version = $version
RETURN s.version AS version
