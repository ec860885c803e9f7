"""Shared fixtures: one real embedded FalkorDB per test session, a fresh graph per test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from circfin.store.embedded import EmbeddedServer
from circfin.store.falkordb_store import FalkorDBStore

ROOT = Path(__file__).resolve().parent.parent
# Read before the autouse fixture below hides them from every test.
NEO4J_ENV = {k: v for k, v in os.environ.items() if k.startswith("NEO4J_")}
SEED = ROOT / "seed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failing test that ran its own embedded server shows that server's log: pytest
    deletes old temporary folders, and a server's failure is explained only there."""
    report = yield
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if report.failed and isinstance(tmp, Path):
        for log in sorted(tmp.rglob("falkordb.log"))[:3]:
            try:
                tail = log.read_text(errors="replace").splitlines()[-40:]
            except OSError:
                continue
            report.sections.append((f"server log {log}", "\n".join(tail)))
    return report


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's store settings or credentials."""
    for k in list(os.environ):
        if k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_")):
            monkeypatch.delenv(k, raising=False)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """The embedded server, started once for the session and always stopped."""
    srv = EmbeddedServer(tmp_path_factory.mktemp("circfin-home"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        assert not srv.is_running(), "the test session must not leave a server running"


@pytest.fixture
def graph_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(server: EmbeddedServer, graph_name: str) -> Iterator[FalkorDBStore]:
    """A store on its own empty graph, deleted afterwards."""
    s = FalkorDBStore(server.connect(), graph=graph_name, where="test FalkorDB")
    try:
        yield s
    finally:
        s.clear()
        s.close()


def circfin_env(server: EmbeddedServer, graph: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a test's `circfin` runs in: the session server, the test's graph,
    a wide plain terminal, and none of the developer's store settings."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    e.update({"CIRCFIN_HOME": str(server.home), "CIRCFIN_GRAPH": graph, "COLUMNS": "200", "NO_COLOR": "1"})
    e.update(env or {})
    return e


def run_circfin(args: tuple[str, ...] | list[str], env: dict[str, str], *, input: str | None = None,
                process: bool = False, check: bool | None = None) -> subprocess.CompletedProcess[str]:
    """Run `circfin ARGS` as a user does and return its exit code, stdout and stderr.

    By default it runs in this process, through the app (`circfin.cli.app.main`, which
    `python -m circfin` runs for everything but a bare `--help`), with its own environment, argv, standard streams and
    working folder, all restored afterwards: a second process per call costs the suite
    a Python start-up and circfin's imports hundreds of times. `process=True` starts a
    real `python -m circfin`, for what only a process shows (signals, a terminal, what
    it imports, how it exits when killed)."""
    if process:
        proc = subprocess.run([sys.executable, "-m", "circfin", *args], capture_output=True,
                              text=True, input=input, env=env, timeout=300, cwd=ROOT)
    else:
        proc = _in_process(list(args), env, input)
    if check is True and proc.returncode != 0:
        raise AssertionError(f"circfin {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def _in_process(args: list[str], env: dict[str, str], input: str | None) -> subprocess.CompletedProcess[str]:
    import io
    import traceback

    from circfin.cli.app import main
    from circfin.cli.common import err as err_console
    from circfin.cli.common import out as out_console

    so, se = io.BytesIO(), io.BytesIO()
    saved_env = dict(os.environ)
    saved = (sys.argv, sys.stdin, sys.stdout, sys.stderr, os.getcwd())
    # The consoles were made once, at import: give them this run's width and no colour,
    # as a fresh process with COLUMNS and NO_COLOR would have.
    consoles = [(c, c._width, c._color_system) for c in (out_console, err_console)]
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(ROOT)
        sys.argv = ["circfin", *args]
        sys.stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
        sys.stdout = out_w = io.TextIOWrapper(so, encoding="utf-8", write_through=True)
        sys.stderr = err_w = io.TextIOWrapper(se, encoding="utf-8", errors="backslashreplace",
                                              write_through=True)
        columns = env.get("COLUMNS", "")
        for c, _, _ in consoles:
            c._width = int(columns) if columns.isdigit() else None
            c._color_system = None
        try:
            main()
            code = 0
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:  # sys.exit("message") prints it and exits 1
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught error
            traceback.print_exc()
            code = 1
        out_w.flush()
        err_w.flush()
        stdout, stderr = so.getvalue(), se.getvalue()
    finally:
        sys.argv, sys.stdin, sys.stdout, sys.stderr, cwd = saved
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for c, width, colors in consoles:
            c._width, c._color_system = width, colors
    return subprocess.CompletedProcess(["circfin", *args], code, stdout.decode("utf-8"),
                                       stderr.decode("utf-8", "backslashreplace"))


@pytest.fixture
def cli(server: EmbeddedServer, graph_name: str):
    """Run the `circfin` command (see `run_circfin`) against the session server and a
    per-test graph."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            check: bool | None = None, process: bool = False) -> subprocess.CompletedProcess[str]:
        return run_circfin(args, circfin_env(server, graph_name, env), input=input,
                           process=process, check=check)

    yield run
    FalkorDBStore(server.connect(), graph=graph_name).clear()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


DEALS_HEADER = ("deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,"
                "description,source_url,confidence\n")
ENTITIES_HEADER = ("entity_id,name,kind,aliases,parent,country,revenue_usd,equity_usd,"
                   "market_cap_usd,backlog_usd,source_url\n")
