// name: add_events
// description: Add dated status changes to deals, each an Event node the deal links to.
// params: $rows (list of maps: deal_id, date, day, status, source_url)
// returns: events
UNWIND $rows AS row
MATCH (d:Deal {id: row.deal_id})
CREATE (d)-[:HAS_EVENT]->(:Event {date: row.date, day: row.day, status: row.status,
                                  source_url: row.source_url})
RETURN count(*) AS events
