// name: backfill_deal_keys
// description: Give every deal written before Deal.key existed its key (the id lower-cased; ids are ASCII), once, in the write that brings the graph up to the current schema version.
// params: (none)
// returns: filled
MATCH (d:Deal)
WHERE d.key IS NULL
SET d.key = toLower(d.id)
RETURN count(d) AS filled
