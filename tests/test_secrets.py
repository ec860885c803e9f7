"""Credentials never reach output, logs, reports or tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT


def _run(*args: str, env: dict[str, str]) -> str:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "CIRCFIN_"))}
    e.update(env)
    proc = subprocess.run([sys.executable, "-m", "circfin", *args], env=e, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_remote_store_passwords_are_never_shown(tmp_path, debug):
    secret = "pw-Zq81-never-show"
    env = {"CIRCFIN_HOME": str(tmp_path)}
    texts = [
        _run(*debug, "--store", f"bolt://neo4j:{secret}@127.0.0.1:1", "loops", env=env),
        _run(*debug, "--store", f"neo4j+s://neo4j:{secret}@127.0.0.1:1", "db", "counts", env=env),
        _run(*debug, "--store", "bolt://127.0.0.1:1", "hubs", env={**env, "NEO4J_PASSWORD": secret}),
        _run(*debug, "--store", f"redis://:{secret}@127.0.0.1:1", "loops", env=env),
        _run(*debug, "--store", f"falkordb://u:{secret}@127.0.0.1:1", "db", "status", "--format",
             "json", env=env),
    ]
    for text in texts:
        assert "Store" in text or "store" in text  # the commands did fail, and said why
        assert secret not in text


def test_embedded_password_is_never_shown(cli, server, tmp_path):
    secret = server.password()
    seen = []
    for args in (["seed"], ["loops", "--format", "json", "--max-len", "3"], ["db", "status"],
                 ["db", "status", "--format", "json"], ["hubs"],
                 ["report", "--out", str(tmp_path / "r"), "--no-record"],
                 ["--debug", "loops", "--types", "gift"]):
        proc = cli(*args)
        seen.append(proc.stdout + proc.stderr)
    for f in (tmp_path / "r").rglob("*"):
        if f.is_file():
            seen.append(f.read_text(errors="replace"))
    seen.append(server.log_file.read_text(errors="replace"))
    assert not [s for s in seen if secret in s]
