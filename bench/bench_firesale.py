"""Time circfin.risk.fire_sale (Greenwood-Landier-Thesmar fire sales) on seeded random portfolios.

    python bench/bench_firesale.py

prints two markdown tables:

1. ``fire_sale`` at ``--holders`` x ``--assets`` (default 10,000 x 1,000): dense
   holdings (every entry > 0), and a scipy.sparse CSR variant with ``--density``
   (default 1 %) of the entries held, for 1 and 5 rounds, checks included;
2. side by side on a smaller size (``--small-holders`` x ``--small-assets``,
   default 300 x 100, dense): ``fire_sale`` against the plain Python loops of
   ``tests/test_risk_firesale.py::loop_fire_sale`` (the same model written
   with for-loops), with the ratio; the two agree to 1e-9 (checked here).

Each timing is the best of ``--repeat`` runs (default 5), wall clock, one
process. Portfolios: lognormal amounts, total assets 1-3x the holdings,
leverage 5-30, equity = assets / (1 + leverage), shocks 0-30 %, price impact
one over a depth of 1-10x each asset's total holdings, forced sales on 1 % of
the assets.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp


def _import() -> tuple[Any, Any]:
    from _checkout import ensure_circfin

    ensure_circfin()
    from circfin.risk import fire_sale

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.test_risk_firesale import loop_fire_sale

    return fire_sale, loop_fire_sale


def build(n: int, k: int, density: float, seed: int) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    if density >= 1:
        h: Any = rng.lognormal(0.0, 1.0, size=(n, k))
        per_holder = h.sum(axis=1)
        per_asset = h.sum(axis=0)
    else:
        h = sp.random(n, k, density=density, format="csr", random_state=rng,
                      data_rvs=lambda m: rng.lognormal(0.0, 1.0, m))
        per_holder = np.asarray(h.sum(axis=1)).ravel()
        per_asset = np.asarray(h.sum(axis=0)).ravel()
    a = per_holder * rng.uniform(1, 3, n) + 1.0
    b = rng.uniform(5, 30, n)
    e = a / (1 + b)
    f = rng.uniform(0, 0.3, k)
    lam = 1.0 / ((per_asset + 1.0) * rng.uniform(1, 10, k))
    forced = np.zeros(k)
    forced[rng.choice(k, size=max(1, k // 100), replace=False)] = per_asset.mean() * 0.1
    return h, a, b, e, f, lam, forced


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ms(s: float) -> str:
    return f"{s * 1e3:,.1f} ms" if s < 10 else f"{s:,.1f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holders", type=int, default=10_000)
    ap.add_argument("--assets", type=int, default=1_000)
    ap.add_argument("--density", type=float, default=0.01)
    ap.add_argument("--small-holders", type=int, default=300)
    ap.add_argument("--small-assets", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    fire_sale, loop_fire_sale = _import()

    print("| holdings | holders x assets | nonzeros | 1 round | 5 rounds |")
    print("|---|---:|---:|---:|---:|")
    for label, density in (("dense", 1.0), (f"sparse CSR, {100 * args.density:g} %", args.density)):
        h, a, b, e, f, lam, forced = build(args.holders, args.assets, density, args.seed)
        nnz = h.nnz if sp.issparse(h) else h.size
        times = []
        for rounds in (1, 5):
            t, _ = best_of(args.repeat, lambda h=h, a=a, b=b, e=e, f=f, lam=lam, forced=forced, rounds=rounds:
                           fire_sale(h, a, b, e, f, price_impact=lam, forced_sales=forced, rounds=rounds))
            times.append(t)
        print(f"| {label} | {args.holders:,} x {args.assets:,} | {nnz:,} | **{ms(times[0])}** | "
              f"{ms(times[1])} |")

    n, k = args.small_holders, args.small_assets
    h, a, b, e, f, lam, forced = build(n, k, 1.0, args.seed)
    hl, al, bl, el, fl, laml, forcedl = (x.tolist() for x in (h, a, b, e, f, lam, forced))
    print()
    print(f"| {n} x {k} dense, 3 rounds | circfin `fire_sale` | plain Python loops | **loops / circfin** |")
    print("|---|---:|---:|---:|")
    t_np, r = best_of(args.repeat, lambda: fire_sale(h, a, b, e, f, price_impact=lam,
                                                     forced_sales=forced, rounds=3))
    t_loop, want = best_of(max(1, args.repeat // 2),
                           lambda: loop_fire_sale(hl, al, bl, el, fl, laml, forcedl, 3))
    np.testing.assert_allclose(r.second_round_loss, want[3], rtol=1e-9)
    np.testing.assert_allclose(r.systemicness, want[6], rtol=1e-9)
    print(f"| time | {ms(t_np)} | {ms(t_loop)} | **{t_loop / t_np:,.0f}x** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
