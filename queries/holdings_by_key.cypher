// name: holdings_by_key
// description: The stored holdings among the given keys (holder, asset and as_of date), to tell new, changed and unchanged rows apart before writing.
// params: $keys (list of keys, "<holder>|<asset>|<as_of>")
// returns: key, as_of, day, value_usd, shares, capacity, source_url
MATCH (:Entity)-[r:HOLDS]->(:Asset)
WHERE r.key IN $keys
RETURN r.key AS key, r.as_of AS as_of, r.day AS day, r.value_usd AS value_usd, r.shares AS shares,
       coalesce(r.capacity, 'own') AS capacity, r.source_url AS source_url
