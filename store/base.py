"""The graph store interface: what circfin needs from a graph database.

A store runs Cypher. Reads return rows as plain dicts of Python values (no
driver types); a write is a list of statements applied all-or-nothing.
:func:`circfin.store.open_store` (in ``factory.py``) picks the implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FALKOR_SCHEMES", "NEO4J_SCHEMES", "GraphStore", "Statement", "redact", "schema_digest"]

Statement = tuple[str, Mapping[str, Any]]

NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
FALKOR_SCHEMES = ("falkordb", "falkor", "redis", "rediss", "unix")


@runtime_checkable
class GraphStore(Protocol):
    """What circfin needs from a graph database."""

    dialect: str  # "falkordb" or "neo4j"
    # What ensure_schema creates, as a short digest (schema_digest): a graph that
    # records it (the ingest keeps it on a Schema node) needs no ensure_schema.
    schema_version: str

    def read(self, query: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        """Run a read query; rows as dicts keyed by the RETURN columns. With
        ``timeout_ms`` the server stops the query after that long (QueryTimeout)."""
        ...

    def read_many(self, reads: Sequence[Statement], *,
                  timeout_ms: int | None = None) -> list[list[dict[str, Any]]]:
        """The rows of each of several read queries (each as :meth:`read`), in as few
        round trips to the server as the store allows."""
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


def schema_digest(dialect: str, statements: Sequence[object]) -> str:
    """A short name for a set of schema statements: it changes when they do.

    >>> schema_digest("x", ["CREATE INDEX ..."]) == schema_digest("x", ["CREATE INDEX ..."])
    True
    """
    import hashlib

    return f"{dialect}-" + hashlib.blake2b(repr(list(statements)).encode(), digest_size=6).hexdigest()


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
