"""The knowledge-graph model: vocabulary (kinds, deal types, statuses), records
(Loop, Leg; deals and entities travel as validated rows) and the schema whitelist of labels, relationship types
and property keys."""
