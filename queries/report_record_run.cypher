// name: report_record_run
// description: Record a report run: its number, its timestamp and the keys of the loops it saw. Written last, in the same atomic write as its loops.
// params: $id (run number), $at (ISO 8601 timestamp), $keys (list of loop keys)
// returns: id
CREATE (r:ReportRun {id: $id, at: $at, keys: $keys})
RETURN r.id AS id
