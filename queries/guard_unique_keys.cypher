// name: guard_unique_keys
// description: Stop a write when one of the given name keys (ids, names and aliases, normalised) now belongs to more than one entity. Runs last in an ingest's atomic write: a clash, e.g. from a concurrent ingest, divides by zero, which fails the write and leaves the graph as it was.
// params: $keys (list of the name keys the write touched)
// returns: ok
UNWIND $keys AS k
MATCH (e:Entity)
WHERE k IN e.name_keys
WITH k, count(e) AS holders
WHERE holders > 1
WITH count(k) AS clashes
WITH 1 / CASE WHEN clashes = 0 THEN 1 ELSE 0 END AS ok
RETURN ok
