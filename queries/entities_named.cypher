// name: entities_named
// description: The entities one of the given name keys names (as its id, name or alias; the name_keys array index), and every entity sharing a name key with one of them, with the columns of the entities query: what validation resolves a deals file's payers and payees against, instead of every entity.
// params: $keys (list of name keys, ingest.validate.name_key)
// returns: id, name, kind, aliases, name_keys, country, parent, source_url, sec_cik, tickers, lei, cusips
UNWIND $keys AS k
MATCH (e:Entity)
WHERE k IN e.name_keys
WITH DISTINCT e
UNWIND e.name_keys AS x
MATCH (o:Entity)
WHERE x IN o.name_keys
WITH DISTINCT o AS e
OPTIONAL MATCH (e)-[:PART_OF]->(p:Entity)
RETURN e.id AS id, e.name AS name, e.kind AS kind, e.aliases AS aliases,
       e.name_keys AS name_keys, e.country AS country, p.id AS parent,
       e.source_url AS source_url, e.sec_cik AS sec_cik, e.tickers AS tickers, e.lei AS lei,
       e.cusips AS cusips
ORDER BY id
