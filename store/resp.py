"""The embedded store's connection: the server's own protocol (RESP) on its private
Unix socket, each reply parsed by hiredis.

circfin's embedded server is reached only through a socket in the user's own folder,
and every query is one command or one pipeline of them: what the embedded store needs
of a client is to send commands and read their replies. redis-py, which the falkordb
client is built on, costs 0.2 s of CPU to import (its package loads its asyncio client
too), a quarter of a whole `circfin loops` on the seed. This client uses hiredis, the
C reply parser redis-py itself uses, on a plain socket, and keeps redis-py's behaviour
where circfin relies on it:

- an error reply to a command is raised (``ReplyError``); inside a pipeline, or nested
  in a reply (FalkorDB's run-time errors), it is returned in place, as redis-py does;
- text is decoded as UTF-8, strictly, as the falkordb client asks redis-py to;
- ``AUTH`` goes out with the first command of a connection, in the same send;
- any failure in the middle of a round trip (an interrupt, a time-out, a lost server,
  a reply hiredis cannot parse) closes the connection, so no reply is ever read as
  another command's;
- a command is sent again on a new connection only when not one byte of it reached
  the server: the connection was an old one and the server had closed it. After a
  byte is sent, a lost connection is an error: a write may have run, and running it
  twice is for the caller to decide (redis-py retries up to three times).

External FalkorDB servers (URLs, TLS, clusters, sentinels) keep the falkordb client.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

import hiredis

__all__ = ["AuthError", "ProtocolError", "ReplyError", "RespClient", "encode_command"]

_RECV = 1 << 18  # bytes a read asks the socket for (redis-py: 64 KiB)
# errors of a send to a peer that has closed its end: for a Unix socket, nothing sent
_PEER_GONE = (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN)


class ReplyError(Exception):
    """An error reply from the server. ``str()`` is its message without a leading
    ``ERR`` (as redis-py's ``ResponseError``); ``code`` is its first word."""

    def __init__(self, message: str) -> None:
        self.reply = message
        self.code = message.split(" ", 1)[0]
        super().__init__(message[4:] if message.startswith("ERR ") else message)

    @property
    def unavailable(self) -> bool:
        """The server cannot take commands now (loading its data, full of clients):
        the store is unavailable, the command itself was not at fault."""
        return self.code in ("LOADING", "MASTERDOWN") or self.reply == "ERR max number of clients reached"

    @property
    def auth(self) -> bool:
        """The server refused the password, or wants one."""
        return self.code in ("WRONGPASS", "NOAUTH") or "invalid password" in self.reply


class AuthError(ConnectionError):
    """The server refused the connection's password (``reply``: its answer)."""

    def __init__(self, reply: ReplyError) -> None:
        self.reply = reply
        super().__init__(f"the server refused the password: {reply}")


class ProtocolError(ConnectionError):
    """The server sent something that is not RESP."""


def encode_command(args: Sequence[Any]) -> bytes:
    """One command in RESP: an array of bulk strings (str as UTF-8, int and float as
    their decimal text, bytes as they are).

    >>> encode_command(("INFO", "server"))
    b'*2\\r\\n$4\\r\\nINFO\\r\\n$6\\r\\nserver\\r\\n'
    >>> encode_command(("GET", "é", 50))
    b'*3\\r\\n$3\\r\\nGET\\r\\n$2\\r\\n\\xc3\\xa9\\r\\n$2\\r\\n50\\r\\n'
    """
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            b = repr(a).encode()
        else:
            raise TypeError(f"a command's arguments are text or numbers, not {type(a).__name__}")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class RespClient:
    """Commands to the server at a Unix socket, on one connection, one round trip at a
    time (a lock keeps threads' round trips apart; a forked child opens its own).

    ``timeout`` bounds each connect, send and read in seconds (None: wait, as the
    embedded store does; its reads carry the server's own time limit)."""

    def __init__(self, path: str, password: str | None = None, *, timeout: float | None = None) -> None:
        self.path = path
        self._password = password
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._pid = 0
        self._authed = False
        self._lock = threading.Lock()
        self._buf = bytearray(_RECV)
        self._falkordb: Any = None

    # -- the parts of the falkordb client's interface the store uses -----------------

    @property
    def connection(self) -> RespClient:
        return self

    def select_graph(self, name: str) -> Any:
        """A falkordb ``Graph`` on a client of its own, made on first use: for replies
        that hold nodes, edges or paths (the falkordb client turns them into objects)."""
        if self._falkordb is None:
            from falkordb import FalkorDB

            self._falkordb = FalkorDB(unix_socket_path=self.path, password=self._password)
        return self._falkordb.select_graph(name)

    def execute_command(self, *args: Any) -> Any:
        """The reply to one command; an error reply is raised as :class:`ReplyError`."""
        reply = self._round_trip([args])[0]
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def pipeline(self, transaction: bool = False) -> Pipeline:
        return Pipeline(self, transaction)

    def close(self) -> None:
        with self._lock:
            self._drop()
        if self._falkordb is not None:
            self._falkordb.connection.close()
            self._falkordb = None

    # -- the round trip ---------------------------------------------------------------

    def _is_open(self) -> bool:
        return self._sock is not None and self._pid == os.getpid()

    def _open(self) -> None:
        self._drop()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self._timeout)
            s.connect(self.path)
        except BaseException:
            s.close()
            raise
        self._sock, self._pid, self._authed = s, os.getpid(), False
        self._reader = hiredis.Reader(replyError=ReplyError, protocolError=ProtocolError,
                                      encoding="utf-8", errors="strict")

    def _drop(self) -> None:
        """Forget the connection; close it unless it is a parent process's."""
        if self._sock is not None and self._pid == os.getpid():
            self._sock.close()
        self._sock = self._reader = None

    def _round_trip(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        payload = b"".join(encode_command(c) for c in commands)
        with self._lock:
            reused = self._is_open()
            if not reused:
                self._open()
            try:
                sent, auth = self._send_commands(payload)
                if not sent and reused:  # the server had closed this old connection: nothing reached it
                    self._open()
                    sent, auth = self._send_commands(payload)
                if not sent:
                    raise ConnectionResetError(errno.ECONNRESET, "the server closed the connection")
                if auth:
                    answer = self._read()
                    if isinstance(answer, ReplyError):  # the commands' replies are dropped with it
                        self._drop()
                        raise AuthError(answer) if answer.auth else answer
                    self._authed = True
                return [self._read() for _ in commands]
            except BaseException:
                self._drop()
                raise

    def _send_commands(self, payload: bytes) -> tuple[bool, bool]:
        """Send ``payload``, after ``AUTH`` when the connection has not given it yet:
        (whether it was sent, whether AUTH went first; see :meth:`_send`)."""
        auth = self._password is not None and not self._authed
        head = encode_command(("AUTH", self._password)) if auth else b""
        return self._send(head + payload), auth

    def _send(self, data: bytes) -> bool:
        """Send all of ``data``; False when the server had closed the connection before
        the first byte (a Unix socket refuses the send at once then)."""
        assert self._sock is not None
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            try:
                sent += self._sock.send(view[sent:])
            except OSError as e:
                if sent == 0 and e.errno in _PEER_GONE:
                    return False
                raise
        return True

    def _read(self) -> Any:
        reader, sock, buf = self._reader, self._sock, self._buf
        assert reader is not None and sock is not None
        while True:
            reply = reader.gets()
            if reply is not False:
                return reply
            n = sock.recv_into(buf)
            if not n:
                raise ConnectionResetError(errno.ECONNRESET, "the server closed the connection")
            reader.feed(buf, 0, n)


class Pipeline:
    """Commands sent together and answered together, as redis-py's pipeline: with
    ``transaction`` they run as one MULTI/EXEC."""

    def __init__(self, client: RespClient, transaction: bool) -> None:
        self._client = client
        self._transaction = transaction
        self._commands: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any) -> Pipeline:
        self._commands.append(args)
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        commands, self._commands = self._commands, []
        if not commands:
            return []
        if self._transaction:
            replies = self._client._round_trip([("MULTI",), *commands, ("EXEC",)])  # noqa: SLF001
            failed = next((r for r in replies[:-1] if isinstance(r, ReplyError)), None)
            if isinstance(replies[-1], ReplyError):
                raise failed or replies[-1]  # EXECABORT: nothing of it ran
            replies = replies[-1]
        else:
            replies = self._client._round_trip(commands)  # noqa: SLF001
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, ReplyError):
                    raise reply
        return replies
