// name: clear_deal_links
// description: Remove the MADE and TO links between deal nodes and entities for deals about to be written again.
// params: $ids (list of deal ids)
// returns: removed
UNWIND $ids AS id
MATCH (d:Deal {id: id})-[r:MADE|TO]-(:Entity)
DELETE r
RETURN count(*) AS removed
