"""circularity() on a large web, with BLAS threads as the command line sets them or not.

    .venv/bin/python bench/bench_blas_threads.py cli      # one thread at start, raised for big factorisations
    .venv/bin/python bench/bench_blas_threads.py default  # OpenBLAS as it starts by itself
    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_blas_threads.py forced1

Builds ``scalefree.make_deals(ENTITIES, DEALS, seed=0)`` (default 10,000 entities,
100,000 deals), runs ``circularity()`` once to warm up, then prints the best wall time
of ``--repeat`` runs and the FCI (the same in every mode). Run the modes one after the
other: OpenBLAS reads its thread count once, when numpy loads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["cli", "default", "forced1"])
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from circfin import jit

    if args.mode == "cli":
        jit.one_blas_thread_at_start()  # what `circfin` does before numpy loads
    from scalefree import entity_ids, make_deals

    from circfin.analytics.circularity import circularity
    from circfin.loops.from_store import Snapshot

    snap = Snapshot(make_deals(args.entities, args.deals, seed=0),
                    [{"id": i, "name": i} for i in entity_ids(args.entities)])
    circularity(snap)
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = circularity(snap)
        best = min(best, time.perf_counter() - t0)
    print(f"{args.mode}: {args.entities:,} entities, {args.deals:,} deals: {best:.2f} s, FCI {res.fci:.12f}")


if __name__ == "__main__":
    main()
