// name: self_funded_demand
// description: The share of each entity's inflows (by disclosed amount) paid by entities it funded: payers to which it made a funding deal (equity, loan, credit, warrant, backstop...). High shares are vendor financing: the customer's money came from the vendor.
// params: $funding_types (list), $statuses (list or null)
// returns: id, name, inflow_usd, self_funded_usd, share, funded_payers
MATCH (e:Entity)<-[r:PAYS]-(c:Entity)
WHERE r.amount_usd IS NOT NULL AND ($statuses IS NULL OR r.status IN $statuses)
WITH e, c, sum(r.amount_usd) AS amount
OPTIONAL MATCH (e)-[f:PAYS]->(c)
WHERE f.type IN $funding_types AND ($statuses IS NULL OR f.status IN $statuses)
WITH e, c, amount, count(f) AS fundings
WITH e, sum(amount) AS inflow,
     sum(CASE WHEN fundings > 0 THEN amount ELSE 0 END) AS self_funded,
     collect(CASE WHEN fundings > 0 THEN c.id END) AS funded_payers
WHERE inflow > 0
RETURN e.id AS id, e.name AS name, inflow AS inflow_usd, self_funded AS self_funded_usd,
       self_funded / inflow AS share, funded_payers
ORDER BY share DESC, inflow_usd DESC, id
