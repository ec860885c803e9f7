// name: clear_rollup_deals
// description: Remove the derived PAYS_TOP relationships of the given deals (found by the deal_id index), before they are built again: the incremental roll-up of a write that changes no parent link.
// params: $ids (list of deal ids)
// returns: removed
UNWIND $ids AS id
MATCH ()-[r:PAYS_TOP {deal_id: id}]->()
DELETE r
RETURN count(*) AS removed
