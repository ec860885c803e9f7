// name: upsert_assets
// description: Create or update traded assets from validated rows, each linked to its issuer when it has one; a row sets every field.
// params: $rows (list of maps: id, name, class, issuer, depth_usd, source_url, implied)
// returns: assets
UNWIND $rows AS row
MERGE (a:Asset {id: row.id})
// One map, not one SET per property (see upsert_financials).
SET a = {id: row.id, name: row.name, class: row.class, depth_usd: row.depth_usd,
         source_url: row.source_url, implied: row.implied}
WITH a, row
MATCH (e:Entity {id: row.issuer})
MERGE (a)-[:ISSUED_BY]->(e)
RETURN count(a) AS assets
