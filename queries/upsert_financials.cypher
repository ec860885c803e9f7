// name: upsert_financials
// description: Write dated financials: one Financials node per entity and as_of date, (entity)-[:REPORTED]->(financials); a row sets every figure (an empty one removes it).
// params: $rows (list of maps: key, entity_id, as_of, day, revenue_usd, equity_usd, total_assets_usd, total_liabilities_usd, market_cap_usd, backlog_usd, basis, source_url)
// returns: financials
UNWIND $rows AS row
MATCH (e:Entity {id: row.entity_id})
MERGE (f:Financials {key: row.key})
SET f.entity_id = row.entity_id,
    f.as_of = row.as_of,
    f.day = row.day,
    f.revenue_usd = row.revenue_usd,
    f.equity_usd = row.equity_usd,
    f.total_assets_usd = row.total_assets_usd,
    f.total_liabilities_usd = row.total_liabilities_usd,
    f.market_cap_usd = row.market_cap_usd,
    f.backlog_usd = row.backlog_usd,
    f.basis = row.basis,
    f.source_url = row.source_url
MERGE (e)-[:REPORTED]->(f)
RETURN count(f) AS financials
