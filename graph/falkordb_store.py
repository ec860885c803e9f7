"""The FalkorDB store (embedded or external), through the ``falkordb`` client."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import QueryError, StoreError, StoreUnavailable
from .store import Statement, redact

__all__ = ["FalkorDBStore"]

# Indexes first: FalkorDB builds a unique constraint on top of an index.
_INDEXES = (
    "CREATE INDEX FOR (e:Entity) ON (e.id)",
    "CREATE INDEX FOR (e:Entity) ON (e.name)",
    "CREATE INDEX FOR (d:Deal) ON (d.id)",
    "CREATE INDEX FOR ()-[r:PAYS]-() ON (r.deal_id)",
    "CREATE INDEX FOR (l:Loop) ON (l.key)",
)
_UNIQUE = (("Entity", "id"), ("Deal", "id"), ("Loop", "key"))


def _plain(value: Any) -> Any:
    """FalkorDB result values as plain Python (dates become ISO strings)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "properties") and isinstance(getattr(value, "properties"), dict):
        return _plain(value.properties)  # a Node or Edge: its properties
    return value


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    # NaN/inf would be spliced as bare words into FalkorDB's parameter header.
    def check(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"non-finite number {v!r} in query parameters")
        if isinstance(v, (list, tuple)):
            return [check(x) for x in v]
        if isinstance(v, Mapping):
            return {k: check(x) for k, x in v.items()}
        return v

    return {k: check(v) for k, v in params.items()}


class FalkorDBStore:
    """A circfin graph kept in one FalkorDB graph key."""

    dialect = "falkordb"

    def __init__(self, db: Any, *, graph: str = "circfin", where: str = "FalkorDB",
                 log_file: Any = None) -> None:
        self._log_file = log_file  # the embedded server's log, quoted when it dies
        self._db = db
        self.graph_name = graph
        self._graph = db.select_graph(graph)
        self._where = where

    @classmethod
    def from_url(cls, url: str, *, graph: str = "circfin") -> FalkorDBStore:
        from falkordb import FalkorDB

        parts = urlsplit(url)
        if parts.scheme in ("falkordb", "falkor"):
            url = urlunsplit(("redis",) + tuple(parts)[1:])
        try:
            db = FalkorDB.from_url(url)
        except Exception as e:  # noqa: BLE001 - the client raises many kinds
            raise StoreUnavailable(f"cannot open FalkorDB at {redact(url)}: {type(e).__name__}") from e
        return cls(db, graph=graph, where=f"FalkorDB at {redact(url)}")

    def describe(self) -> str:
        return f"{self._where}, graph {self.graph_name!r}"

    def _errors(self, e: Exception) -> Exception:
        import redis

        if isinstance(e, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                          ConnectionError, OSError)):
            return StoreUnavailable(f"lost the connection to {self.describe()}: {e}{self._log_tail()}")
        if isinstance(e, redis.exceptions.AuthenticationError):
            return StoreUnavailable(f"{self.describe()} refused the credentials")
        if isinstance(e, redis.exceptions.ResponseError):
            return QueryError(f"{self.describe()} refused a query: {e}")
        return StoreError(f"{self.describe()}: {type(e).__name__}: {e}")

    def _log_tail(self) -> str:
        if self._log_file is None:
            return ""
        try:
            lines = [ln for ln in open(self._log_file, errors="replace").read().splitlines()
                     if " # " in ln][-2:]  # redis marks warnings with '#'
        except OSError:
            return ""
        if not lines:
            return ""
        return f"\nthe server's log ({self._log_file}) says:\n" + "\n".join(lines)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        import redis

        try:
            res = self._graph.ro_query(query, _check_params(params or {}))
        except redis.exceptions.ResponseError as e:
            if "empty key" in str(e):
                return []  # the graph does not exist yet: nothing stored
            raise self._errors(e) from e
        except Exception as e:  # noqa: BLE001 - wrapped at the adapter boundary
            raise self._errors(e) from e
        cols = [h[1] if isinstance(h, (list, tuple)) else h for h in res.header]
        return [dict(zip(cols, (_plain(v) for v in row))) for row in res.result_set]

    def write(self, statements: Sequence[Statement]) -> None:
        """All statements in one MULTI/EXEC: Redis applies them as one unit and
        logs them to the AOF as one unit, so a crash leaves all or none."""
        if not statements:
            return
        commands = [
            self._graph._build_params_header(_check_params(params)) + query  # noqa: SLF001
            for query, params in statements
        ]
        try:
            pipe = self._db.connection.pipeline(transaction=True)
            for q in commands:
                pipe.execute_command("GRAPH.QUERY", self.graph_name, q, "--compact")
            results = pipe.execute(raise_on_error=False)
        except Exception as e:  # noqa: BLE001
            raise self._errors(e) from e
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            raise QueryError(f"{self.describe()} refused a write ({failed[0]}); "
                             f"{len(results) - len(failed)} of {len(results)} statements were "
                             f"applied - run the same command again to converge")

    def ensure_schema(self) -> None:
        import redis

        for q in _INDEXES:
            try:
                self._graph.query(q)
            except redis.exceptions.ResponseError as e:
                if "already indexed" not in str(e).lower():
                    raise self._errors(e) from e
            except Exception as e:  # noqa: BLE001
                raise self._errors(e) from e
        conn = self._db.connection
        for label, prop in _UNIQUE:
            try:
                conn.execute_command("GRAPH.CONSTRAINT", "CREATE", self.graph_name, "UNIQUE",
                                     "NODE", label, "PROPERTIES", 1, prop)
            except redis.exceptions.ResponseError as e:
                if "already exists" not in str(e).lower():
                    raise self._errors(e) from e
            except Exception as e:  # noqa: BLE001
                raise self._errors(e) from e

    def clear(self) -> None:
        """Delete the whole graph (tests and `circfin db reset`)."""
        import redis

        try:
            self._graph.delete()
        except redis.exceptions.ResponseError as e:
            if "empty key" not in str(e).lower() and "invalid graph" not in str(e).lower():
                raise self._errors(e) from e
        except Exception as e:  # noqa: BLE001
            raise self._errors(e) from e
        self._graph = self._db.select_graph(self.graph_name)

    def close(self) -> None:
        try:
            self._db.connection.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
