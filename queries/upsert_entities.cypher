// name: upsert_entities
// description: Create or update entities from validated rows; a row sets every field (empty fields remove the property). Financial figures live on dated Financials nodes; the figures older versions kept on the entity are removed.
// params: $rows (list of maps: id, name, kind, aliases, name_keys, country, source_url, sec_cik, tickers, lei, cusips)
// returns: entities
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
// One map replacing every property (so the figures older versions kept go too), not
// one SET per property: FalkorDB 4.16 can remove the wrong property when one SET
// clause removes several.
SET e = {id: row.id, name: row.name, kind: row.kind, aliases: row.aliases,
         name_keys: row.name_keys, country: row.country, source_url: row.source_url,
         sec_cik: row.sec_cik, tickers: row.tickers, lei: row.lei, cusips: row.cusips}
RETURN count(e) AS entities
