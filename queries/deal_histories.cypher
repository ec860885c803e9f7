// name: deal_histories
// description: The status history of every stored deal that has one (its events' days and statuses, oldest first), in one scan: read beside deal_states. A deal left out has none.
// params: (none)
// returns: deal_id, ev_days, ev_statuses
MATCH (d:Deal)
WHERE size(d.ev_days) > 0 OR size(d.ev_statuses) > 0
RETURN d.id AS deal_id, d.ev_days AS ev_days, d.ev_statuses AS ev_statuses
