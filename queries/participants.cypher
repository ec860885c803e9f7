// name: participants
// description: The members of syndicated deals (loans, bond books, funding rounds, JVs), with their side and share.
// params: (none)
// returns: deal_id, side, member, share, share_basis, role, source_url
MATCH (m:Entity)-[r:MEMBER_OF]->(d:Deal)
RETURN d.id AS deal_id, r.side AS side, m.id AS member, r.share AS share,
       r.share_basis AS share_basis, coalesce(r.role, 'member') AS role, r.source_url AS source_url
ORDER BY deal_id, side, member
