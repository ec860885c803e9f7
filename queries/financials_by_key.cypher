// name: financials_by_key
// description: The stored financials among the given keys (entity id and as_of date), to tell new, changed and unchanged rows apart before writing.
// params: $keys (list of keys, "<entity id>|<as_of>")
// returns: key, entity_id, as_of, day, revenue_usd, equity_usd, total_assets_usd, total_liabilities_usd, market_cap_usd, backlog_usd, shares_outstanding, public_float_usd, basis, source_url
MATCH (f:Financials)
WHERE f.key IN $keys
RETURN f.key AS key, f.entity_id AS entity_id, f.as_of AS as_of, f.day AS day,
       f.revenue_usd AS revenue_usd, f.equity_usd AS equity_usd,
       f.total_assets_usd AS total_assets_usd, f.total_liabilities_usd AS total_liabilities_usd,
       f.market_cap_usd AS market_cap_usd, f.backlog_usd AS backlog_usd, f.shares_outstanding AS shares_outstanding,
       f.public_float_usd AS public_float_usd, f.basis AS basis,
       f.source_url AS source_url
