// name: clear_asset_issuers
// description: Remove the issuer links of the given assets before their rows are written again.
// params: $ids (list of asset ids)
// returns: cleared
UNWIND $ids AS id
MATCH (:Asset {id: id})-[r:ISSUED_BY]->(:Entity)
DELETE r
RETURN count(*) AS cleared
