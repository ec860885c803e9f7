"""Ingest deals and entities from CSV, JSON and YAML into the graph."""

from .pipeline import IngestReport, collect_files, delete_deals, ingest, plan_ingest

__all__ = ["IngestReport", "collect_files", "delete_deals", "ingest", "plan_ingest"]
