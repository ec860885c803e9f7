// name: upsert_holdings
// description: Write dated holdings: one HOLDS relationship per holder, asset and as_of date; a row sets every field.
// params: $rows (list of maps: key, holder, asset, as_of, day, value_usd, shares, capacity, source_url)
// returns: holdings
UNWIND $rows AS row
MATCH (h:Entity {id: row.holder})
MATCH (a:Asset {id: row.asset})
MERGE (h)-[r:HOLDS {key: row.key}]->(a)
SET r.as_of = row.as_of, r.day = row.day, r.value_usd = row.value_usd, r.shares = row.shares,
    r.capacity = row.capacity, r.source_url = row.source_url
RETURN count(r) AS holdings
