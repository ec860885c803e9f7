"""Time the two null models of ``circfin significance`` side by side on the seed dataset.

    python bench/bench_nullmodel.py                 # n=200, seed 1, max_len 4, 5 and 6
    python bench/bench_nullmodel.py --n 1000 --max-len 5

prints markdown: for each ``max_len``, one timing row per null model
(``rewire``: Maslov-Sneppen swaps of the distinct payer -> payee pairs, the
default; ``types``: payees shuffled among deals of one type), with the wall
clock of ``circfin.risk.significance`` on the seed's deals (best of
``--repeat``, and its CPU time, steadier on a shared machine), the time spent making the random graphs vs counting their
loops, and the rewire/types ratio; then the sensitivity table (observed loop
counts against each model's null, and the distinct pairs) for the last
``max_len``. Both models draw the same ``--n`` graphs from the same seed. The
seed is read from ``seed/deals.csv`` directly (ids as given there), so no
database is needed; ``circfin significance`` reads the same deals from the store.
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
    print(f"| max_len | null model | significance s (best of {args.repeat}) | CPU s | random graphs s "
          "| loop counting s | ms per null graph | rewire / types (CPU) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    ids, _, edges = nullmodel._edges(deals, DEFAULT_STATUSES)
    folded = nullmodel._fold(edges)
    for k in args.max_len:
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}  # process time of the best run: steadier on a shared machine
        halves: dict[str, tuple[float, float]] = {}
        for model in nullmodel.NULL_MODELS:
            best[model] = cpu[model] = float("inf")
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                significance(deals, n=args.n, seed=args.seed, max_len=k, null=model)
                best[model] = min(best[model], time.perf_counter() - t)
                cpu[model] = min(cpu[model], time.process_time() - c)
            # the two halves, timed separately on the same random graphs
            rng = np.random.default_rng(np.random.PCG64(args.seed))
            t = time.perf_counter()
            if model == "rewire":
                graphs = [nullmodel.rewire_pairs(folded, rng)[0] for _ in range(args.n)]
            else:
                graphs = [nullmodel.shuffle_deals(edges, rng)[0] for _ in range(args.n)]
            t_make = time.perf_counter() - t
            t = time.perf_counter()
            for g in graphs:
                nullmodel.count_loops(map(tuple, g[:, :2]), len(ids), k)
            halves[model] = (t_make, time.perf_counter() - t)
        for model in nullmodel.NULL_MODELS:
            ratio = (f"{best['rewire'] / best['types']:.2f} ({cpu['rewire'] / cpu['types']:.2f})"
                     if model == "rewire" else "")
            print(f"| {k} | {model} | {best[model]:.2f} | {cpu[model]:.2f} | {halves[model][0]:.2f} "
                  f"| {halves[model][1]:.2f} "
                  f"| {1000 * best[model] / args.n:.1f} | {ratio} |")
    table = nullmodel.sensitivity(deals, n=args.n, seed=args.seed, max_len=args.max_len[-1])
    acc = ", ".join(f"{m} {100 * table['acceptance'][m]:.0f}%" for m in table["models"])
    print(f"\nmax_len {table['max_len']}, swaps made: {acc}\n")
    print("\n".join(nullmodel.sensitivity_markdown(table)))


if __name__ == "__main__":
    main()
