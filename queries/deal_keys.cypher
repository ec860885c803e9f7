// name: deal_keys
// description: The stored deals whose id equals one of the given ids when case is ignored, found by the Deal key index (key: the id lower-cased; ids are ASCII): the input's own deals (hash and history, to tell an unchanged row apart) and their case twins (ids that differ only in case, which validation refuses), in one read.
// params: $keys (list of lower-cased deal ids)
// returns: deal_id, hash, ev_days, ev_statuses
UNWIND $keys AS k
MATCH (d:Deal {key: k})
RETURN d.id AS deal_id, d.hash AS hash, d.ev_days AS ev_days, d.ev_statuses AS ev_statuses
