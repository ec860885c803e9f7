// name: browser_report_runs
// description: The report runs recorded in the graph, latest first: run number, time and how many loops each saw.
// params: (none)
// returns: id, at, loops
MATCH (r:ReportRun)
RETURN r.id AS id, r.at AS at, size(r.keys) AS loops
ORDER BY id DESC
LIMIT 50
