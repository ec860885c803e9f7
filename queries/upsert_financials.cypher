// name: upsert_financials
// description: Write dated financials: one Financials node per entity and as_of date, (entity)-[:REPORTED]->(financials); a row sets every figure (an empty one removes it).
// params: $rows (list of maps: key, entity_id, as_of, day, revenue_usd, equity_usd, total_assets_usd, total_liabilities_usd, market_cap_usd, backlog_usd, shares_outstanding, public_float_usd, basis, source_url)
// returns: financials
UNWIND $rows AS row
MATCH (e:Entity {id: row.entity_id})
MERGE (f:Financials {key: row.key})
// One map, not one SET per property: FalkorDB 4.16 can remove the wrong property
// when one SET clause removes several (sets several to null).
SET f = {key: row.key, entity_id: row.entity_id, as_of: row.as_of, day: row.day,
         revenue_usd: row.revenue_usd, equity_usd: row.equity_usd,
         total_assets_usd: row.total_assets_usd, total_liabilities_usd: row.total_liabilities_usd,
         market_cap_usd: row.market_cap_usd, backlog_usd: row.backlog_usd,
         shares_outstanding: row.shares_outstanding, public_float_usd: row.public_float_usd, basis: row.basis,
         source_url: row.source_url}
MERGE (e)-[:REPORTED]->(f)
RETURN count(f) AS financials
