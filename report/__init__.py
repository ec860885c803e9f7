"""Periodic reports of new circular deals, the interactive graph page, and a Neo4j Browser kit.

* :func:`graph_page` -- a self-contained HTML page of the financing web with loops highlighted.
* :func:`write_report` -- report.md, report.html and report.json of what changed since the last
  report, whose state is kept in the graph itself.
* :func:`browser_kit` -- a GraSS style, the query catalogue as Browser favourites and a guide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["BrowserKit", "ReportResult", "browser_kit", "graph_page", "write_report"]

if TYPE_CHECKING:  # pragma: no cover
    from .browser import BrowserKit, browser_kit
    from .graph_page import graph_page
    from .report import ReportResult, write_report

_LAZY = {
    "BrowserKit": "browser", "browser_kit": "browser", "graph_page": "graph_page",
    "ReportResult": "report", "write_report": "report",
}


def __getattr__(name: str) -> Any:
    # pandas and networkx load on first use, so `circfin --help` stays quick.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
