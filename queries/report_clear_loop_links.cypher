// name: report_clear_loop_links
// description: Remove the THROUGH and HAS_DEAL links of loops about to be recorded again by a report run.
// params: $keys (list of loop keys)
// returns: removed
MATCH (l:Loop)-[r:THROUGH|HAS_DEAL]->()
WHERE l.key IN $keys
DELETE r
RETURN count(*) AS removed
