// name: deal_ids
// description: Every stored deal id, for validation to compare many input ids against in one read (case-insensitive twins).
// params: (none)
// returns: deal_id
MATCH (d:Deal)
RETURN d.id AS deal_id
