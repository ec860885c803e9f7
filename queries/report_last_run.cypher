// name: report_last_run
// description: The latest report run (highest id): when it ran and the keys of the loops it saw. Its loops' state is on their Loop nodes.
// params: (none)
// returns: id, at, keys
MATCH (r:ReportRun)
RETURN r.id AS id, r.at AS at, r.keys AS keys
ORDER BY id DESC, at DESC
LIMIT 1
