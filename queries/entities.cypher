// name: entities
// description: Every entity with its parent and financials.
// params: (none)
// returns: id, name, kind, aliases, name_keys, country, parent, revenue_usd, equity_usd, market_cap_usd, backlog_usd, source_url
MATCH (e:Entity)
OPTIONAL MATCH (e)-[:PART_OF]->(p:Entity)
RETURN e.id AS id, e.name AS name, e.kind AS kind, e.aliases AS aliases,
       e.name_keys AS name_keys, e.country AS country, p.id AS parent,
       e.revenue_usd AS revenue_usd, e.equity_usd AS equity_usd,
       e.market_cap_usd AS market_cap_usd, e.backlog_usd AS backlog_usd,
       e.source_url AS source_url
ORDER BY id
