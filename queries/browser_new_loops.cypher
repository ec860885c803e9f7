// name: browser_new_loops
// description: The loops the latest report found that the report before it did not, drawn as loop -> payer entities (THROUGH carries each leg's deal ids and total).
// params: (none)
// returns: l, t, e, key
MATCH (r:ReportRun)
WITH r ORDER BY r.id DESC LIMIT 2
WITH collect(r) AS runs
WITH runs[0].keys AS latest, CASE WHEN size(runs) > 1 THEN runs[1].keys ELSE [] END AS before
MATCH (l:Loop)-[t:THROUGH]->(e:Entity)
WHERE l.key IN latest AND NOT l.key IN before
RETURN l, t, e, l.key AS key
ORDER BY key, e.id
