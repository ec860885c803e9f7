// name: candidates
// description: Every deal candidate found in filings, with its review, oldest first.
// params: (none)
// returns: id, filer, counterparty, items, date, filed, amount_usd, evidence, source_url, accession, status, found, reviewed, deal_id
MATCH (c:Candidate)
RETURN c.id AS id, c.filer AS filer, c.counterparty AS counterparty, c.items AS items, c.date AS date,
       c.filed AS filed, c.amount_usd AS amount_usd, c.evidence AS evidence, c.source_url AS source_url,
       c.accession AS accession, c.status AS status, c.found AS found, c.reviewed AS reviewed,
       c.deal_id AS deal_id
ORDER BY filed, id
