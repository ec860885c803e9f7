// name: risk_upsert_loop_scores
// description: Record risk scores and flags on Loop nodes (one per key, created if no report has seen the loop yet). Sets only the score's properties, and ids and length, which a loop's key determines; a report's first_seen and last_seen stay as they are.
// params: $rows (list of maps: key, ids, length, score, flags, score_parts), $at (ISO 8601 timestamp of the scoring)
// returns: loops
UNWIND $rows AS row
MERGE (l:Loop {key: row.key})
SET l.ids = row.ids, l.length = row.length, l.score = row.score, l.flags = row.flags,
    l.score_parts = row.score_parts, l.scored_at = $at
RETURN count(l) AS loops
