// name: add_sources
// description: Link each deal to the sources it cites (one Source node per URL, shared by every deal that cites it) with the source's rank among the deal's sources.
// params: $rows (list of maps: deal_id, url, kind, publisher, published, rank)
// returns: cited
UNWIND $rows AS row
MATCH (d:Deal {id: row.deal_id})
MERGE (s:Source {url: row.url})
SET s.kind = row.kind,
    s.publisher = coalesce(row.publisher, s.publisher),
    s.published = coalesce(row.published, s.published)
CREATE (d)-[:CITES {rank: row.rank}]->(s)
RETURN count(*) AS cited
