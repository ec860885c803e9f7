// name: add_sources
// description: Link each deal to its further sources (rank 1 on; its own source_url stays on the Deal) (one Source node per URL, shared by every deal that cites it) with the source's rank among the deal's sources.
// params: $rows (list of maps: deal_id, url, kind, publisher, published, rank)
// returns: cited
UNWIND $rows AS row
MATCH (d:Deal {id: row.deal_id})
MERGE (s:Source {url: row.url})
// One map, not several SET items: FalkorDB 4.16 can remove the wrong property when one
// SET clause sets several to null.
SET s = {url: row.url, kind: row.kind, publisher: coalesce(row.publisher, s.publisher),
         published: coalesce(row.published, s.published)}
CREATE (d)-[:CITES {rank: row.rank}]->(s)
RETURN count(*) AS cited
