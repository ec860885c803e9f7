"""Time `circfin circularity` (Finn's cycling index) against a dense inverse of the whole matrix.

    python bench/bench_circularity.py --entities 10000 --deals 100000

prints a markdown table for each size: the deal frame's shape (entities with flow,
flow pairs, the largest strongly connected component and the dense core left after
elimination), then

- ``finn_cycling_index`` on the entity-level flow matrix (per strongly connected
  component; a large one by minimum-degree elimination, a dense core and
  selected inversion back);
- the whole ``circularity()`` from a snapshot-like frame (filters, amounts,
  the flow matrix, the index, the ranked entities);
- the baseline: ``numpy.linalg.inv`` of ``I - P`` over the whole matrix, then
  ``1 - 1/N_ii`` (the textbook computation, as NetIndices and enaR do it);

and how far the two indices agree. Every timing is wall clock, the best of
``--repeat`` runs (the dense baseline runs once), single process. The graph comes
from ``bench/scalefree.py`` (seeded): statuses, types and undisclosed amounts as
there, cancelled deals left out, undisclosed amounts skipped. The machine has 2
shared cores: expect noise between runs, and more when other work runs.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

from _checkout import ensure_circfin  # noqa: E402

ensure_circfin()

import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from circfin.analytics import circularity as C  # noqa: E402

sys.path.insert(0, str(HERE))
from scalefree import entity_ids, make_deals  # noqa: E402


@dataclass
class Frame:
    """What circularity() reads of a snapshot (analytics.snapshot.SnapshotLike)."""

    deals: pd.DataFrame
    entities: list[dict[str, Any]]
    participants: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    financials: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] | None = None
    as_of: str | None = None


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def flow_matrix(deals: pd.DataFrame) -> sp.csr_matrix:
    d = deals[deals["status"].isin(C.DEFAULT_STATUSES) & deals["amount_usd"].notna()]
    codes, ids = pd.factorize(pd.concat([d["payer"], d["payee"]], ignore_index=True), sort=True)
    k = len(d)
    n = len(ids)
    return sp.csr_matrix((d["amount_usd"].to_numpy(np.float64), (codes[:k], codes[k:])), shape=(n, n))


def dense_fci(F: sp.csr_matrix) -> tuple[float, np.ndarray]:
    """The textbook way: T = max(inflow, outflow), N = inv(I - P) over the whole matrix."""
    A = F.toarray()
    T = np.maximum(A.sum(axis=0), A.sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(T[:, None] > 0, A / T[:, None], 0.0)
    del A
    N = np.linalg.inv(np.eye(P.shape[0]) - P)
    cyc = 1.0 - 1.0 / np.diag(N)
    return float(cyc @ T / T.sum()), cyc


def core_size(F: sp.csr_matrix) -> tuple[int, int]:
    """The largest strongly connected component and the dense core that minimum-degree
    elimination (the same rule as circularity's, symbolically) leaves of it."""
    import heapq

    _, labels = connected_components(F, directed=True, connection="strong")
    big = np.flatnonzero(labels == np.argmax(np.bincount(labels)))
    sub = F[big][:, big].tocoo()
    nb: list[set[int]] = [set() for _ in range(big.size)]
    for i, j in zip(sub.row.tolist(), sub.col.tolist(), strict=True):
        if i != j:
            nb[i].add(j)
            nb[j].add(i)
    alive = np.ones(big.size, dtype=bool)
    heap = [(len(s), i) for i, s in enumerate(nb)]
    heapq.heapify(heap)
    while heap:
        d, k = heapq.heappop(heap)
        if not alive[k] or d != len(nb[k]):
            continue
        if d > C._ELIM_DEGREE:
            break
        alive[k] = False
        for i in nb[k]:
            nb[i].discard(k)
            nb[i] |= nb[k]
            nb[i].discard(i)
            heapq.heappush(heap, (len(nb[i]), i))
    return big.size, int(alive.sum())


def run(n_entities: int, n_deals: int, seed: int, repeat: int, dense: bool) -> None:
    deals = make_deals(n_entities, n_deals, seed=seed)
    rng = np.random.default_rng(seed)
    deals["confidence"] = rng.choice(["high", "medium", "low"], size=len(deals), p=[0.5, 0.3, 0.2])
    frame = Frame(deals, [{"id": i, "name": i} for i in entity_ids(n_entities)])
    F = flow_matrix(deals)
    scc, core = core_size(F)
    print(f"\n### {n_entities:,} entities, {n_deals:,} deals (seed {seed})\n")
    print(f"{F.shape[0]:,} entities with disclosed flow, {F.nnz:,} payer->payee pairs; largest "
          f"strongly connected component {scc:,} entities, dense core after elimination {core:,}\n")
    t_fci, cyc = best_of(lambda: C.finn_cycling_index(F), repeat)
    t_all, res = best_of(lambda: C.circularity(frame), repeat)
    rows = [("`finn_cycling_index` on the flow matrix", t_fci),
            ("`circularity()` from the deals frame", t_all)]
    agree = ""
    if dense:
        t_dense, (fci_dense, cyc_dense) = best_of(lambda: dense_fci(F), 1)
        rows.append(("dense `numpy.linalg.inv` over the whole matrix", t_dense))
        agree = (f"\nFCI {cyc.fci:.12g} (circfin) against {fci_dense:.12g} (dense); largest "
                 f"difference in a node's cycling {np.max(np.abs(cyc.node_cycling - cyc_dense)):.1e}")
    print("| computation | seconds | dense / this |")
    print("|---|---:|---:|")
    base = rows[-1][1] if dense else None
    for what, t in rows:
        ratio = f"{base / t:,.1f}x" if base else ""
        print(f"| {what} | {t:,.2f} | {ratio} |")
    print(agree)
    print(f"\ncircularity(): FCI {res.fci:.6f}, {res.deals:,} deals counted, "
          f"{res.undisclosed['deals']:,} undisclosed skipped")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, nargs="+", default=[10_000])
    ap.add_argument("--deals", type=int, nargs="+", default=[100_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-dense", action="store_true", help="skip the dense baseline")
    args = ap.parse_args()
    if len(args.entities) != len(args.deals):
        ap.error("give as many --entities as --deals")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}")
    for n, m in zip(args.entities, args.deals, strict=True):
        run(n, m, args.seed, args.repeat, not args.no_dense)


if __name__ == "__main__":
    main()
