// name: rollup_state
// description: Whether the derived PAYS_TOP relationships exist beside the PAYS ones (a graph written before roll-ups existed has none).
// params: (none)
// returns: pays, pays_top
OPTIONAL MATCH (:Entity)-[r:PAYS]->(:Entity)
WITH count(r) AS pays
OPTIONAL MATCH (:Entity)-[t:PAYS_TOP]->(:Entity)
RETURN pays, count(t) AS pays_top
