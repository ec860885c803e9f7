"""The FalkorDB store: the embedded server through circfin's own client on its socket
(store/resp.py), an external one through the ``falkordb`` client (redis-py)."""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import InputError, QueryError, QueryTimeout, StoreError, StoreUnavailable
from .base import Statement, redact, revision_stamp, schema_digest
from .resp import AuthError, ReplyError

__all__ = ["FalkorDBStore"]

# Indexes first: FalkorDB builds a unique constraint on top of an index.
_INDEXES = (
    "CREATE INDEX FOR (e:Entity) ON (e.id)",
    "CREATE INDEX FOR (e:Entity) ON (e.name)",
    "CREATE INDEX FOR (e:Entity) ON (e.name_keys)",  # array index: `k IN e.name_keys`
    "CREATE INDEX FOR (d:Deal) ON (d.id)",
    "CREATE INDEX FOR (d:Deal) ON (d.key)",  # the id lower-cased: case twins by index
    "CREATE INDEX FOR ()-[r:PAYS]-() ON (r.deal_id)",
    "CREATE INDEX FOR ()-[r:PAYS_TOP]-() ON (r.deal_id)",  # the incremental roll-up
    "CREATE INDEX FOR (l:Loop) ON (l.key)",
    "CREATE INDEX FOR (s:Source) ON (s.url)",
    "CREATE INDEX FOR (f:Financials) ON (f.key)",
    "CREATE INDEX FOR (a:Asset) ON (a.id)",
    "CREATE INDEX FOR ()-[r:HOLDS]-() ON (r.key)",
)
_SCALARS = frozenset((str, int, float, bool, type(None)))
_UNIQUE = (("Entity", "id"), ("Deal", "id"), ("Loop", "key"), ("Source", "url"), ("Financials", "key"),
           ("Asset", "id"))


def _redis_errors() -> Any:
    """redis-py's exception classes when redis-py is loaded (an external server's
    client), else None: circfin's own client never raises them."""
    redis = sys.modules.get("redis")
    return getattr(redis, "exceptions", None)


def _is_reply_error(e: object) -> bool:
    """Whether ``e`` is an error reply from the server (either client's kind)."""
    if isinstance(e, ReplyError):
        return True
    errors = _redis_errors()
    return errors is not None and isinstance(e, errors.ResponseError)


def _plain(value: Any) -> Any:
    """FalkorDB result values as plain Python (dates become ISO strings)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "properties") and isinstance(value.properties, dict):
        return _plain(value.properties)  # a Node or Edge: its properties
    return value


class _NotPlain(Exception):
    """A cell the fast reader leaves to the client (a node, an edge, a date...)."""


def _cell(cell: Sequence[Any]) -> Any:
    """One cell of a ``--compact`` reply: ``[type, value]`` (the falkordb client's
    type codes) to a plain Python value, without the client's per-value dispatch.

    >>> _cell([2, "x"]), _cell([3, 7]), _cell([5, "2.5"]), _cell([1, None]), _cell([4, "true"])
    ('x', 7, 2.5, None, True)
    >>> _cell([6, [[3, 1], [2, "a"]]]), _cell([10, ["k", [3, 1]]])
    ([1, 'a'], {'k': 1})
    """
    t, v = cell
    if t == 2:  # string
        return v if type(v) is str else (v.decode() if isinstance(v, bytes) else str(v))
    if t == 3:  # integer
        return int(v)
    if t == 1:  # null
        return None
    if t == 5:  # double
        return float(v)
    if t == 6:  # array
        return [_cell(c) for c in v]
    if t == 4:  # boolean
        return (v.decode() if isinstance(v, bytes) else v) == "true"
    if t == 10:  # map: key, value, key, value...
        return {(v[i].decode() if isinstance(v[i], bytes) else v[i]): _cell(v[i + 1])
                for i in range(0, len(v), 2)}
    raise _NotPlain(t)


def _row_values(row: Sequence[Sequence[Any]]) -> list[Any]:
    """The cells of one ``--compact`` row as plain values: :func:`_cell`, with text, whole
    numbers and nulls (most cells) read in line, a function call fewer each (reading
    100,000 deals' ids and hashes: 0.12 s instead of 0.23-0.27 s).

    >>> _row_values([[2, "a"], [3, 7], [1, None], [5, "2.5"], [6, [[3, 1]]], [4, "false"]])
    ['a', 7, None, 2.5, [1], False]
    """
    out: list[Any] = []
    append = out.append
    for t, v in row:
        if (t == 2 and type(v) is str) or (t == 3 and type(v) is int):  # text, a whole number
            append(v)
        elif t == 1:
            append(None)
        else:
            append(_cell((t, v)))
    return out


def _literal(v: Any) -> str:
    """A parameter value as the Cypher literal the query header carries: what the
    falkordb client's ``stringify_param_value`` writes, a few times faster for the
    strings, numbers, lists and maps of a batch of rows (anything else is its).

    >>> from falkordb.helpers import stringify_param_value as client
    >>> v = [{"a": 'say "hi" \\\\ bye', "b": None, "c": [1, 2.5, ""], "d": True, "e": -3}]
    >>> _literal(v) == client(v)
    True
    """
    t = type(v)
    if isinstance(v, str) and t is str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if v is None:
        return "null"
    if t is int or t is float:
        return str(v)
    if t is list or t is tuple:
        return "[" + ",".join(map(_literal, v)) + "]"
    if t is dict and all(type(k) is str and k and "`" not in k for k in v):
        return "{" + ",".join(f"`{k}`:{_literal(x)}" for k, x in v.items()) + "}"
    from falkordb.helpers import stringify_param_value

    return str(stringify_param_value(v))


def _params_header(params: Mapping[str, Any]) -> str:
    """The ``CYPHER name=value ...`` header the client's ``_build_params_header``
    writes, by :func:`_literal`.

    >>> _params_header({"ids": ["a"], "n": 1})
    'CYPHER `ids`=["a"] `n`=1 '
    """
    if any(not k or "`" in k for k in params):
        raise ValueError(f"bad parameter name in {sorted(params)!r}")
    return "CYPHER " + "".join(f"`{k}`={_literal(v)} " for k, v in params.items())


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    # Parameters travel as text in a header before the query: NaN/inf would be
    # spliced as bare words, and a NUL ends the header early.
    def check(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"non-finite number {v!r} in query parameters")
        if isinstance(v, str) and "\x00" in v:
            raise InputError(f"a text value holds a NUL character, which FalkorDB cannot "
                             f"store: {v[:40]!r}")
        if isinstance(v, (list, tuple)):
            return [check(x) for x in v]
        if isinstance(v, Mapping):
            return {k: check(x) for k, x in v.items()}
        return v

    try:  # the common case, checked in C: plain JSON values, finite, no NUL
        text = json.dumps(params, allow_nan=False, ensure_ascii=True)
    except (TypeError, ValueError):
        pass  # something to convert or refuse: the walk below says what
    else:
        if "\\u0000" not in text:
            return dict(params)
    return {k: check(v) for k, v in params.items()}


_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_RETURN = re.compile(r"\bRETURN\b", re.IGNORECASE)


def combine_statements(statements: Sequence[Statement]) -> tuple[str, dict[str, Any]]:
    """One Cypher query that runs the statements in order, each statement's
    parameters renamed ``$s<i>_<name>``.

    Each statement's RETURN becomes ``WITH count(*) AS _s<i>``: the aggregation
    drains every clause before it, so the next statement sees all of its
    writes, and it yields exactly one row even when the statement touched
    nothing, so the next statement still runs once. (FalkorDB's ``CALL { }``
    subqueries do not reliably see the writes of the subqueries before them.)
    The statements are circfin's own catalogue queries (no string literals).

    One limit: FalkorDB reads the properties of a relationship created earlier
    in the same query as null (nodes are fine), so no statement may read the
    properties of relationships an earlier statement of the write created;
    ``build_rollup`` reads the Deal nodes rather than the new PAYS edges.

    >>> q, p = combine_statements([("UNWIND $ids AS i CREATE (:N {i: i}) RETURN count(*) AS n",
    ...                              {"ids": [1]})])
    >>> print(q)
    UNWIND $s0_ids AS i CREATE (:N {i: i})
    WITH count(*) AS _s0
    RETURN 1 AS done
    >>> p
    {'s0_ids': [1]}
    """
    parts: list[str] = []
    merged: dict[str, Any] = {}
    for i, (query, params) in enumerate(statements):
        body = _COMMENT.sub("", query).strip().rstrip(";").strip()
        missing = set(_PARAM.findall(body)) - set(params)
        if missing:
            raise ValueError(f"statement {i} uses parameters it was not given: {sorted(missing)}")
        body = _PARAM.sub(rf"$s{i}_\g<1>", body)  # $name -> $s{i}_name
        returns = list(_RETURN.finditer(body))
        if returns:
            body = body[:returns[-1].start()].rstrip()
        parts.append(f"{body}\nWITH count(*) AS _s{i}")
        merged.update({f"s{i}_{k}": v for k, v in params.items()})
    return "\n".join(parts) + "\nRETURN 1 AS done", merged


class FalkorDBStore:
    """A circfin graph kept in one FalkorDB graph key."""

    dialect = "falkordb"
    schema_version = schema_digest(dialect, [*_INDEXES, *_UNIQUE])

    def __init__(self, db: Any, *, graph: str = "circfin", where: str = "FalkorDB",
                 log_file: Any = None) -> None:
        self._log_file = log_file  # the embedded server's log, quoted when it dies
        self._db = db
        self.graph_name = graph
        self._graph: Any = None  # the client's Graph, made when a reply needs it
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
        errors = _redis_errors()
        if isinstance(e, AuthError) or (errors is not None and isinstance(e, errors.AuthenticationError)):
            return StoreUnavailable(f"{self.describe()} refused the credentials")
        if isinstance(e, (ConnectionError, OSError)) or (isinstance(e, ReplyError) and e.unavailable) or (
                errors is not None and isinstance(e, (errors.ConnectionError, errors.TimeoutError))):
            return StoreUnavailable(f"lost the connection to {self.describe()}: {e}{self._log_tail()}")
        if _is_reply_error(e):
            return QueryError(f"{self.describe()} refused a query: {e}")
        return StoreError(f"{self.describe()}: {type(e).__name__}: {e}")

    def _log_tail(self) -> str:
        if self._log_file is None:
            return ""
        try:
            with open(self._log_file, errors="replace") as f:
                lines = [ln for ln in f.read().splitlines() if " # " in ln][-2:]  # '#': a warning
        except OSError:
            return ""
        if not lines:
            return ""
        return f"\nthe server's log ({self._log_file}) says:\n" + "\n".join(lines)

    def read(self, query: str, params: Mapping[str, Any] | None = None, *,
             timeout_ms: int | None = None) -> list[dict[str, Any]]:
        """Rows of a read-only query. With ``timeout_ms`` the server itself stops
        the query after that long (QueryTimeout), so a query whose client went
        away, or was interrupted, does not run on and block the next commands."""
        return self.read_many([(query, params or {})], timeout_ms=timeout_ms)[0]

    def read_many(self, reads: Sequence[Statement], *,
                  timeout_ms: int | None = None) -> list[list[dict[str, Any]]]:
        """The rows of each of several read-only queries, sent together: one round trip
        to the server (a pipeline, not a transaction: each query reads on its own)."""
        if timeout_ms is not None and timeout_ms < 1:
            raise ValueError("timeout_ms must be at least 1")
        # Each query as the client's ro_query sends it; the reply is read here, cell by
        # cell, in one pass (the client's parser costs about twice as much), and left
        # to the client only when it holds nodes, edges, dates and the like.
        commands: list[list[Any]] = []
        for query, params in reads:
            command: list[Any] = ["GRAPH.RO_QUERY", self.graph_name,
                                  _params_header(_check_params(params or {})) + query, "--compact"]
            if timeout_ms:
                command += ["timeout", int(timeout_ms)]
            commands.append(command)
        conn = self._db.connection
        try:
            if len(commands) == 1:
                replies: list[Any] = [conn.execute_command(*commands[0])]
            else:
                pipe = conn.pipeline(transaction=False)
                for command in commands:
                    pipe.execute_command(*command)
                replies = pipe.execute(raise_on_error=False)
        except Exception as e:  # noqa: BLE001 - wrapped at the adapter boundary
            return [self._failed(e, timeout_ms)] * len(commands)
        return [self._rows(reply, timeout_ms) for reply in replies]

    def _rows(self, reply: Any, timeout_ms: int | None) -> list[dict[str, Any]]:
        """The rows of one ``--compact`` reply (or the error it is)."""
        try:
            if isinstance(reply, Exception):
                raise reply
            if reply and _is_reply_error(reply[0]):
                raise reply[0]
            if reply and _is_reply_error(reply[-1]):
                raise reply[-1]
            if len(reply) < 3:
                return []  # statistics only: no columns
            cols = [h[1] if isinstance(h, (list, tuple)) else h for h in reply[0]]
            try:
                return [dict(zip(cols, _row_values(row), strict=True)) for row in reply[1]]
            except _NotPlain:
                from falkordb.query_result import QueryResult

                if self._graph is None:
                    self._graph = self._db.select_graph(self.graph_name)
                res = QueryResult(self._graph, reply)
        except Exception as e:  # noqa: BLE001 - wrapped at the adapter boundary
            return self._failed(e, timeout_ms)
        cols = [h[1] if isinstance(h, (list, tuple)) else h for h in res.header]
        return [dict(zip(cols, (_plain(v) for v in row), strict=True)) for row in res.result_set]

    def _failed(self, e: Exception, timeout_ms: int | None) -> list[dict[str, Any]]:
        """A read's error as circfin's: no rows when the graph does not exist yet."""
        if _is_reply_error(e):
            if "empty key" in str(e):
                return []  # the graph does not exist yet: nothing stored
            if "timed out" in str(e).lower():
                after = (f"after {timeout_ms / 1000:g} s (its time budget)" if timeout_ms
                         else "(its time limit)")
                raise QueryTimeout(f"{self.describe()} stopped a query {after}") from e
        raise self._errors(e) from e

    def write(self, statements: Sequence[Statement]) -> None:
        """All statements as ONE ``GRAPH.QUERY`` (see :func:`combine_statements`).

        FalkorDB undoes every change of a query that fails at run time, so a
        statement that fails leaves the graph exactly as it was: all or nothing,
        even for failures no validation foresaw. (A MULTI/EXEC would not do: Redis
        applies the other commands of a transaction when one of them fails.) One
        command is also one entry in the append-only file, so a crash mid-write
        leaves all or none, and loading the file replays no long MULTI/EXEC.
        The write ends by giving the graph a new revision token (``read_consistent``).
        """
        if not statements:
            return
        query, params = combine_statements([*statements, revision_stamp()])
        command = _params_header(_check_params(params)) + query
        try:
            self._db.connection.execute_command("GRAPH.QUERY", self.graph_name, command, "--compact")
        except Exception as e:  # noqa: BLE001
            err = self._errors(e)
            if isinstance(err, QueryError):
                raise QueryError(f"{err}; nothing was written (the write is all or nothing)") from e
            raise err from e

    def ensure_schema(self) -> None:
        conn = self._db.connection
        commands: list[tuple[Any, ...]] = [("GRAPH.QUERY", self.graph_name, q, "--compact") for q in _INDEXES]
        commands += [("GRAPH.CONSTRAINT", "CREATE", self.graph_name, "UNIQUE", "NODE", label,
                      "PROPERTIES", 1, prop) for label, prop in _UNIQUE]
        for command in commands:  # one at a time: a constraint needs its index built
            try:
                reply = conn.execute_command(*command)
                if isinstance(reply, list) and reply and _is_reply_error(reply[-1]):
                    raise reply[-1]
            except Exception as e:  # noqa: BLE001
                done = "already indexed" if command[0] == "GRAPH.QUERY" else "already exists"
                if not (_is_reply_error(e) and done in str(e).lower()):
                    raise self._errors(e) from e

    def clear(self) -> None:
        """Delete the whole graph (tests and `circfin db reset`)."""
        try:
            self._db.connection.execute_command("GRAPH.DELETE", self.graph_name)
        except Exception as e:  # noqa: BLE001
            gone = _is_reply_error(e) and ("empty key" in str(e).lower() or "invalid graph" in str(e).lower())
            if not gone:
                raise self._errors(e) from e
        self._graph = None  # the client's caches (labels, types) describe the deleted graph

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self._db.connection.close()
