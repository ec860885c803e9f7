// name: upsert_entities
// description: Create or update entities from validated rows; a row sets every field (empty fields remove the property). Financial figures live on dated Financials nodes; the figures older versions kept on the entity are removed.
// params: $rows (list of maps: id, name, kind, aliases, name_keys, country, source_url)
// returns: entities
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
SET e.name = row.name,
    e.kind = row.kind,
    e.aliases = row.aliases,
    e.name_keys = row.name_keys,
    e.country = row.country,
    e.source_url = row.source_url,
    e.revenue_usd = null,
    e.equity_usd = null,
    e.market_cap_usd = null,
    e.backlog_usd = null
RETURN count(e) AS entities
