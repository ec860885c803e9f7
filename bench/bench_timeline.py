"""Time `circfin timeline` on the seed: one read of the store vs a read per period.

    .venv/bin/python bench/bench_timeline.py                  # every quarter, as of 2026-06-30
    .venv/bin/python bench/bench_timeline.py --every month --repeat 5

Loads the seed into a fresh embedded FalkorDB (a temporary home, stopped at the
end), then times, best of ``--repeat``, wall clock, single process:

* **timeline**: what ``circfin timeline`` computes: the store read once
  (``snapshot(store)``), then each period's web derived in memory
  (``circfin.report.timeline.timeline``);
* **naive**: the same rows by the per-date path: for each period end,
  ``snapshot(store, as_of=end)`` (the store re-read), the loops and
  ``circularity`` of that snapshot;
* **command**: ``circfin timeline`` itself in a subprocess (Python start-up,
  imports, the read, the rows and the table), once, and once more with
  ``--chart`` (SVG) to show what drawing adds; and ``circfin loops --as-of``
  (one date) for scale: wall clock, and the CPU seconds the process used (user
  plus system), which a busy machine stretches less.

The two in-process ways must give the same rows (checked). Prints markdown.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one command in a subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", default="quarter", choices=["quarter", "month", "year"])
    ap.add_argument("--as-of", default="2026-06-30")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from _checkout import ensure_circfin

    ensure_circfin()
    from circfin.analytics.circularity import circularity
    from circfin.ingest import ingest
    from circfin.loops.engine import find_loops
    from circfin.loops.from_store import DEFAULT_STATUSES, snapshot
    from circfin.report.timeline import timeline
    from circfin.store.embedded import EmbeddedServer
    from circfin.store.falkordb_store import FalkorDBStore

    with tempfile.TemporaryDirectory(prefix="circfin-bench-timeline-") as home:
        srv = EmbeddedServer(Path(home))
        srv.start()
        try:
            store = FalkorDBStore(srv.connect(), graph="circfin", where="bench FalkorDB")
            ingest(store, sorted((ROOT / "seed").glob("*.csv")))
            n_deals = len(snapshot(store).deals)

            def fast() -> list[dict[str, Any]]:
                snap = snapshot(store)
                return [r.to_dict() for r in timeline(snap, every=args.every, as_of=args.as_of).rows]

            def naive(ends: list[str]) -> list[tuple[Any, ...]]:
                out = []
                for end in ends:
                    snap = snapshot(store, as_of=end)
                    n = len(find_loops(snap.deals, status=DEFAULT_STATUSES, parents=snap.parents,
                                       names=snap.names))
                    c = circularity(snap)
                    out.append((end, n, c.fci))
                return out

            fast()  # JIT and imports warm
            t_fast, rows = _best(fast, args.repeat)
            ends = [r["as_of"] for r in rows]
            t_naive, naive_rows = _best(lambda: naive(ends), args.repeat)
            assert [(r["as_of"], r["loops"]) for r in rows] == [(e, n) for e, n, _ in naive_rows]
            assert all(abs(r["fci"] - f) < 1e-12 for r, (_, _, f) in zip(rows, naive_rows, strict=True))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_"))}
            env.update({"CIRCFIN_HOME": home, "CIRCFIN_GRAPH": "circfin"})
            cmd = [sys.executable, "-m", "circfin", "timeline", "--every", args.every,
                   "--as-of", args.as_of]
            t_cmd, c_cmd = _run(cmd, env)
            t_loops, c_loops = _run([sys.executable, "-m", "circfin", "loops", "--as-of", args.as_of], env)
            t_chart, c_chart = _run([*cmd, "--chart", str(Path(home) / "timeline.svg")], env)
            store.close()
        finally:
            srv.stop()
    print(f"seed: {n_deals} deals; every {args.every} to {args.as_of}: {len(rows)} rows; "
          f"best of {args.repeat}\n")
    print("| timeline (one read) | naive (a read per period) | naive / timeline "
          "| `circfin timeline` | with `--chart web.svg` | `circfin loops` (one date) |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| **{t_fast * 1e3:.0f} ms** | {t_naive * 1e3:.0f} ms | {t_naive / t_fast:.1f}x "
          f"| **{t_cmd:.2f} s** ({c_cmd:.2f} s CPU) | {t_chart:.2f} s ({c_chart:.2f} s CPU) "
          f"| {t_loops:.2f} s ({c_loops:.2f} s CPU) |")


if __name__ == "__main__":
    main()
