// name: deal_hashes
// description: The content hash and status history of the stored deals among the given ids: a deal whose hash matches its input row is unchanged and not written (a deal stored before hashes existed has none and is compared field by field).
// params: $ids (list of deal ids)
// returns: deal_id, hash, ev_days, ev_statuses
MATCH (d:Deal)
WHERE d.id IN $ids
RETURN d.id AS deal_id, d.hash AS hash, d.ev_days AS ev_days, d.ev_statuses AS ev_statuses
