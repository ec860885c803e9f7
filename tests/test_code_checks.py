"""The code's own checks, run by the suite: the layer order and no import circles
(import-linter), ruff, and mypy (strict on graph/, store/, loops/, ingest/, risk/,
analytics/). Configured in pyproject.toml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def beside(tmp_path_factory) -> Path:
    """A folder holding `circfin` as a link to the checkout: the editable install is an
    import hook that mypy and import-linter's graph builder cannot see through."""
    d = tmp_path_factory.mktemp("checks")
    (d / "circfin").symlink_to(ROOT, target_is_directory=True)
    return d


def test_layers_and_no_import_circles(beside):
    proc = _run([str(BIN / "lint-imports"), str(ROOT / "pyproject.toml")], beside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


def test_an_upward_import_breaks_the_layer_contract(beside, tmp_path):
    """The contract can fail: a copy of the package whose ingest imports the loop
    engine (ingest sits below loops) is refused."""
    import shutil

    copy = tmp_path / "circfin"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "node_modules", "bench", "tools", "docs", "*.md", "__pycache__"))
    with open(copy / "ingest" / "readers.py", "a") as f:
        f.write("\nfrom ..loops import engine as _upward  # noqa\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "from importlinter.cli import lint_imports_command; "
                           "sys.argv = ['lint-imports', sys.argv[2]]; lint_imports_command()",
                           str(tmp_path), str(copy / "pyproject.toml")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode != 0
    assert "circfin.ingest.readers -> circfin.loops.engine" in proc.stdout


def test_ruff_is_clean():
    proc = _run([str(BIN / "ruff"), "check", "--no-cache", "."], ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean(beside, tmp_path):
    proc = _run([str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"),
                 "--cache-dir", str(tmp_path / "cache"), "-p", "circfin"], beside)
    assert proc.returncode == 0, proc.stdout + proc.stderr
