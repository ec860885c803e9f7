// name: risk_flagged_loops
// description: Scored loops by risk flag (vendor_financing, round_trip, related_party, paper_loop, contingent_loop), highest score first within each flag; a loop with several flags is listed under each. Written by 'circfin score --write'. For one flag: MATCH (l:Loop) WHERE 'vendor_financing' IN l.flags RETURN l.key, l.score
// params: $limit (maximum rows)
// returns: flag, key, length, score, score_parts, scored_at
MATCH (l:Loop)
WHERE l.score IS NOT NULL
UNWIND l.flags AS flag
RETURN flag, l.key AS key, l.length AS length, l.score AS score, l.score_parts AS score_parts,
       l.scored_at AS scored_at
ORDER BY flag, score DESC, key
LIMIT $limit
