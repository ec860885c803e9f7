"""Time ``circfin stress`` on the seed: the shipped scenarios, all channels.

    python bench/bench_stress.py [--repeat 5]

Starts an embedded FalkorDB in a temporary folder, loads the seed, and prints a
markdown table: for each shipped scenario, the best of ``--repeat`` runs (wall
clock, one process) of :func:`circfin.risk.stress.stress` (reading the graph, the
loops, both runs with and without the loops' closing legs), of the same with the
credit channel only, and of ``circfin shock`` on OpenAI (one entity, DebtRank, the
same loops) for scale, with the ratios; then the whole command, process start
included (``circfin stress NAME --format json``), once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    from _checkout import ensure_circfin

    ensure_circfin()
    from circfin.ingest import ingest
    from circfin.risk.shock import shock
    from circfin.risk.stress import load_scenario, stress
    from circfin.store.embedded import EmbeddedServer
    from circfin.store.falkordb_store import FalkorDBStore

    home = tempfile.mkdtemp(prefix="circfin-bench-stress-")
    srv = EmbeddedServer(home)
    try:
        store = FalkorDBStore(srv.connect(), graph="bench")
        ingest(store, [ROOT / "seed"])
        print("| scenario | stress, all channels | credit only | shock OpenAI | **stress / shock** |")
        print("|---|---:|---:|---:|---:|")
        t_shock = best(lambda: shock(store, "openai"), a.repeat)
        for name in ("ai_equity_crash", "ai_crypto_run"):
            path = ROOT / "scenarios" / f"{name}.yaml"
            t_all = best(lambda p=path: stress(store, p), a.repeat)
            credit = load_scenario(path)
            credit.channels = ("credit",)
            t_credit = best(lambda c=credit: stress(store, c), a.repeat)
            print(f"| {name} | **{t_all:.2f} s** | {t_credit:.2f} s | {t_shock:.2f} s | "
                  f"**{t_all / t_shock:.2f}x** |")
        env = {**os.environ, "CIRCFIN_HOME": home, "CIRCFIN_GRAPH": "bench"}
        print()
        for name in ("ai_equity_crash", "ai_crypto_run"):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "circfin", "stress", name, "--format", "json"], env=env,
                           cwd=ROOT, check=True, capture_output=True)
            print(f"- `circfin stress {name} --format json`, process start included: "
                  f"{time.perf_counter() - t:.2f} s")
        store.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
