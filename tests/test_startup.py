"""What a command does not load, and option values parsed without pydantic exactly as typer parses them."""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin.cli import fast_options

fast_options.install()  # as circfin.cli.app does

ROOT = Path(__file__).resolve().parents[1]

_LOADED = """\
import sys
sys.argv = ["circfin", *sys.argv[1:]]
from circfin.cli.entry import main
try:
    main()
except SystemExit:
    pass
finally:
    print("MODULES", " ".join(sorted(sys.modules)))
"""


def _modules_after(cli_home: Path, *args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    env.update(CIRCFIN_HOME=str(cli_home), COLUMNS="100")
    proc = subprocess.run([sys.executable, "-c", _LOADED, *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    return set(line.split()[1:])


HEAVY = ("pandas", "numpy", "numba", "scipy", "networkx", "pydantic", "rich.markdown", "markdown_it")


@pytest.mark.parametrize("args", [("--help",), ("db", "status"), ("db", "--help"), ("loops", "--help")])
def test_help_and_db_status_load_no_analysis_stack_and_no_pydantic(tmp_path, args):
    loaded = _modules_after(tmp_path / "home", *args)
    if args in (("--help",), ("db", "status")):  # no typer, no click, no command module
        assert "circfin.cli.fast_help" in loaded or "circfin.store.embedded" in loaded  # it ran
        assert not [m for m in loaded if m.split(".")[0] in ("typer", "click") or m == "circfin.cli.app"]
    else:
        assert "circfin.cli.app" in loaded  # the command ran
    assert not [m for m in HEAVY if m in loaded]


def test_db_status_without_typer_says_what_the_app_says(tmp_path):
    # a plain `db status` is answered by the entry point; `--debug db status` by the app
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [({"CIRCFIN_HOME": str(tmp_path / "home")}, ()), ({"CIRCFIN_HOME": str(tmp_path / "home")},
             ("--format", "json")), ({"CIRCFIN_HOME": str(tmp_path / "home"), "CIRCFIN_STORE": "bolt://u:pw@h:7687"},
             ("--format=json",)), ({"CIRCFIN_HOME": str(a_file)}, ())]
    for extra, fmt in cases:
        e = {**env, **extra, "COLUMNS": "100", "NO_COLOR": "1"}

        def run(*pre: str, e: dict[str, str] = e, fmt: tuple[str, ...] = fmt) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "circfin", *pre, "db", "status", *fmt], capture_output=True,
                                  text=True, env=e, timeout=120, cwd=ROOT)

        fast = run()
        assert "pw" not in fast.stdout + fast.stderr
        if extra["CIRCFIN_HOME"] == str(a_file):  # refused: the app's one line (--debug would add a traceback)
            assert fast.returncode == 1 and fast.stdout == "" and fast.stderr.count("\n") == 1
            assert fast.stderr.startswith("InputError: --home (CIRCFIN_HOME)") and "not a folder" in fast.stderr
            continue
        app = run("--debug")
        assert (fast.returncode, fast.stdout, fast.stderr) == (app.returncode, app.stdout, app.stderr), extra


def test_the_recorded_listing_is_the_apps():
    # cli/help_index.py is what `circfin --help` draws; a command added, renamed or re-described
    # without running `python -m circfin.cli.fast_help --write` fails here
    from circfin.cli.fast_help import recorded

    assert (ROOT / "cli" / "help_index.py").read_text(encoding="utf-8") == recorded(), (
        "cli/help_index.py is stale: run `.venv/bin/python -m circfin.cli.fast_help --write`")


@pytest.fixture
def seeded_store(store):
    from circfin.ingest import ingest

    from .conftest import SEED

    ingest(store, [SEED])
    return store


def test_deals_and_entities_read_records_without_pandas(seeded_store, server, graph_name):
    # the listing commands read the snapshot's records; only a frame's reader loads pandas
    from .conftest import circfin_env

    env = circfin_env(server, graph_name)
    for args in (("deals", "--format", "json"), ("entities", "--format", "json"),
                 ("deals", "--as-of", "2025-06-30", "--min-confidence", "high")):
        proc = subprocess.run([sys.executable, "-c", _LOADED, *args], capture_output=True, text=True,
                              env=env, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        loaded = set(proc.stdout.splitlines()[-1].split()[1:])
        assert "circfin.analytics.catalogue" in loaded, args
        assert not [m for m in ("pandas", "numpy", "numba", "scipy", "circfin.loops.engine", "redis")
                    if m in loaded], args


@pytest.mark.parametrize("args", [
    ("loops",), ("loops", "--format", "json", "--as-of", "2025-12-31"), ("score",),
    ("show", "OpenAI"), ("shock", "OpenAI"), ("circularity",), ("brief",),
    ("loops", "--min-confidence", "high", "--rollup"), ("exposure", "--format", "json"),
])
def test_analysis_commands_on_a_small_graph_load_neither_pandas_nor_scipy(seeded_store, server,
                                                                         graph_name, args):
    # on the seed, pandas' and scipy's imports cost more than the analysis itself: the
    # commands read the snapshot's records, and the cycling index works on a dense matrix;
    # the embedded store is read through circfin's own client, without redis-py (0.2 s)
    from .conftest import circfin_env

    env = circfin_env(server, graph_name)
    proc = subprocess.run([sys.executable, "-c", _LOADED, *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.splitlines()[-1].split()[1:])
    assert "circfin.cli.app" in loaded and "numpy" in loaded, args  # it ran, and computed
    assert not [m for m in ("pandas", "scipy", "numba", "pyarrow", "redis", "falkordb") if m in loaded], args


def test_records_and_frame_give_the_same_listings(seeded_store):
    # the records as read and the same deals through a frame (missing values NaN, amounts
    # floats) list the same deals, entities and audit findings
    from circfin.analytics.audit import audit
    from circfin.analytics.catalogue import deal_records, entity_records
    from circfin.loops.from_store import snapshot

    for kw in ({}, {"as_of": "2025-06-30"}, {"as_of": "2026-03-31", "confidences": ("high",)}):
        snap, framed = snapshot(seeded_store, sources=True, **kw), snapshot(seeded_store, sources=True, **kw)
        assert len(framed.deals) == len(snap.deal_rows) > 0  # reading .deals builds the frame, kept
        assert isinstance(snap.__dict__["_deals"], list) and not isinstance(framed.__dict__["_deals"], list)
        assert deal_records(framed) == deal_records(snap)
        assert entity_records(framed) == entity_records(snap)
        assert audit(framed, today=_dt.date(2026, 12, 1)) == audit(snap, today=_dt.date(2026, 12, 1))


def test_a_bad_option_value_still_gets_typers_own_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    env.update(CIRCFIN_HOME=str(tmp_path / "home"), COLUMNS="200", NO_COLOR="1")
    for args, said in [(["loops", "--max-len", "x"], "Invalid value for '--max-len': Input should be a "
                                                      "valid integer, unable to parse string as an integer"),
                       (["db", "status", "--format", "xml"], "Invalid value for '--format': Value error, "
                                                            "'xml' is not one of 'table', 'json'.")]:
        proc = subprocess.run([sys.executable, "-m", "circfin", *args], capture_output=True, text=True,
                              env=env, timeout=120, cwd=ROOT)
        assert proc.returncode == 2
        assert said in " ".join(proc.stderr.split()), proc.stderr


# -- the parsed value: typer's own (pydantic) parser and the plain one agree ------------------

class Color(str, Enum):
    red = "red"
    dark_blue = "dark-blue"


def _params() -> dict[str, Any]:
    """A click command with one option of every type circfin's options use."""
    t = typer.Typer()

    @t.command()
    def cmd(  # pragma: no cover - never run, only its options are built
        i: Annotated[int, typer.Option()] = 1,
        f: Annotated[float, typer.Option()] = 1.0,
        s: Annotated[str, typer.Option()] = "",
        b: Annotated[bool, typer.Option()] = False,
        p: Annotated[Optional[Path], typer.Option()] = None,
        c: Annotated[Color, typer.Option()] = Color.red,
        ls: Annotated[Optional[list[str]], typer.Option()] = None,
        lp: Annotated[Optional[list[Path]], typer.Option()] = None,
    ) -> None:
        pass

    @t.callback()
    def _group() -> None:  # pragma: no cover
        pass

    group = typer.main.get_command(t)
    command = group.commands["cmd"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params} | {"_command": command}


PARAMS = _params()


def _both(name: str, value: Any) -> tuple[Any, Any]:
    """(typer's own result, circfin's result): a value, or ("error", message)."""
    from typer import _coercion
    from typer._click import Context

    param = PARAMS[name]
    ctx = Context(PARAMS["_command"])

    def run(parse: Any) -> Any:
        try:
            got = parse(value, param=param, ctx=ctx)
        except Exception as e:  # noqa: BLE001 - the error is the result compared
            return ("error", type(e).__name__, str(getattr(e, "message", e)))
        return (type(got).__name__, got)

    typers = _coercion.build_runtime_param(param.type_descriptor)
    param._runtime_param = None
    ours = param.get_runtime_param()
    assert isinstance(ours, _coercion.RuntimeParam) and type(ours) is not type(typers)
    return run(typers.coerce), run(ours.coerce)


NUMBERS = st.one_of(
    st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True).map(str),
    st.from_regex(r"\A[ +-]?[0-9_]{0,6}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})? ?\Z"),
    st.integers(-5, 5), st.floats(-1e6, 1e6), st.booleans(), st.text(max_size=5))


@settings(max_examples=300, deadline=None)
@given(NUMBERS)
def test_numbers_parse_as_typer_parses_them(value):
    for name in ("i", "f"):
        theirs, ours = _both(name, value)
        assert ours == theirs or (theirs[1] != theirs[1] and ours[1] != ours[1])  # nan


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=8), st.sampled_from(["red", "dark-blue", "RED", "blue", ""]),
                 st.sampled_from(list(Color)), st.booleans()))
def test_strings_choices_and_flags_parse_as_typer_parses_them(value):
    for name in ("s", "c", "b"):
        theirs, ours = _both(name, value)
        assert ours == theirs


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=8), st.sampled_from(["", ".", "/", "/etc/passwd", "a/b", "~"]),
                 st.lists(st.text(max_size=4), max_size=3), st.builds(Path, st.text(max_size=4))))
def test_paths_and_lists_parse_as_typer_parses_them(value):
    for name in ("p", "ls", "lp"):
        theirs, ours = _both(name, value)
        assert ours == theirs


def test_the_plain_parser_is_installed_once():
    fast_options.install()
    fast_options.help_without_markdown()
    from typer.core import TyperCommand, TyperGroup, _TyperParameter

    assert getattr(_TyperParameter.get_runtime_param, "_circfin", False)
    assert getattr(TyperCommand.format_help, "_circfin", False)
    assert getattr(TyperGroup.format_help, "_circfin", False)


# -- db status asks the server in its own protocol, without redis-py ---------------------------

def test_db_status_does_not_load_redis(tmp_path):
    assert "redis" not in _modules_after(tmp_path / "home", "db", "status")


@pytest.mark.parametrize("answer, state", [
    (b"+OK\r\n$30\r\n# Server\r\nprocess_id:4242\r\nx:y\r\n", ("ok", 4242)),
    (b"-WRONGPASS invalid username-password pair or user is disabled.\r\n", ("auth", None)),
    (b"+OK\r\n-NOAUTH Authentication required.\r\n", ("auth", None)),
    (b"-LOADING Redis is loading the dataset in memory\r\n", ("busy", None)),
    (b"-ERR max number of clients reached\r\n", ("unreachable", None)),
    (b"-BUSY Redis is busy running a script.\r\n", ("busy", None)),
    (b"+OK\r\n$30\r\n# Server\r\nproc", ("unreachable", None)),  # closed mid-reply
    (b"", ("unreachable", None)),  # accepts and closes
    (None, ("busy", None)),  # accepts and never answers
])
def test_the_servers_answer_maps_to_a_state_as_redis_pys_errors_did(tmp_path, answer, state):
    import socket
    import threading

    from circfin.store.embedded import EmbeddedServer

    server = EmbeddedServer(tmp_path / "home")
    server._make_private_dirs()
    server.password()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(server.socket_path))
    os.chmod(server.socket_path, 0o600)
    listener.listen(1)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            got.append(conn.recv(4096))
            if answer is None:
                conn.recv(4096)  # until the client gives up
            else:
                conn.sendall(answer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        assert server._ask(0.5) == state
    finally:
        t.join(10)
        listener.close()
    assert got[0].startswith(b"*2\r\n$4\r\nAUTH\r\n$") and got[0].endswith(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")


_BLAS = """\
import json, os, sys
from circfin import jit
jit.one_blas_thread_at_start()
import numpy
from threadpoolctl import threadpool_info

def blas():
    return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

out = {"start": blas()}
with jit.blas_threads_for(jit.BLAS_THREADED_MIN):
    out["big"] = blas()
with jit.blas_threads_for(jit.BLAS_THREADED_MIN - 1):
    out["small"] = blas()
out["after"] = blas()
out["cpus"] = jit.usable_cpus()
print(json.dumps(out))
"""


@pytest.mark.parametrize("user", [None, "1", "2"])
def test_blas_starts_on_one_thread_and_a_big_factorisation_gets_every_cpu(user):
    # the command line starts OpenBLAS with one thread (its pool's start-up cost more CPU
    # than the seed's search); a dense factorisation of a big component asks for every
    # usable CPU while it runs; a user's own OPENBLAS_NUM_THREADS is never changed
    import json

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user is not None:
        env["OPENBLAS_NUM_THREADS"] = user
    proc = subprocess.run([sys.executable, "-c", _BLAS], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    start = [1] if user in (None, "1") else got["start"]  # "2": as OpenBLAS starts it
    assert got["start"] == start and got["small"] == start and got["after"] == start
    if user is None:
        assert got["big"] == [got["cpus"]]  # every usable CPU (1 on a one-CPU machine)
    else:
        assert got["big"] == start  # the user's choice stands
