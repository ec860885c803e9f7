"""The Neo4j store, through the official ``neo4j`` driver (Neo4j 5.x / 2025.x)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import QueryError, QueryTimeout, StoreError, StoreUnavailable
from ..graph.schema import LABELS, label
from .base import Statement, redact, revision_stamp, schema_digest

__all__ = ["Neo4jStore"]

_SCHEMA = (
    "CREATE CONSTRAINT circfin_entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT circfin_deal_id IF NOT EXISTS FOR (d:Deal) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT circfin_loop_key IF NOT EXISTS FOR (l:Loop) REQUIRE l.key IS UNIQUE",
    "CREATE CONSTRAINT circfin_source_url IF NOT EXISTS FOR (s:Source) REQUIRE s.url IS UNIQUE",
    "CREATE CONSTRAINT circfin_financials_key IF NOT EXISTS FOR (f:Financials) REQUIRE f.key IS UNIQUE",
    "CREATE CONSTRAINT circfin_asset_id IF NOT EXISTS FOR (a:Asset) REQUIRE a.id IS UNIQUE",
    "CREATE INDEX circfin_holds_key IF NOT EXISTS FOR ()-[r:HOLDS]-() ON (r.key)",
    "CREATE INDEX circfin_entity_name IF NOT EXISTS FOR (e:Entity) ON (e.name)",
    "CREATE INDEX circfin_pays_deal_id IF NOT EXISTS FOR ()-[r:PAYS]-() ON (r.deal_id)",
    "CREATE INDEX circfin_pays_top_deal_id IF NOT EXISTS FOR ()-[r:PAYS_TOP]-() ON (r.deal_id)",
    "CREATE INDEX circfin_deal_key IF NOT EXISTS FOR (d:Deal) ON (d.key)",  # case twins
)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):  # neo4j.time types
        return value.iso_format()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "items") and hasattr(value, "element_id"):  # Node / Relationship
        return _plain(dict(value.items()))
    return value



def clear_statement() -> str:
    """The Cypher that deletes circfin's nodes, in batches of 5,000: its labels from the
    whitelist, so a node kind added to circfin (sources, events, financials, holdings'
    assets, the schema mark) is never left behind by `clear`."""
    kinds = " OR ".join(f"n:{label(name)}" for name in LABELS)
    return f"MATCH (n) WHERE {kinds} CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 5000 ROWS"

class Neo4jStore:
    """A circfin graph in a Neo4j database."""

    dialect = "neo4j"
    schema_version = schema_digest(dialect, _SCHEMA)

    def __init__(self, driver: Any, *, database: str | None = None, where: str = "Neo4j") -> None:
        self._driver = driver
        self._database = database
        self._where = where

    @classmethod
    def from_uri(cls, uri: str, *, database: str | None = None) -> Neo4jStore:
        """Credentials from the URI's user info, else NEO4J_USER / NEO4J_PASSWORD."""
        import neo4j

        parts = urlsplit(uri)
        user = unquote(parts.username) if parts.username else os.environ.get("NEO4J_USER", "neo4j")
        password = (unquote(parts.password) if parts.password is not None
                    else os.environ.get("NEO4J_PASSWORD"))
        host = parts.hostname or "localhost"
        if parts.port:
            host += f":{parts.port}"
        clean = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
        auth = (user, password) if password is not None else None
        try:
            driver = neo4j.GraphDatabase.driver(clean, auth=auth)
        except Exception as e:  # noqa: BLE001
            raise StoreUnavailable(f"cannot open Neo4j at {redact(clean)}: {type(e).__name__}") from e
        store = cls(driver, database=database, where=f"Neo4j at {redact(clean)}")
        try:
            store.verify()  # fail at once, not after the driver's retries
        except Exception:
            driver.close()
            raise
        return store

    def describe(self) -> str:
        db = f", database {self._database!r}" if self._database else ""
        return f"{self._where}{db}"

    def _errors(self, e: Exception) -> Exception:
        from neo4j import exceptions as x

        if isinstance(e, x.AuthError):
            return StoreUnavailable(f"{self.describe()} refused the credentials "
                                    "(check NEO4J_USER / NEO4J_PASSWORD)")
        if isinstance(e, (x.ServiceUnavailable, x.SessionExpired, OSError)):
            return StoreUnavailable(f"cannot reach {self.describe()}: {type(e).__name__}")
        if isinstance(e, (x.CypherSyntaxError, x.ClientError)):
            return QueryError(f"{self.describe()} refused a query: {getattr(e, 'message', e)}")
        return StoreError(f"{self.describe()}: {type(e).__name__}: {getattr(e, 'message', e)}")

    def read_many(self, reads: Sequence[Statement], *,
                  timeout_ms: int | None = None) -> list[list[dict[str, Any]]]:
        """Each query's rows, one after the other (see GraphStore.read_many)."""
        return [self.read(query, params, timeout_ms=timeout_ms) for query, params in reads]

    def read(self, query: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        """Rows of a read query; with ``timeout_ms`` the server ends it after that
        long (a transaction timeout), so an abandoned query does not run on."""
        import neo4j

        if timeout_ms is not None and timeout_ms < 1:
            raise ValueError("timeout_ms must be at least 1")
        q: Any = neo4j.Query(query, timeout=timeout_ms / 1000) if timeout_ms else query
        try:
            records, _, keys = self._driver.execute_query(
                q, dict(params or {}), database_=self._database,
                routing_=neo4j.RoutingControl.READ)
        except Exception as e:  # noqa: BLE001 - wrapped at the adapter boundary
            from neo4j import exceptions as x

            if timeout_ms and isinstance(e, x.ClientError) and "Timeout" in (e.code or ""):
                raise QueryTimeout(f"{self.describe()} stopped a query after "
                                   f"{timeout_ms / 1000:g} s (its time budget)") from e
            raise self._errors(e) from e
        return [{k: _plain(r[k]) for k in keys} for r in records]

    def write(self, statements: Sequence[Statement]) -> None:
        """One managed write transaction: committed whole, or rolled back whole
        (the driver retries it on transient errors), ending with a new revision
        token (``read_consistent``)."""
        if not statements:
            return
        stamped = [*statements, revision_stamp()]

        def work(tx: Any) -> None:
            for query, params in stamped:
                tx.run(query, dict(params)).consume()

        try:
            with self._driver.session(database=self._database) as session:
                session.execute_write(work)
        except Exception as e:  # noqa: BLE001
            raise self._errors(e) from e

    def ensure_schema(self) -> None:
        # Schema commands cannot share a transaction with data writes: one each.
        for q in _SCHEMA:
            try:
                self._driver.execute_query(q, database_=self._database)
            except Exception as e:  # noqa: BLE001
                raise self._errors(e) from e

    def clear(self) -> None:
        """Delete every node of circfin's (each label of ``graph.schema.LABELS``), in
        batches; a database's other nodes stay."""
        q = clear_statement()
        try:
            with self._driver.session(database=self._database) as session:
                session.run(q).consume()
        except Exception as e:  # noqa: BLE001
            raise self._errors(e) from e

    def verify(self) -> None:
        try:
            self._driver.verify_connectivity()
        except Exception as e:  # noqa: BLE001
            raise self._errors(e) from e

    def close(self) -> None:
        self._driver.close()
