// name: holdings
// description: Every dated holding of a traded asset, oldest first; capacity own (the holder's balance sheet, also for a holding stored without one) or managed (held for clients).
// params: (none)
// returns: holder, asset, as_of, day, value_usd, shares, capacity, source_url
MATCH (h:Entity)-[r:HOLDS]->(a:Asset)
RETURN h.id AS holder, a.id AS asset, r.as_of AS as_of, r.day AS day, r.value_usd AS value_usd,
       r.shares AS shares, coalesce(r.capacity, 'own') AS capacity, r.source_url AS source_url
ORDER BY day, holder, asset
