"""Time the degree- and type-preserving null model on the seed dataset.

    python bench/bench_nullmodel.py                 # n=200, seed 1, max_len 4, 5 and 6
    python bench/bench_nullmodel.py --n 1000 --max-len 5

prints markdown: one timing row per ``max_len`` (wall clock of
``circfin.risk.significance`` on the seed's deals, best of ``--repeat``,
and the share spent shuffling vs counting loops), then the observed loop
counts against the null for the last ``max_len``. The seed is read from
``seed/deals.csv`` directly (ids as given there), so no database is needed;
``circfin significance`` reads the same deals from the store.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-len", type=int, nargs="*", default=[4, 5, 6])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        from circfin.loops.from_store import DEFAULT_STATUSES
        from circfin.risk import nullmodel, significance
    except ImportError:
        sys.exit("install circfin first (pip install -e .)")
    deals = pd.read_csv(ROOT / "seed" / "deals.csv", dtype=str)
    counting = deals[deals.status.isin(DEFAULT_STATUSES)]
    print(f"seed: {len(deals)} deals ({len(counting)} counting), "
          f"{len(set(deals.payer) | set(deals.payee))} entities; n={args.n}, seed={args.seed}\n")
    print(f"| max_len | significance s (best of {args.repeat}) | shuffles s | loop counting s "
          "| ms per null graph |")
    print("| --- | --- | --- | --- | --- |")
    res = None
    for k in args.max_len:
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            res = significance(deals, n=args.n, seed=args.seed, max_len=k)
            best = min(best, time.perf_counter() - t)
        # the two halves, timed separately on the same shuffles
        ids, _, edges = nullmodel._edges(deals, DEFAULT_STATUSES)
        rng = np.random.default_rng(np.random.PCG64(args.seed))
        t = time.perf_counter()
        graphs = [nullmodel.shuffle_deals(edges, rng)[0] for _ in range(args.n)]
        t_shuffle = time.perf_counter() - t
        t = time.perf_counter()
        for g in graphs:
            nullmodel.count_loops(map(tuple, g[:, :2]), len(ids), k)
        t_count = time.perf_counter() - t
        print(f"| {k} | {best:.2f} | {t_shuffle:.2f} | {t_count:.2f} | {1000 * best / args.n:.1f} |")
    assert res is not None
    print(f"\nmax_len {res.max_len}: {100 * res.acceptance:.0f}% of swaps made; distinct payer->payee "
          f"pairs observed {res.pairs['observed']:.0f}, null mean {res.pairs['null_mean']:.1f}\n")
    print("| length | observed | null mean | null std | z | p (one-sided) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k, v in res.by_length.items():
        z = "n/a" if v["z"] is None else f"{v['z']:.2f}"
        print(f"| {k} | {v['observed']} | {v['null_mean']:.2f} | {v['null_std']:.2f} | {z} | {v['p_value']:.3f} |")


if __name__ == "__main__":
    main()
