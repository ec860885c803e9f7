// name: participants_by_deal
// description: The stored members of the given deals, to tell changed memberships from unchanged ones before writing.
// params: $ids (list of deal ids)
// returns: deal_id, side, member, share, share_basis, role, source_url
MATCH (d:Deal)
WHERE d.id IN $ids
MATCH (m:Entity)-[r:MEMBER_OF]->(d)
RETURN d.id AS deal_id, r.side AS side, m.id AS member, r.share AS share,
       r.share_basis AS share_basis, coalesce(r.role, 'member') AS role, r.source_url AS source_url
