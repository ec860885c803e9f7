// name: clear_rollup
// description: Remove the derived PAYS_TOP relationships before they are rebuilt.
// params: (none)
// returns: removed
MATCH (:Entity)-[r:PAYS_TOP]->(:Entity)
DELETE r
RETURN count(*) AS removed
