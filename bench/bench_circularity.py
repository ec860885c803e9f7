"""Time `circfin circularity` (Finn's cycling index) against a dense inverse of the whole matrix.

    python bench/bench_circularity.py --entities 10000 --deals 100000
    python bench/bench_circularity.py --before ../circfin-main --steps   # side by side with main

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

and how far the two indices agree; with ``--before CHECKOUT``, also
``finn_cycling_index`` of another checkout of circfin, in the same run; then the largest component's steps one by one
(``--steps``): the compiled elimination, the dense core (LAPACK ``getrf`` alone,
``getrf`` with two ``trtri`` and the entries the way back reads, as circfin does,
and ``getrf`` with ``getri``, the whole inverse, as before) and the selected
inversion back. Every timing is wall clock, the best of ``--repeat`` runs (the
dense baseline runs once), single process, with the CPU seconds it used (user plus
system, all threads: a busy machine stretches them less than the wall clock). The graph comes
from ``bench/scalefree.py`` (seeded): statuses, types and undisclosed amounts as
there, cancelled deals left out, undisclosed amounts skipped. The machine has 2
shared cores: expect noise between runs, and more when other work runs.
"""

from __future__ import annotations

import argparse
import gc
import os
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

from _checkout import ensure_circfin, load_checkout  # noqa: E402

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


CPU: dict[str, float] = {}  # CPU seconds of the best run, by the wall-clock time it took


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        t = time.perf_counter() - t0
        if t < best:
            best, cpu = t, time.process_time() - c0
    CPU[f"{best!r}"] = cpu
    return best, out


def cpu_of(t: float) -> float:
    return CPU.get(f"{t!r}", float("nan"))


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


def largest_component(F: sp.csr_matrix) -> sp.csr_matrix:
    """``P`` (flows over throughflow) of the largest strongly connected component."""
    _, labels = connected_components(F, directed=True, connection="strong")
    big = np.flatnonzero(labels == np.argmax(np.bincount(labels)))
    T = np.maximum(np.asarray(F.sum(axis=0)).ravel(), np.asarray(F.sum(axis=1)).ravel())
    return (sp.diags(1.0 / T[big]) @ F[big][:, big]).tocsr()


def steps(P: sp.csr_matrix, repeat: int) -> list[tuple[str, float]]:
    """The steps of ``circularity._sparse_returns`` on one component, timed one by one."""
    import scipy.linalg

    from circfin.analytics import _finn

    K = _finn.compiled()
    m = P.shape[0]
    rows, cols, pv, off, ptr, idx = C._pattern(P)
    t_order, (order, sptr, sidx) = best_of(lambda: K._min_degree(m, ptr, idx, C._degree_limit(m)),
                                           repeat)
    rank, core, cpos = C._core_places(order, m)
    a_rows, a_cols, a_vals = C._entries(rows, cols, pv, off, m)

    def eliminate() -> tuple[np.ndarray, ...]:
        u, low = np.zeros(sidx.size), np.zeros(sidx.size)
        piv = np.zeros(order.size)
        A = np.zeros((core.size, core.size))
        K._eliminate(a_rows, a_cols, a_vals, rank, cpos, sptr, sidx, u, low, piv, A)
        return u, low, piv, A

    t_elim, (u, low, piv, A) = best_of(eliminate, repeat)
    t_keys, keys = best_of(lambda: K._core_keys(rows, cols, cpos, sptr, sidx), repeat)
    t_getrf, _ = best_of(lambda: scipy.linalg.lapack.dgetrf(A.T.copy(order="F"), overwrite_a=True),
                         repeat)
    t_core, Zc = best_of(lambda: C._core_entries(A.copy(), keys, m, K), repeat)
    t_inv, Zfull = best_of(lambda: scipy.linalg.inv(A, check_finite=False), repeat)
    agree = float(np.max(np.abs(Zc[keys % m, keys // m] - Zfull[keys % m, keys // m])))

    def select() -> None:
        K._select(rows, cols, pv, rank, cpos, sptr, sidx, u, low, piv, Zc, np.empty(m), np.zeros(m))

    t_sel, _ = best_of(select, repeat)
    print(f"\nlargest component, step by step: {m:,} entities, {order.size:,} eliminated "
          f"(at most {C._ELIM_DEGREE} neighbours), core {core.size:,}; the way back reads "
          f"{keys.size:,} entries of the core's inverse ({keys.size / max(1, core.size) ** 2:.1%}); "
          f"they agree with the whole inverse to {agree:.1e}\n")
    return [("minimum-degree order (compiled)", t_order), ("elimination (compiled)", t_elim),
            ("the entries the way back reads", t_keys),
            (f"core: `getrf` alone ({core.size:,})", t_getrf),
            ("core: `getrf`, two `trtri`, the entries (circfin)", t_core),
            ("core: `getrf` and `getri`, the whole inverse (before)", t_inv),
            ("selected inversion back (compiled)", t_sel)]


BEFORE: Any = None  # analytics.circularity of another checkout (--before), or None
BEFORE_NAME = ""


def load_before(root: Path) -> Any:
    """``circfin.analytics.circularity`` of the checkout at ``root``, imported as a
    package of another name (``circfin_before``) beside this one."""
    import importlib
    import subprocess

    global BEFORE_NAME
    try:
        load_checkout(root, "circfin_before")
    except (ImportError, OSError) as e:
        raise SystemExit(f"no circfin checkout at {root}") from e
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    BEFORE_NAME = f"before ({commit or root})"
    return importlib.import_module("circfin_before.analytics.circularity")


def run(n_entities: int, n_deals: int, seed: int, repeat: int, dense: bool,
        show_steps: bool) -> None:
    deals = make_deals(n_entities, n_deals, seed=seed)
    rng = np.random.default_rng(seed)
    deals["confidence"] = rng.choice(["high", "medium", "low"], size=len(deals), p=[0.5, 0.3, 0.2])
    frame = Frame(deals, [{"id": i, "name": i} for i in entity_ids(n_entities)])
    F = flow_matrix(deals)
    print(f"\n### {n_entities:,} entities, {n_deals:,} deals (seed {seed})\n")
    print(f"{F.shape[0]:,} entities with disclosed flow, {F.nnz:,} payer->payee pairs, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    t_fci, cyc = best_of(lambda: C.finn_cycling_index(F), repeat)
    t_all, res = best_of(lambda: C.circularity(frame), repeat)
    rows = [("`finn_cycling_index` on the flow matrix", t_fci),
            ("`circularity()` from the deals frame", t_all)]
    if BEFORE is not None:
        t_old, old = best_of(lambda: BEFORE.finn_cycling_index(F), repeat)
        rows.insert(1, (f"`finn_cycling_index`, {BEFORE_NAME}", t_old))
        print(f"{BEFORE_NAME}: FCI {old.fci:.15g}, largest difference in a node's cycling "
              f"{np.max(np.abs(cyc.node_cycling - old.node_cycling)):.1e}\n")
    agree = ""
    if dense:
        t_dense, (fci_dense, cyc_dense) = best_of(lambda: dense_fci(F), 1)
        rows.append(("dense `numpy.linalg.inv` over the whole matrix", t_dense))
        agree = (f"\nFCI {cyc.fci:.12g} (circfin) against {fci_dense:.12g} (dense); largest "
                 f"difference in a node's cycling {np.max(np.abs(cyc.node_cycling - cyc_dense)):.1e}")
    print("| computation | seconds | CPU seconds | dense / this | before / this (CPU) |")
    print("|---|---:|---:|---:|---:|")
    base = rows[-1][1] if dense else None
    t_before = rows[1][1] if BEFORE is not None else None
    for what, t in rows:
        ratio = f"{base / t:,.1f}x" if base else ""
        vs = (f"{t_before / t:,.1f}x ({cpu_of(t_before) / cpu_of(t):,.1f}x)"
              if t_before and t <= t_before else "")
        print(f"| {what} | {t:,.2f} | {cpu_of(t):,.2f} | {ratio} | {vs} |")
    print(agree)
    print(f"\ncircularity(): FCI {res.fci:.6f}, {res.deals:,} deals counted, "
          f"{res.undisclosed['deals']:,} undisclosed skipped")
    if show_steps:
        P = largest_component(F)
        if P.shape[0] > C._DENSE_MAX:
            timed = steps(P, repeat)
            print("| step | seconds | CPU seconds |")
            print("|---|---:|---:|")
            for what, t in timed:
                print(f"| {what} | {t:,.2f} | {cpu_of(t):,.2f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, nargs="+", default=[10_000])
    ap.add_argument("--deals", type=int, nargs="+", default=[100_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-dense", action="store_true", help="skip the dense baseline")
    ap.add_argument("--before", type=Path, metavar="CHECKOUT",
                    help="also time finn_cycling_index of another checkout, in the same run")
    ap.add_argument("--steps", action="store_true",
                    help="time the largest component's steps one by one")
    args = ap.parse_args()
    if len(args.entities) != len(args.deals):
        ap.error("give as many --entities as --deals")
    if args.before is not None:
        global BEFORE
        BEFORE = load_before(args.before.resolve())
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    for n, m in zip(args.entities, args.deals, strict=True):
        run(n, m, args.seed, args.repeat, not args.no_dense, args.steps)


if __name__ == "__main__":
    main()
