"""circfin: is the AI boom financing itself in circles?

Deals go into a graph database (embedded FalkorDB, or Neo4j); loops,
concentration and shock propagation come out.

>>> import circfin
>>> [loop.key for loop in circfin.find_loops(__import__("pandas").DataFrame({
...     "deal_id": ["d1", "d2"], "payer": ["nvidia", "openai"], "payee": ["openai", "nvidia"]}))]
['nvidia>openai']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CircfinError, InputError, StoreError, StoreUnavailable, ValidationError

__version__ = "0.1.0"

__all__ = [
    "CircfinError",
    "InputError",
    "Leg",
    "Loop",
    "StoreError",
    "StoreUnavailable",
    "ValidationError",
    "find_loops",
    "ingest",
    "loops_closed_by",
    "open_store",
]

if TYPE_CHECKING:  # pragma: no cover
    from .graph.model import Leg, Loop
    from .ingest import ingest
    from .loops.engine import find_loops, loops_closed_by
    from .store import open_store

_LAZY = {
    "Leg": ("circfin.graph.model", "Leg"),
    "Loop": ("circfin.graph.model", "Loop"),
    "find_loops": ("circfin.loops.engine", "find_loops"),
    "loops_closed_by": ("circfin.loops.engine", "loops_closed_by"),
    "open_store": ("circfin.store", "open_store"),
    "ingest": ("circfin.ingest", "ingest"),
}


def __getattr__(name: str) -> Any:
    # pandas, the engine and the records load on first use, so `circfin --help` stays quick.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'circfin' has no attribute {name!r}")
