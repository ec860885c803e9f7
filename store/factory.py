"""How a store spec picks an implementation: the adapters load only when picked.

    embedded (default)             FalkorDB server run by circfin (see embedded.py)
    bolt://, neo4j://, neo4j+s://  Neo4j through the official driver
    falkordb://, redis://, rediss://, unix://   an external FalkorDB server
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputError
from .base import FALKOR_SCHEMES, NEO4J_SCHEMES, GraphStore, redact

__all__ = ["open_store"]


def open_store(spec: str | None = None, *, home: Path | str | None = None,
               graph: str | None = None) -> GraphStore:
    """Open the store a spec names ("embedded", a Neo4j URI or a FalkorDB URI).

    Credentials for Neo4j come from the URI or ``NEO4J_USER``/``NEO4J_PASSWORD``.
    """
    spec = (spec or "embedded").strip()
    graph = graph or os.environ.get("CIRCFIN_GRAPH") or "circfin"
    if spec == "embedded":
        from .embedded import EmbeddedServer
        from .falkordb_store import FalkorDBStore

        server = EmbeddedServer(home)
        return FalkorDBStore(server.connect(), graph=graph,
                             where=f"embedded FalkorDB ({server.socket_path})",
                             log_file=server.log_file)
    scheme = urlsplit(spec).scheme.lower()
    if scheme in NEO4J_SCHEMES:
        from .neo4j_store import Neo4jStore

        return Neo4jStore.from_uri(spec, database=os.environ.get("NEO4J_DATABASE"))
    if scheme in FALKOR_SCHEMES:
        from .falkordb_store import FalkorDBStore

        return FalkorDBStore.from_url(spec, graph=graph)
    raise InputError(f"unknown store {redact(spec)!r}: use 'embedded', a Neo4j URI "
                     f"(bolt://, neo4j://, neo4j+s://) or a FalkorDB URI (falkordb://, redis://)")
