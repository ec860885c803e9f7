"""`pip install .` ships one top-level package, circfin, with its queries and seed data."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_wheel_has_only_the_circfin_package(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    # A clean build is quiet: no setuptools warning (e.g. a data folder that Python can
    # import but `packages` does not list, which every fresh install used to print).
    noise = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if "Warning" in ln and "pip" not in ln.split(":")[0]]
    assert not noise, "\n".join(noise)
    wheel = next(tmp_path.glob("circfin-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"circfin", next(t for t in tops if t.endswith(".dist-info"))}
    for needed in ("circfin/queries/loops.cypher", "circfin/seed/deals.csv",
                   "circfin/seed/entities.csv", "circfin/store/embedded.py", "circfin/py.typed",
                   "circfin/loops/engine.py", "circfin/analytics/measures.py",
                   "circfin/report/assets/cytoscape.min.js", "circfin/seed/holdings.csv",
                   "circfin/seed/assets.csv", "circfin/scenarios/ai_equity_crash.yaml",
                   "circfin/scenarios/ai_crypto_run.yaml"):
        assert needed in names
    assert not any(n.startswith("circfin/tests/") or "/node_modules/" in n for n in names)


def test_no_top_level_module_shadows_the_standard_library():
    """The repo root is the package, so running Python from it puts these names first
    on sys.path: a top-level numbers.py would break numpy."""
    names = {p.stem for p in ROOT.glob("*.py")} | {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert not names & set(sys.stdlib_module_names)
