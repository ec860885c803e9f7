// name: self_funded_demand
// description: The share of each entity's inflows (by disclosed amount) paid by entities it funded: payers to which it made a funding deal (equity, loan, credit, warrant, backstop...). High shares are vendor financing: the customer's money came from the vendor.
// params: $funding_types (list), $statuses (list or null), $confidences (list or null: only deals of these confidences count), $as_of (day number or null: only deals dated on or before it count, each with its status as of that day)
// returns: id, name, inflow_usd, self_funded_usd, share, funded_payers
MATCH (e:Entity)<-[r:PAYS]-(c:Entity)
WHERE r.amount_usd IS NOT NULL AND ($as_of IS NULL OR (r.day IS NOT NULL AND r.day <= $as_of))
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN r.status ELSE coalesce(last([ev IN range(0, size(coalesce(r.ev_days, [])) - 1) WHERE r.ev_days[ev] <= $as_of | r.ev_statuses[ev]]), head(r.ev_statuses), r.status) END) IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
WITH e, c, sum(r.amount_usd) AS amount
OPTIONAL MATCH (e)-[f:PAYS]->(c)
WHERE f.type IN $funding_types AND ($as_of IS NULL OR (f.day IS NOT NULL AND f.day <= $as_of))
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN f.status ELSE coalesce(last([ev IN range(0, size(coalesce(f.ev_days, [])) - 1) WHERE f.ev_days[ev] <= $as_of | f.ev_statuses[ev]]), head(f.ev_statuses), f.status) END) IN $statuses) AND ($confidences IS NULL OR f.confidence IN $confidences)
WITH e, c, amount, count(f) AS fundings
WITH e, sum(amount) AS inflow,
     sum(CASE WHEN fundings > 0 THEN amount ELSE 0 END) AS self_funded,
     collect(CASE WHEN fundings > 0 THEN c.id END) AS funded_payers
WHERE inflow > 0
RETURN e.id AS id, e.name AS name, inflow AS inflow_usd, self_funded AS self_funded_usd,
       self_funded / inflow AS share, funded_payers
ORDER BY share DESC, inflow_usd DESC, id
