// name: hubs
// description: Each entity's deals, distinct counterparties and disclosed amounts, in and out: the hubs of the financing web.
// params: $statuses (list or null)
// returns: id, name, kind, in_deals, out_deals, in_partners, out_partners, in_usd, out_usd, degree, volume_usd
MATCH (e:Entity)
OPTIONAL MATCH (e)-[o:PAYS]->(y:Entity)
WHERE $statuses IS NULL OR o.status IN $statuses
WITH e, count(o) AS out_deals, sum(o.amount_usd) AS out_usd, count(DISTINCT y) AS out_partners
OPTIONAL MATCH (e)<-[i:PAYS]-(x:Entity)
WHERE $statuses IS NULL OR i.status IN $statuses
WITH e, out_deals, out_usd, out_partners, count(i) AS in_deals, sum(i.amount_usd) AS in_usd,
     count(DISTINCT x) AS in_partners
RETURN e.id AS id, e.name AS name, e.kind AS kind, in_deals, out_deals, in_partners, out_partners,
       in_usd, out_usd, in_partners + out_partners AS degree, in_usd + out_usd AS volume_usd
ORDER BY volume_usd DESC, degree DESC, id
