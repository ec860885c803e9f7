// name: add_participants
// description: Link each member to its deal with its side and share (share_basis says whether the share was disclosed or is an even split of the rest).
// params: $rows (list of maps: deal_id, side, member, share, share_basis, source_url)
// returns: members
UNWIND $rows AS row
MATCH (d:Deal {id: row.deal_id})
MATCH (m:Entity {id: row.member})
CREATE (m)-[:MEMBER_OF {side: row.side, share: row.share, share_basis: row.share_basis,
                        source_url: row.source_url}]->(d)
RETURN count(*) AS members
