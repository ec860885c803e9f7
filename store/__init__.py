"""Where the graph lives: the store protocol, how a spec picks a store, the
embedded FalkorDB server, and the FalkorDB and Neo4j adapters.

The adapters are imported only when :func:`open_store` picks one, so the
protocol costs nothing to import and never reaches for a database driver.
"""

from .base import GraphStore, Statement, redact
from .factory import open_store

__all__ = ["GraphStore", "Statement", "open_store", "redact"]
