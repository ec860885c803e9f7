// name: deal_states
// description: Every stored deal's id and content hash, in one scan: for an ingest of many deals, to find case twins of its ids and tell its unchanged rows apart (see deal_hashes). The status histories come from deal_histories, which returns only the deals that have one: most have none, and two empty lists a deal were half of what reading 100,000 deals back cost.
// params: (none)
// returns: deal_id, hash
MATCH (d:Deal)
RETURN d.id AS deal_id, d.hash AS hash
