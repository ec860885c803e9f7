// name: create_candidates
// description: Record deal candidates found in filings, as Candidate nodes (outside the Deal label, so no analysis counts them); the caller writes only ids the graph does not hold.
// params: $rows (list of maps: id, filer, counterparty, items, date, filed, amount_usd, evidence, source_url, accession, status, found)
// returns: candidates
UNWIND $rows AS row
CREATE (c:Candidate)
SET c = row
RETURN count(c) AS candidates
