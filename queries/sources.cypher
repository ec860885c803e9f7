// name: sources
// description: Every source each deal cites, rank 0 being the deal's own source_url.
// params: (none)
// returns: deal_id, rank, url, kind, publisher, published
MATCH (d:Deal)-[c:CITES]->(s:Source)
RETURN d.id AS deal_id, c.rank AS rank, s.url AS url, s.kind AS kind,
       s.publisher AS publisher, s.published AS published
ORDER BY deal_id, rank
