// name: reciprocal_pairs
// description: Pairs where one side funds the other (equity, loan, credit, warrant, backstop...) and the funded side buys from its funder (compute, chips, cloud, leases): invest one way, buy the other.
// params: $funding_types (list), $purchase_types (list), $statuses (list or null), $confidences (list or null: only deals of these confidences count), $as_of (day number or null: only deals dated on or before it count, each with its status as of that day)
// returns: funder_id, funder, funded_id, funded, funding_deals, funding_usd, funding_disclosed, purchase_deals, purchase_usd, purchase_disclosed
MATCH (a:Entity)-[f:PAYS]->(b:Entity)
WHERE f.type IN $funding_types AND ($as_of IS NULL OR (f.day IS NOT NULL AND f.day <= $as_of))
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN f.status ELSE coalesce(last([ev IN range(0, size(coalesce(f.ev_days, [])) - 1) WHERE f.ev_days[ev] <= $as_of | f.ev_statuses[ev]]), head(f.ev_statuses), f.status) END) IN $statuses) AND ($confidences IS NULL OR f.confidence IN $confidences)
WITH a, b, collect(f.deal_id) AS funding_deals, sum(f.amount_usd) AS funding_usd,
     count(f.amount_usd) AS funding_disclosed
MATCH (b)-[p:PAYS]->(a)
WHERE p.type IN $purchase_types AND ($as_of IS NULL OR (p.day IS NOT NULL AND p.day <= $as_of))
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN p.status ELSE coalesce(last([ev IN range(0, size(coalesce(p.ev_days, [])) - 1) WHERE p.ev_days[ev] <= $as_of | p.ev_statuses[ev]]), head(p.ev_statuses), p.status) END) IN $statuses) AND ($confidences IS NULL OR p.confidence IN $confidences)
WITH a, b, funding_deals, funding_usd, funding_disclosed, collect(p.deal_id) AS purchase_deals,
     sum(p.amount_usd) AS purchase_usd, count(p.amount_usd) AS purchase_disclosed
RETURN a.id AS funder_id, a.name AS funder, b.id AS funded_id, b.name AS funded,
       funding_deals, funding_usd, funding_disclosed, purchase_deals, purchase_usd, purchase_disclosed
ORDER BY funder_id, funded_id
