// name: add_participants
// description: Link each member to its deal with its side, share and role (share_basis says whether the share was disclosed or is an even split of the rest; an arranger holds no share).
// params: $rows (list of maps: deal_id, side, member, share, share_basis, role, source_url)
// returns: members
UNWIND $rows AS row
MATCH (d:Deal {id: row.deal_id})
MATCH (m:Entity {id: row.member})
CREATE (m)-[:MEMBER_OF {side: row.side, share: row.share, share_basis: row.share_basis,
                        role: row.role, source_url: row.source_url}]->(d)
RETURN count(*) AS members
