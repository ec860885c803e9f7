// name: events_by_deal
// description: The stored events of the given deals, to tell changed histories from unchanged ones before writing.
// params: $ids (list of deal ids)
// returns: deal_id, date, day, status, source_url
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (d)-[:HAS_EVENT]->(e:Event)
RETURN d.id AS deal_id, e.date AS date, e.day AS day, e.status AS status,
       e.source_url AS source_url
