"""How long a person waits for each command on the seed, against a bare Python start.

    .venv/bin/python bench/bench_startup.py                      # 7 rounds
    .venv/bin/python bench/bench_startup.py --baseline /tmp/old  # and an older checkout beside it

Loads the seed into a fresh embedded FalkorDB (a temporary home, stopped at the
end), then runs, round after round so that the machine's load falls on all of
them alike, ``python -c pass`` and each command in a subprocess: ``circfin
--help``, ``db status``, and the analysis commands. For each it reports the
median wall clock and the median CPU seconds (user plus system, which a busy
machine stretches less), and both as multiples of the bare start.

``--baseline DIR`` runs the same commands from another checkout of circfin
(e.g. ``git worktree add /tmp/old <commit>``) with this venv's packages, in the
same rounds, so a change's effect is read side by side.

The first run after install is measured apart: the commands once more with an
empty numba cache (``NUMBA_CACHE_DIR`` pointing at a new folder), as a fresh
install has. Python's bytecode is written by the warm-up run, as pip writes it
at install (``PYTHONDONTWRITEBYTECODE`` is dropped for the commands). Prints
markdown.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS: list[list[str]] = [
    ["--help"], ["db", "status"],
    ["loops"], ["score"], ["deals"], ["entities"], ["show", "OpenAI"], ["circularity"], ["brief"],
    ["shock", "OpenAI"],
]
GOALS = {"--help": 5, "db status": 5}  # else 20

_LAUNCH = """\
import importlib.util, sys
root = sys.argv.pop(1)
spec = importlib.util.spec_from_file_location("circfin", root + "/__init__.py",
                                              submodule_search_locations=[root])
mod = importlib.util.module_from_spec(spec)
sys.modules["circfin"] = mod
spec.loader.exec_module(mod)
from circfin.cli.app import main
sys.argv[0] = "circfin"
main()
"""


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--baseline", type=Path, help="another circfin checkout to run beside this one")
    args = ap.parse_args()
    py = sys.executable
    home = Path(tempfile.mkdtemp(prefix="circfin-bench-startup-"))
    # PYTHONDONTWRITEBYTECODE would make every run compile circfin's modules from
    # source (0.15-0.5 s): an installed package has its bytecode (pip compiles it at
    # install), and the warm-up run below writes it for both checkouts.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CIRCFIN_", "NEO4J_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CIRCFIN_HOME=str(home), COLUMNS="100")
    circfin = [py, "-m", "circfin"]
    sides = {"now": circfin}
    if args.baseline:
        sides["baseline"] = [py, "-c", _LAUNCH, str(args.baseline.resolve())]
    subprocess.run([*circfin, "seed"], env=env, check=True, capture_output=True, cwd=ROOT)
    try:
        for cmd in COMMANDS:  # warm: numba's cache and the OS's file cache filled
            for side in sides.values():
                _run([*side, *cmd], env)
        bare: list[tuple[float, float]] = []
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            bare.append(_run([py, "-c", "pass"], env))
            for cmd in COMMANDS:
                for name, side in sides.items():
                    times.setdefault((name, " ".join(cmd)), []).append(_run([*side, *cmd], env))
        first: dict[tuple[str, str], tuple[float, float]] = {}
        for name, side in sides.items():
            for cmd in COMMANDS:
                cold = dict(env, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="circfin-numba-"))
                first[(name, " ".join(cmd))] = _run([*side, *cmd], cold)
    finally:
        subprocess.run([*circfin, "db", "stop"], env=env, capture_output=True, cwd=ROOT)

    b_wall = statistics.median(w for w, _ in bare)
    b_cpu = statistics.median(c for _, c in bare)
    print(f"`{' '.join(sys.argv)}`, {args.rounds} rounds; bare `python -c pass`: "
          f"{b_wall * 1000:.0f} ms wall, {b_cpu * 1000:.0f} ms CPU\n")
    cols = "".join(f" {n} wall | {n} CPU | **{n} / bare (CPU)** | {n} first run |" for n in sides)
    print(f"| command | goal (× bare) |{cols}")
    print("|---|---:|" + "---:|---:|---:|---:|" * len(sides))
    for cmd in COMMANDS:
        key = " ".join(cmd)
        row = f"| `circfin {key}` | {GOALS.get(key, 20)} |"
        for name in sides:
            ts = times[(name, key)]
            wall = statistics.median(w for w, _ in ts)
            cpu = statistics.median(c for _, c in ts)
            row += (f" {wall:.2f} s | {cpu:.2f} s | **{cpu / b_cpu:.0f}×** |"
                    f" {first[(name, key)][0]:.2f} s |")
        print(row)


if __name__ == "__main__":
    main()
