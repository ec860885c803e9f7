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


@pytest.fixture
def cli(server: EmbeddedServer, graph_name: str):
    """Run the real `circfin` command against the session server and a per-test graph."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            check: bool | None = None) -> subprocess.CompletedProcess[str]:
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
        e.update({"CIRCFIN_HOME": str(server.home), "CIRCFIN_GRAPH": graph_name,
                  "COLUMNS": "200", "NO_COLOR": "1"})
        e.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "circfin", *args], capture_output=True,
                              text=True, input=input, env=e, timeout=300, cwd=ROOT)
        if check is True and proc.returncode != 0:
            raise AssertionError(f"circfin {' '.join(args)} failed:\n{proc.stderr}")
        return proc

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
