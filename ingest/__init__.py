"""Ingest deals and entities from CSV, JSON and YAML into the graph.

``circfin.ingest`` is both this package and the function that ingests: once
Python has imported the package it replaces the package's ``ingest``
attribute with the module, so the module itself is made callable, and
``circfin.ingest(store, paths)`` works every time, not only the first.
"""

import sys
import types
from typing import Any

from .pipeline import IngestReport, collect_files, delete_deals, ingest, plan_ingest

__all__ = ["IngestReport", "collect_files", "delete_deals", "ingest", "plan_ingest"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> IngestReport:
        return ingest(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
