// name: sources
// description: Every source each deal cites: rank 0 is the deal's own source_url (kept on the Deal), ranks 1.. its further sources (Source nodes). Unordered: sort by deal_id, rank.
// params: (none)
// returns: deal_id, rank, url, kind, publisher, published
MATCH (d:Deal)
RETURN d.id AS deal_id, 0 AS rank, d.source_url AS url, d.source_kind AS kind,
       null AS publisher, null AS published
UNION ALL
MATCH (d:Deal)-[c:CITES]->(s:Source)
WHERE c.rank > 0
RETURN d.id AS deal_id, c.rank AS rank, s.url AS url, s.kind AS kind,
       s.publisher AS publisher, s.published AS published
