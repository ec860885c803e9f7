// name: review_candidate
// description: Record the review of one deal candidate: accepted (with the deal it became) or rejected, and when.
// params: $id (candidate id), $status ("accepted" or "rejected"), $reviewed (ISO time), $deal_id (the deal's id, or null)
// returns: id
MATCH (c:Candidate {id: $id})
SET c.status = $status, c.reviewed = $reviewed, c.deal_id = $deal_id
RETURN c.id AS id
