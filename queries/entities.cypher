// name: entities
// description: Every entity with its parent (financials are dated nodes: see the financials query).
// params: (none)
// returns: id, name, kind, aliases, name_keys, country, parent, source_url, sec_cik, tickers, lei, cusips
MATCH (e:Entity)
OPTIONAL MATCH (e)-[:PART_OF]->(p:Entity)
RETURN e.id AS id, e.name AS name, e.kind AS kind, e.aliases AS aliases,
       e.name_keys AS name_keys, e.country AS country, p.id AS parent,
       e.source_url AS source_url, e.sec_cik AS sec_cik, e.tickers AS tickers, e.lei AS lei,
       e.cusips AS cusips
ORDER BY id
