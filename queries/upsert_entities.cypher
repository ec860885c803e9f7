// name: upsert_entities
// description: Create or update entities from validated rows; a row sets every field (empty fields remove the property).
// params: $rows (list of maps: id, name, kind, aliases, name_keys, country, revenue_usd, equity_usd, market_cap_usd, backlog_usd, source_url)
// returns: entities
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
SET e.name = row.name,
    e.kind = row.kind,
    e.aliases = row.aliases,
    e.name_keys = row.name_keys,
    e.country = row.country,
    e.revenue_usd = row.revenue_usd,
    e.equity_usd = row.equity_usd,
    e.market_cap_usd = row.market_cap_usd,
    e.backlog_usd = row.backlog_usd,
    e.source_url = row.source_url
RETURN count(e) AS entities
