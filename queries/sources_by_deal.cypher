// name: sources_by_deal
// description: The stored further sources (rank 1 on; rank 0 is the deal's own source_url) of the given deals, to tell changed source lists from unchanged ones before writing.
// params: $ids (list of deal ids)
// returns: deal_id, rank, url, kind, publisher, published
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (d)-[c:CITES]->(s:Source)
WHERE c.rank > 0
RETURN d.id AS deal_id, c.rank AS rank, s.url AS url, s.kind AS kind,
       s.publisher AS publisher, s.published AS published
