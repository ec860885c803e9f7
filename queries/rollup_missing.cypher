// name: rollup_missing
// description: Whether the graph holds PAYS relationships but no derived PAYS_TOP one (written before roll-ups existed, or every deal inside one group): then a write rebuilds the whole roll-up rather than only its own deals'. Stops at the first relationship of each type.
// params: (none)
// returns: missing
OPTIONAL MATCH (:Entity)-[r:PAYS]->(:Entity)
WITH r LIMIT 1
OPTIONAL MATCH (:Entity)-[t:PAYS_TOP]->(:Entity)
WITH r, t LIMIT 1
RETURN r IS NOT NULL AND t IS NULL AS missing
