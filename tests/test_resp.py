"""circfin's own client for the embedded server (store/resp.py): replies read whole
and in order, a command never sent twice once any of it reached the server, errors
as redis-py gave them, and the same rows as the falkordb client on real data."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin.errors import QueryError, StoreUnavailable
from circfin.store.embedded import EmbeddedServer
from circfin.store.falkordb_store import FalkorDBStore, _cell, _row_values
from circfin.store.resp import AuthError, ReplyError, RespClient

# -- a fake server on a Unix socket: each connection gets its own script -----------------


class FakeServer:
    """Accepts connections on a Unix socket; the n-th connection is handed to
    ``scripts[n]`` (a function of the socket). Records every byte it was sent."""

    def __init__(self, path: Path, scripts: list[Callable[[socket.socket], None]]) -> None:
        self.path = str(path)
        self.received: list[bytes] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(4)
        self._scripts = scripts
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        handlers = []
        for script in self._scripts:  # each connection served at once, on a thread of its own
            conn, _ = self._listener.accept()
            handlers.append(threading.Thread(target=self._run, args=(script, conn), daemon=True))
            handlers[-1].start()
        for h in handlers:
            h.join(20)

    @staticmethod
    def _run(script: Callable[[socket.socket], None], conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            script(conn)

    @classmethod
    def answering(cls, path: Path, *replies: bytes) -> FakeServer:
        """One connection, answered in turn: a command read, the next reply sent."""
        def serve(conn: socket.socket) -> None:
            for reply in replies:
                server.recv_command(conn)
                conn.sendall(reply)

        server = cls(path, [serve])
        return server

    def recv_command(self, conn: socket.socket) -> bytes:
        """Bytes until the client stops sending for a moment (one small command)."""
        data = conn.recv(1 << 16)
        self.received.append(data)
        return data

    def close(self) -> None:
        self._thread.join(30)
        self._listener.close()


def _encode(value: Any) -> bytes:
    """A reply in RESP2, as the server writes it."""
    if isinstance(value, ReplyError):
        return b"-" + value.reply.encode() + b"\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, str):
        b = value.encode()
        return b"$%d\r\n%s\r\n" % (len(b), b)
    if value is None:
        return b"$-1\r\n"
    return b"*%d\r\n" % len(value) + b"".join(_encode(v) for v in value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, ReplyError) or isinstance(b, ReplyError):
        return type(a) is type(b) and a.reply == b.reply
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


_errors = st.sampled_from(["ERR boom", "errMsg: Invalid input 'x'", "WRONGTYPE no"]).map(ReplyError)
_scalars = st.one_of(st.integers(-2**63, 2**63 - 1), st.text(max_size=300), st.none(), _errors)
_replies = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=6), max_leaves=40)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_replies, min_size=1, max_size=5), cuts=st.lists(st.integers(1, 40), max_size=30))
def test_replies_split_anywhere_read_back_whole_and_in_order(tmp_path_factory, values, cuts):
    """Whatever the server's writes look like on the socket, each command gets its own
    reply; error replies nested in a reply, or in a pipeline, come back in place."""
    wire = b"".join(_encode(v) for v in values)

    def answer(conn: socket.socket) -> None:
        conn.recv(1 << 16)
        rest = wire
        for n in cuts:  # many small writes, then the rest
            if not rest:
                return
            conn.sendall(rest[:n])
            rest = rest[n:]
            time.sleep(0.0005)
        if rest:
            conn.sendall(rest)

    path = tmp_path_factory.mktemp("resp") / "s"
    server = FakeServer(path, [answer])
    client = RespClient(str(path), timeout=10)
    try:
        pipe = client.pipeline()
        for i in range(len(values)):
            pipe.execute_command("ECHO", i)
        got = pipe.execute(raise_on_error=False)
    finally:
        client.close()
        server.close()
    assert _same(got, values)


def test_auth_goes_with_the_first_command_in_one_send_and_only_once(tmp_path):
    server = FakeServer.answering(tmp_path / "s", b"+OK\r\n$5\r\nfirst\r\n", b"$6\r\nsecond\r\n")
    client = RespClient(str(tmp_path / "s"), "pw", timeout=10)
    try:
        assert client.execute_command("GET", "a") == "first"
        assert client.execute_command("GET", "b") == "second"
    finally:
        client.close()
        server.close()
    assert server.received == [b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n",
                               b"*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"]


def test_a_command_the_server_received_is_never_sent_again(tmp_path):
    """The server reads the write and dies before answering: one clear error, and the
    command was sent once (redis-py would have sent it again on a new connection)."""
    def take_and_close(conn: socket.socket) -> None:
        server.recv_command(conn)

    def must_not_come(conn: socket.socket) -> None:
        server.recv_command(conn)

    server = FakeServer(tmp_path / "s", [take_and_close, must_not_come])
    client = RespClient(str(tmp_path / "s"), timeout=10)
    try:
        with pytest.raises(ConnectionResetError):
            client.execute_command("GRAPH.QUERY", "g", "CREATE (:Deal)")
    finally:
        client.close()
    # the second script still waits: connect once so that the server thread ends
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(server.path)
    server.close()
    assert server.received == [b"*3\r\n$11\r\nGRAPH.QUERY\r\n$1\r\ng\r\n$14\r\nCREATE (:Deal)\r\n", b""]


def test_a_reply_that_comes_too_late_is_never_read_as_the_next_ones(tmp_path):
    def slow(conn: socket.socket) -> None:
        server.recv_command(conn)
        time.sleep(0.6)
        with pytest.raises(OSError):  # the client closed the connection at its time-out
            for _ in range(50):
                conn.sendall(b"$4\r\nlate\r\n")
                time.sleep(0.01)

    def quick(conn: socket.socket) -> None:
        server.recv_command(conn)
        conn.sendall(b"$6\r\nsecond\r\n")

    server = FakeServer(tmp_path / "s", [slow, quick])
    client = RespClient(str(tmp_path / "s"), timeout=0.3)
    try:
        with pytest.raises(TimeoutError):
            client.execute_command("GET", "first")
        assert client.execute_command("GET", "second") == "second"
    finally:
        client.close()
        server.close()


def test_error_replies_read_as_redis_py_read_them(tmp_path):
    server = FakeServer.answering(tmp_path / "s", b"-ERR Invalid graph operation on empty key\r\n",
                                  b"*3\r\n*1\r\n$1\r\nn\r\n*0\r\n-Type mismatch: expected Integer\r\n")
    client = RespClient(str(tmp_path / "s"), timeout=10)
    try:
        with pytest.raises(ReplyError) as err:
            client.execute_command("GRAPH.RO_QUERY", "g", "MATCH (n) RETURN n")
        assert str(err.value) == "Invalid graph operation on empty key" and err.value.code == "ERR"
        reply = client.execute_command("GRAPH.QUERY", "g", "RETURN 1 + 'a'")
        assert reply[:2] == [["n"], []] and isinstance(reply[2], ReplyError)
    finally:
        client.close()
        server.close()


def test_a_wrong_password_is_an_auth_error(server: EmbeddedServer):
    client = RespClient(str(server.socket_path), "not-the-password", timeout=10)
    try:
        with pytest.raises(AuthError, match="refused the password"):
            client.execute_command("PING")
        store = FalkorDBStore(client, graph="g")
        with pytest.raises(StoreUnavailable, match="refused the credentials"):
            store.read("RETURN 1 AS one")
    finally:
        client.close()


def test_a_store_reconnects_to_a_restarted_server(tmp_path):
    """The server went away between two commands: the old connection is closed by
    the server, nothing of the next command reached it, so it goes out again on a
    new connection to the new server."""
    srv = EmbeddedServer(tmp_path / "home")
    try:
        store = FalkorDBStore(srv.connect(), graph="g")
        store.write([("CREATE (:Entity {id: $id})", {"id": "a"})])
        srv.stop()
        srv.start()
        assert store.read("MATCH (e:Entity) RETURN e.id AS id") == [{"id": "a"}]
        store.write([("CREATE (:Entity {id: $id})", {"id": "b"})])
        assert len(store.read("MATCH (e:Entity) RETURN e.id AS id")) == 2
    finally:
        srv.stop()


def test_a_forked_child_uses_its_own_connection(server: EmbeddedServer, graph_name):
    store = FalkorDBStore(server.connect(), graph=graph_name)
    try:
        store.write([("CREATE (:Entity {id: $id})", {"id": "parent"})])
        pid = os.fork()
        if pid == 0:  # the child: its own connection, the parent's left open
            try:
                store.write([("CREATE (:Entity {id: $id})", {"id": "child"})])
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        got = store.read("MATCH (e:Entity) RETURN e.id AS id ORDER BY id")
        assert [r["id"] for r in got] == ["child", "parent"]
    finally:
        store.clear()
        store.close()


def test_transactions_run_whole_or_not_at_all(server: EmbeddedServer, graph_name):
    client = server.connect()
    try:
        pipe = client.pipeline(transaction=True)
        pipe.execute_command("GRAPH.QUERY", graph_name, "CREATE (:T {v: 1})", "--compact")
        pipe.execute_command("GRAPH.QUERY", graph_name, "CREATE (:T {v: 2})", "--compact")
        assert len(pipe.execute()) == 2
        pipe = client.pipeline(transaction=True)
        pipe.execute_command("GRAPH.QUERY", graph_name, "CREATE (:T {v: 3})", "--compact")
        pipe.execute_command("NOSUCHCOMMAND")
        with pytest.raises(ReplyError, match="unknown command"):
            pipe.execute()
        reply = client.execute_command("GRAPH.RO_QUERY", graph_name, "MATCH (t:T) RETURN count(t)")
        assert reply[1] == [[2]]
    finally:
        client.execute_command("GRAPH.DELETE", graph_name)
        client.close()


def test_the_seed_reads_the_same_through_either_client(server: EmbeddedServer, graph_name):
    """Every read a snapshot makes, and replies holding nodes and edges (left to the
    falkordb client), give the same rows through circfin's client and redis-py's."""
    from falkordb import FalkorDB

    from circfin.ingest import ingest
    from circfin.loops.from_store import snapshot
    from tests.conftest import SEED

    ours = FalkorDBStore(server.connect(), graph=graph_name)
    theirs = FalkorDBStore(FalkorDB(unix_socket_path=str(server.socket_path), password=server.password()),
                           graph=graph_name)
    try:
        ingest(ours, [SEED])
        a, b = snapshot(ours), snapshot(theirs)
        assert len(a.deal_rows) > 300 and len(a.entities) > 200 and a.participants and a.financials
        for part in ("deal_rows", "entities", "participants", "events", "financials", "holdings", "assets"):
            assert getattr(a, part) == getattr(b, part), part
        q = "MATCH (p:Entity)-[m:MADE]->(d:Deal) RETURN p, m, d ORDER BY d.id LIMIT 25"
        assert ours.read(q) == theirs.read(q) and len(ours.read(q)) == 25
        big = "UNWIND range(1, 20000) AS i RETURN i, 'café ' + toString(i) AS s"
        assert ours.read(big) == theirs.read(big)
        assert ours.read_many([(big, {}), ("RETURN $x AS x", {"x": "é"})]) == \
            theirs.read_many([(big, {}), ("RETURN $x AS x", {"x": "é"})])
        with pytest.raises(QueryError, match="refused a query"):
            ours.read("RETURN nosuchfunction(1)")
    finally:
        ours.clear()
        ours.close()
        theirs.close()


_cells = st.recursive(
    st.one_of(st.tuples(st.just(2), st.text(max_size=20)), st.tuples(st.just(3), st.integers()),
              st.tuples(st.just(1), st.none()), st.tuples(st.just(5), st.floats(allow_nan=False).map(repr)),
              st.tuples(st.just(4), st.sampled_from(["true", "false"]))),
    lambda inner: st.tuples(st.just(6), st.lists(inner.map(list), max_size=4)), max_leaves=12).map(list)


@given(st.lists(_cells, max_size=8))
def test_a_rows_cells_read_in_line_as_cell_by_cell(row):
    assert _row_values(row) == [_cell(c) for c in row]
