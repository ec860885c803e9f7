// name: loops
// description: Simple directed funding loops, each once (it starts at its smallest entity id), with every counting deal on each leg. A deal counts when it passes the filters; a path picks one counting deal per leg, so --within and --ordered hold for some choice of deals.
// params: $entity (entity id or null), $types (list or null), $statuses (list or null), $confidences (list or null: only deals of these confidences count), $min_amount (number or null), $since (day number or null), $until (day number or null), $within (days or null), $ordered (boolean), $as_of (day number or null: only deals dated on or before it count, each with its status as of that day from its ev_days/ev_statuses)
// bounds: *2..6 is replaced by the checked integers min_len..max_len (Cypher takes no parameter there)
// returns: ids, leg, payer_id, payee_id, payer, payee, deal_ids, amount_usd, disclosed, types, first_day, last_day
MATCH p = (a:Entity)-[:PAYS*2..6]->(a)
WITH a, nodes(p) AS ns, relationships(p) AS path_rels
WHERE all(n IN ns[1..-1] WHERE a.id < n.id)
  AND all(i IN range(1, size(ns) - 3) WHERE NOT ns[i] IN ns[i + 1..-1])
// Some engines list a closed path's relationships back to front: put them in flow order.
WITH a, CASE WHEN endNode(path_rels[0]) = startNode(path_rels[1]) THEN path_rels
             ELSE reverse(path_rels) END AS rs
WHERE ($entity IS NULL OR any(r IN rs WHERE startNode(r).id = $entity))
  AND all(r IN rs WHERE ($types IS NULL OR r.type IN $types)
      AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN r.status ELSE coalesce(last([ev IN range(0, size(coalesce(r.ev_days, [])) - 1) WHERE r.ev_days[ev] <= $as_of | r.ev_statuses[ev]]), head(r.ev_statuses), r.status) END) IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
      AND ($as_of IS NULL OR (r.day IS NOT NULL AND r.day <= $as_of))
      AND ($min_amount IS NULL OR (r.amount_usd IS NOT NULL AND r.amount_usd >= $min_amount))
      AND ($since IS NULL OR (r.day IS NOT NULL AND r.day >= $since))
      AND ($until IS NULL OR (r.day IS NOT NULL AND r.day <= $until)))
WITH rs, [r IN rs | r.day] AS days
WHERE ($within IS NULL
       OR (none(d IN days WHERE d IS NULL)
           AND reduce(hi = days[0], d IN days | CASE WHEN d > hi THEN d ELSE hi END)
             - reduce(lo = days[0], d IN days | CASE WHEN d < lo THEN d ELSE lo END) <= $within))
  AND ($ordered = false
       OR (none(d IN days WHERE d IS NULL)
           AND size([i IN range(0, size(days) - 1) WHERE days[i] > days[(i + 1) % size(days)]]) <= 1))
WITH DISTINCT [r IN rs | startNode(r).id] AS ids
UNWIND range(0, size(ids) - 1) AS leg
MATCH (x:Entity {id: ids[leg]})-[r:PAYS]->(y:Entity {id: ids[(leg + 1) % size(ids)]})
WHERE ($types IS NULL OR r.type IN $types)
  AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN r.status ELSE coalesce(last([ev IN range(0, size(coalesce(r.ev_days, [])) - 1) WHERE r.ev_days[ev] <= $as_of | r.ev_statuses[ev]]), head(r.ev_statuses), r.status) END) IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences)
  AND ($as_of IS NULL OR (r.day IS NOT NULL AND r.day <= $as_of))
  AND ($min_amount IS NULL OR (r.amount_usd IS NOT NULL AND r.amount_usd >= $min_amount))
  AND ($since IS NULL OR (r.day IS NOT NULL AND r.day >= $since))
  AND ($until IS NULL OR (r.day IS NOT NULL AND r.day <= $until))
WITH ids, leg, x, y, r
ORDER BY r.deal_id
WITH ids, leg, x, y, collect(r.deal_id) AS deal_ids, sum(r.amount_usd) AS amount_usd,
     count(r.amount_usd) AS disclosed, collect(DISTINCT r.type) AS types,
     min(r.day) AS first_day, max(r.day) AS last_day
RETURN ids, leg, x.id AS payer_id, y.id AS payee_id, x.name AS payer, y.name AS payee,
       deal_ids, amount_usd, disclosed, types, first_day, last_day
ORDER BY size(ids), ids, leg
