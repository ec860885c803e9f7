"""The graph store interface, and how a store spec picks an implementation.

A store runs Cypher. Reads return rows as plain dicts of Python values (no
driver types); a write is a list of statements applied all-or-nothing.

    embedded (default)             FalkorDB server run by circfin (see embedded.py)
    bolt://, neo4j://, neo4j+s://  Neo4j through the official driver
    falkordb://, redis://, rediss://, unix://   an external FalkorDB server
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from ..errors import InputError

__all__ = ["GraphStore", "Statement", "open_store", "redact"]

Statement = tuple[str, Mapping[str, Any]]

NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
FALKOR_SCHEMES = ("falkordb", "falkor", "redis", "rediss", "unix")


@runtime_checkable
class GraphStore(Protocol):
    """What circfin needs from a graph database."""

    dialect: str  # "falkordb" or "neo4j"

    def read(self, query: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        """Run a read query; rows as dicts keyed by the RETURN columns. With
        ``timeout_ms`` the server stops the query after that long (QueryTimeout)."""
        ...

    def write(self, statements: Sequence[Statement]) -> None:
        """Apply the statements atomically: all of them, or none, even when one
        of them fails at run time."""
        ...

    def ensure_schema(self) -> None:
        """Create indexes and constraints; safe to call again."""
        ...

    def describe(self) -> str:
        """Where the store is, for people (never includes credentials)."""
        ...

    def close(self) -> None: ...


def redact(url: str) -> str:
    """A URL with any password removed, fit to show.

    >>> redact("neo4j+s://neo4j:hunter2@db.example.com:7687")
    'neo4j+s://neo4j:***@db.example.com:7687'
    """
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = parts.username or ""
    netloc = f"{user}:***@{host}" if user else f"***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
