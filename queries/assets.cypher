// name: assets
// description: Every traded asset with its issuer (an entity's listed equity has the entity's id).
// params: (none)
// returns: asset_id, name, class, issuer, depth_usd, source_url, implied
MATCH (a:Asset)
OPTIONAL MATCH (a)-[:ISSUED_BY]->(e:Entity)
RETURN a.id AS asset_id, a.name AS name, a.class AS class, e.id AS issuer,
       a.depth_usd AS depth_usd, a.source_url AS source_url, a.implied AS implied
ORDER BY asset_id
