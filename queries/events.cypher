// name: events
// description: Every deal's dated status changes, in the order they happened.
// params: (none)
// returns: deal_id, date, day, status, source_url
MATCH (d:Deal)-[:HAS_EVENT]->(e:Event)
RETURN d.id AS deal_id, e.date AS date, e.day AS day, e.status AS status,
       e.source_url AS source_url
ORDER BY deal_id, day
