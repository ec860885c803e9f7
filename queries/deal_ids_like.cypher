// name: deal_ids_like
// description: The stored deal ids that equal one of the given ids when case is ignored, so validation can refuse an input id that differs from a stored one only in case (ids are ASCII).
// params: $keys (list of lower-cased deal ids)
// returns: deal_id
MATCH (d:Deal)
WHERE toLower(d.id) IN $keys
RETURN d.id AS deal_id
