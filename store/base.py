"""The graph store interface: what circfin needs from a graph database.

A store runs Cypher. Reads return rows as plain dicts of Python values (no
driver types); a write is a list of statements applied all-or-nothing.
:func:`circfin.store.open_store` (in ``factory.py``) picks the implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FALKOR_SCHEMES", "NEO4J_SCHEMES", "REVISION_READ", "GraphStore", "Statement",
           "read_consistent", "redact", "revision_stamp", "schema_digest"]

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


# Every write of circfin's ends by giving the graph's one Revision node a new random
# token, in the same transaction (so the token changes exactly when data does). A
# reader that reads the token before and after its queries knows whether a write
# landed between them: see read_consistent.
REVISION_READ = "MATCH (r:Revision) RETURN r.token AS token"
_REVISION_STAMP = "MERGE (r:Revision) SET r.token = $token RETURN r.token AS token"


def revision_stamp() -> Statement:
    """The statement a store appends to each write (a fresh random token)."""
    import secrets

    return (_REVISION_STAMP, {"token": secrets.token_hex(8)})


def read_consistent(store: GraphStore, reads: Sequence[Statement], *,
                    attempts: int = 12) -> list[list[dict[str, Any]]]:
    """The rows of several reads as of one moment, as if from one read transaction.

    The reads go together (:meth:`GraphStore.read_many`) between two reads of the
    graph's revision token; when the token changed, a write landed between them,
    some reads may have seen it and some not, so all are read again (after a short,
    growing pause). A random token, not a counter, so that a graph cleared and
    written again cannot look unchanged. StoreError when writes kept landing."""
    import time

    from ..errors import StoreError

    for attempt in range(attempts):
        answers = store.read_many([(REVISION_READ, {}), *reads, (REVISION_READ, {})])
        before, after = (sorted(r["token"] for r in a) for a in (answers[0], answers[-1]))
        if before == after:
            return answers[1:-1]
        time.sleep(min(0.02 * 2 ** attempt, 1.0))
    raise StoreError(f"{store.describe()} was written to during each of {attempts} attempts "
                     "to read it as of one moment; try again once the writes are done")


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
