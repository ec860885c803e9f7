// name: hubs
// description: Each entity's deals, distinct counterparties and disclosed amounts, in and out: the hubs of the financing web.
// params: $statuses (list or null), $confidences (list or null: only deals of these confidences count), $as_of (day number or null: only deals dated on or before it count, each with its status as of that day)
// returns: id, name, kind, in_deals, out_deals, in_partners, out_partners, in_usd, out_usd, degree, volume_usd
MATCH (e:Entity)
OPTIONAL MATCH (e)-[o:PAYS]->(y:Entity)
WHERE ($as_of IS NULL OR (o.day IS NOT NULL AND o.day <= $as_of)) AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN o.status ELSE coalesce(last([ev IN range(0, size(coalesce(o.ev_days, [])) - 1) WHERE o.ev_days[ev] <= $as_of | o.ev_statuses[ev]]), head(o.ev_statuses), o.status) END) IN $statuses) AND ($confidences IS NULL OR o.confidence IN $confidences)
WITH e, count(o) AS out_deals, sum(o.amount_usd) AS out_usd, count(DISTINCT y) AS out_partners
OPTIONAL MATCH (e)<-[i:PAYS]-(x:Entity)
WHERE ($as_of IS NULL OR (i.day IS NOT NULL AND i.day <= $as_of)) AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN i.status ELSE coalesce(last([ev IN range(0, size(coalesce(i.ev_days, [])) - 1) WHERE i.ev_days[ev] <= $as_of | i.ev_statuses[ev]]), head(i.ev_statuses), i.status) END) IN $statuses) AND ($confidences IS NULL OR i.confidence IN $confidences)
WITH e, out_deals, out_usd, out_partners, count(i) AS in_deals, sum(i.amount_usd) AS in_usd,
     count(DISTINCT x) AS in_partners
RETURN e.id AS id, e.name AS name, e.kind AS kind, in_deals, out_deals, in_partners, out_partners,
       in_usd, out_usd, in_partners + out_partners AS degree, in_usd + out_usd AS volume_usd
ORDER BY volume_usd DESC, degree DESC, id
