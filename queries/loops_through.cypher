// name: loops_through
// description: Loops through one entity, starting and ending there, for exploring in Neo4j Browser (RETURN p draws them). Each loop once; parallel deals give one path per choice of deals.
// params: $entity (entity id), $statuses (list or null), $confidences (list or null: only deals of these confidences count), $as_of (day number or null: only deals dated on or before it count, each with its status as of that day)
// bounds: *2..6 is replaced by the checked integers min_len..max_len
// returns: p, ids, deal_ids
MATCH p = (e:Entity {id: $entity})-[:PAYS*2..6]->(e)
// Project the path before filtering: FalkorDB can evaluate nodes(p) in a WHERE on the
// MATCH itself before the path is complete.
WITH e, p, nodes(p) AS ns, relationships(p) AS path_rels
WHERE all(i IN range(1, size(ns) - 3) WHERE NOT ns[i] IN ns[i + 1..-1])
  AND none(n IN ns[1..-1] WHERE n = e)
  AND all(r IN path_rels WHERE ($as_of IS NULL OR (r.day IS NOT NULL AND r.day <= $as_of))
          AND ($statuses IS NULL OR (CASE WHEN $as_of IS NULL THEN r.status ELSE coalesce(last([ev IN range(0, size(coalesce(r.ev_days, [])) - 1) WHERE r.ev_days[ev] <= $as_of | r.ev_statuses[ev]]), head(r.ev_statuses), r.status) END) IN $statuses) AND ($confidences IS NULL OR r.confidence IN $confidences))
WITH e, p, CASE WHEN endNode(path_rels[0]) = startNode(path_rels[1])
                THEN path_rels ELSE reverse(path_rels) END AS rs
WITH e, p, rs, head([i IN range(0, size(rs) - 1) WHERE startNode(rs[i]) = e]) AS first
RETURN p, [i IN range(0, size(rs) - 1) | startNode(rs[(i + first) % size(rs)]).id] AS ids,
       [i IN range(0, size(rs) - 1) | rs[(i + first) % size(rs)].deal_id] AS deal_ids
