// name: reciprocal_pairs
// description: Pairs where one side funds the other (equity, loan, credit, warrant, backstop...) and the funded side buys from its funder (compute, chips, cloud, leases): invest one way, buy the other.
// params: $funding_types (list), $purchase_types (list), $statuses (list or null)
// returns: funder_id, funder, funded_id, funded, funding_deals, funding_usd, funding_disclosed, purchase_deals, purchase_usd, purchase_disclosed
MATCH (a:Entity)-[f:PAYS]->(b:Entity)
WHERE f.type IN $funding_types AND ($statuses IS NULL OR f.status IN $statuses)
WITH a, b, collect(f.deal_id) AS funding_deals, sum(f.amount_usd) AS funding_usd,
     count(f.amount_usd) AS funding_disclosed
MATCH (b)-[p:PAYS]->(a)
WHERE p.type IN $purchase_types AND ($statuses IS NULL OR p.status IN $statuses)
WITH a, b, funding_deals, funding_usd, funding_disclosed, collect(p.deal_id) AS purchase_deals,
     sum(p.amount_usd) AS purchase_usd, count(p.amount_usd) AS purchase_disclosed
RETURN a.id AS funder_id, a.name AS funder, b.id AS funded_id, b.name AS funded,
       funding_deals, funding_usd, funding_disclosed, purchase_deals, purchase_usd, purchase_disclosed
ORDER BY funder_id, funded_id
