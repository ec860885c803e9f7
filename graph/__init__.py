"""The knowledge graph: domain model, stores, and the in-memory loop engine."""
