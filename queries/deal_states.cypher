// name: deal_states
// description: Every stored deal's id, content hash and status history, in one scan: for an ingest of many deals, to find case twins of its ids and tell its unchanged rows apart (see deal_hashes).
// params: (none)
// returns: deal_id, hash, ev_days, ev_statuses
MATCH (d:Deal)
RETURN d.id AS deal_id, d.hash AS hash, d.ev_days AS ev_days, d.ev_statuses AS ev_statuses
