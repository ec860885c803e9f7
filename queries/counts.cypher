// name: counts
// description: How many entities, deals and PAYS relationships the graph holds.
// params: (none)
// returns: entities, deals, pays
OPTIONAL MATCH (e:Entity)
WITH count(e) AS entities
OPTIONAL MATCH (d:Deal)
WITH entities, count(d) AS deals
OPTIONAL MATCH (:Entity)-[r:PAYS]->(:Entity)
RETURN entities, deals, count(r) AS pays
