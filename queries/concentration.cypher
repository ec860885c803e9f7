// name: concentration
// description: How concentrated each entity's inflows (who pays it) and outflows (whom it pays) are, by disclosed amount: the top counterparty's share and the Herfindahl-Hirschman index (sum of squared shares, 0..1).
// params: $statuses (list or null), $confidences (list or null: only deals of these confidences count), $as_of (day number or null: only deals dated on or before it count, each with its status as of that day)
// returns: id, name, direction, total_usd, counterparties, top_usd, top_ids, hhi
MATCH (e:Entity)<-[r:PAYS]-(c:Entity)
WHERE r.amount_usd IS NOT NULL AND ($as_of IS NULL OR (r.day IS NOT NULL AND r.day <= $as_of))
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN r.status ELSE coalesce(last([ev IN range(0, size(coalesce(r.ev_days, [])) - 1) WHERE r.ev_days[ev] <= $as_of | r.ev_statuses[ev]]), head(r.ev_statuses), r.status) END) IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
WITH e, c, sum(r.amount_usd) AS amount
WITH e, collect({id: c.id, amount: amount}) AS parts, sum(amount) AS total
WHERE total > 0
WITH e, parts, total, reduce(m = 0.0, p IN parts | CASE WHEN p.amount > m THEN p.amount ELSE m END) AS top
RETURN e.id AS id, e.name AS name, 'in' AS direction, total AS total_usd, size(parts) AS counterparties,
       top AS top_usd, [p IN parts WHERE p.amount = top | p.id] AS top_ids,
       reduce(h = 0.0, p IN parts | h + (p.amount / total) * (p.amount / total)) AS hhi
UNION ALL
MATCH (e:Entity)-[r:PAYS]->(c:Entity)
WHERE r.amount_usd IS NOT NULL AND ($as_of IS NULL OR (r.day IS NOT NULL AND r.day <= $as_of))
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN r.status ELSE coalesce(last([ev IN range(0, size(coalesce(r.ev_days, [])) - 1) WHERE r.ev_days[ev] <= $as_of | r.ev_statuses[ev]]), head(r.ev_statuses), r.status) END) IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
WITH e, c, sum(r.amount_usd) AS amount
WITH e, collect({id: c.id, amount: amount}) AS parts, sum(amount) AS total
WHERE total > 0
WITH e, parts, total, reduce(m = 0.0, p IN parts | CASE WHEN p.amount > m THEN p.amount ELSE m END) AS top
RETURN e.id AS id, e.name AS name, 'out' AS direction, total AS total_usd, size(parts) AS counterparties,
       top AS top_usd, [p IN parts WHERE p.amount = top | p.id] AS top_ids,
       reduce(h = 0.0, p IN parts | h + (p.amount / total) * (p.amount / total)) AS hhi
