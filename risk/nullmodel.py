"""Are there more loops than chance would give? Two degree-preserving null models.

The observed deal graph is compared with ``n`` random graphs drawn from a null
model. Two are offered (:data:`NULL_MODELS`):

``rewire`` (the default): the standard degree-preserving rewiring of the
*simple* directed graph the loops are counted on (Maslov & Sneppen 2002).
The deals are first folded into distinct payer -> payee pairs (parallel deals
and deal types merge, self-deals drop out). Each random graph starts from
those pairs and applies ``swaps_per_deal * m`` attempted double-edge swaps
(``m`` distinct pairs; 10 per pair by default): two pairs ``a -> b`` and
``c -> d``, picked uniformly, become ``a -> d`` and ``c -> b``. A swap is
rejected when it would make a self-pair (``a == d`` or ``c == b``) or a pair
that already exists. Every entity's in- and out-degree on the simple graph
and the number of distinct pairs are therefore exactly those observed, so
the null's mean pair count equals the observed one. Each proposal is as
likely as its reverse and a rejected one keeps the current graph (it is not
retried), so the chain does not favour graphs that admit more swaps; the
acceptance rate is reported. (On directed graphs double-edge
swaps alone do not reach every graph with the same degrees: reversing a
directed triangle needs a three-edge move; see Berger & Mueller-Hannemann
2010. It matters only on small, tightly constrained graphs.)

``types``: the directed configuration model *within each deal type*: for every
type separately, every entity's number of deals paid and received is kept.
Each random graph starts from the observed deals and applies
``swaps_per_deal * m_t`` attempted swaps within each type ``t`` (``m_t`` deals
of that type): two deals ``a -> b`` and ``c -> d`` of the same type become
``a -> d`` and ``c -> b``. A swap is rejected when it would create a self-deal
or, with ``allow_parallel=False`` (the default), a second deal of the same
type between the same payer and payee that was not there before. Because
parallel deals of different types fold into one edge when loops are counted,
this model spreads the deals over more distinct pairs than the data has (on
the seed, ``pairs.null_mean`` well above ``pairs.observed``), and more pairs
make more loops: longer loops then look rarer than chance partly because of
the null itself. It was circfin's only model and is kept for comparison.

Loops are counted as circfin counts them: entity-level simple directed
cycles of 2..``max_len`` entities, parallel deals between the same two
entities folded into one edge, each loop once. Deals that count are those
whose status is in ``status`` (default: all but cancelled). Counting uses
circfin's loop engine (:func:`circfin.loops.engine.cycle_counts`, counts
without loop records), checked against a brute-force count in the tests;
networkx's bounded ``simple_cycles`` took minutes on a few thousand deals.
``pairs`` reports the distinct payer -> payee pairs observed and
their null mean, to read the loop counts against.

For each loop length ``k`` and each entity ``e`` (loops through ``e``, all
lengths) the result holds the observed count, the null mean and standard
deviation (``ddof=1``), ``z = (observed - mean) / std`` (``None`` when the
null never varies: std 0) and the one-sided empirical p-value
``(1 + #{null >= observed}) / (n + 1)``. Same deals, ``n``, ``seed`` and
options give the same result.

:func:`sensitivity` runs several null models on the same deals (the observed
graph counted once) and tabulates, per loop length, the observed count and
each model's null mean, z and p, with each model's pair counts and swap
acceptance; :func:`sensitivity_markdown` renders it as markdown rows.
"""

from __future__ import annotations

__all__ = [
    "NULL_MODELS",
    "Significance",
    "count_loops",
    "null_samples",
    "rewire_pairs",
    "sensitivity",
    "sensitivity_from",
    "sensitivity_markdown",
    "shuffle_deals",
    "significance",
    "significance_by_model",
]

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..loops.from_store import DEFAULT_STATUSES

# The null models, the default first: "rewire" keeps the simple graph's degrees and
# pair count (Maslov-Sneppen swaps); "types" keeps every entity's deals per type.
NULL_MODELS: tuple[str, ...] = ("rewire", "types")


@dataclass
class Significance:
    """Observed loop counts against the null model, by length and by entity."""

    n: int
    seed: int
    max_len: int
    deals: int
    by_length: dict[int, dict[str, Any]]
    by_entity: dict[str, dict[str, Any]]
    acceptance: float  # share of attempted swaps that were made
    # distinct payer -> payee pairs: observed, null mean (None when no shuffle ran)
    pairs: dict[str, float | None] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    # False when a budget cut the work: ``note`` says what (e.g. the observed graph
    # has more loops than max_loops: its counts are then lower bounds and no
    # shuffle is compared; or the time ran out after some shuffles: ``n`` is
    # how many were used).
    complete: bool = True
    note: str | None = None
    null: str = "rewire"  # the null model: one of NULL_MODELS

    @property
    def z_by_length(self) -> dict[int, float | None]:
        return {k: v["z"] for k, v in self.by_length.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"null": self.null, "n": self.n, "seed": self.seed, "max_len": self.max_len,
                "deals": self.deals, "acceptance": self.acceptance, "pairs": self.pairs, "params": self.params,
                "by_length": {str(k): v for k, v in self.by_length.items()},
                "by_entity": self.by_entity, "complete": self.complete, "truncated": self.note}


def _edges(deals: pd.DataFrame, status: Iterable[str] | None) -> tuple[list[str], list[str], np.ndarray]:
    """(entity ids, type names, int array of rows (payer, payee, type)) of the counting deals."""
    d = deals
    if status is not None:
        d = d[d["status"].isin(list(status))]
    d = d[d["payer"].notna() & d["payee"].notna()]
    d = d[d["payer"].astype(str) != d["payee"].astype(str)]
    ids = sorted(set(d["payer"].astype(str)) | set(d["payee"].astype(str)))
    types = sorted(set(d["type"].astype(str)))
    ix = {e: i for i, e in enumerate(ids)}
    tx = {t: i for i, t in enumerate(types)}
    arr = np.array([(ix[str(a)], ix[str(b)], tx[str(t)])
                    for a, b, t in zip(d["payer"], d["payee"], d["type"], strict=True)], dtype=np.int64).reshape(-1, 3)
    return ids, types, arr


def shuffle_deals(edges: np.ndarray, rng: np.random.Generator, *, swaps_per_deal: float = 10.0,
                  allow_parallel: bool = False) -> tuple[np.ndarray, int, int]:
    """One null-model graph: payee swaps within each type. Returns (edges, accepted, attempted).

    ``edges``: rows ``(payer, payee, type)`` of ints; the input is not changed.
    """
    out = edges.copy()
    accepted = attempted = 0
    for t in np.unique(out[:, 2]) if len(out) else []:
        rows = np.flatnonzero(out[:, 2] == t)
        m = len(rows)
        if m < 2:
            continue
        k = int(math.ceil(swaps_per_deal * m))
        attempted += k
        picks = rng.integers(0, m, size=(k, 2))
        pairs: dict[tuple[int, int], int] = {}
        for r in rows:
            key = (int(out[r, 0]), int(out[r, 1]))
            pairs[key] = pairs.get(key, 0) + 1
        for i, j in picks:
            if i == j:
                continue
            r1, r2 = rows[i], rows[j]
            a, b = int(out[r1, 0]), int(out[r1, 1])
            c, d = int(out[r2, 0]), int(out[r2, 1])
            if a == d or c == b or b == d:
                continue
            if not allow_parallel and (pairs.get((a, d), 0) or pairs.get((c, b), 0)):
                continue
            for key, step in (((a, b), -1), ((c, d), -1), ((a, d), 1), ((c, b), 1)):
                pairs[key] = pairs.get(key, 0) + step
            out[r1, 1], out[r2, 1] = d, b
            accepted += 1
    return out, accepted, attempted


def _fold(edges: np.ndarray) -> np.ndarray:
    """The distinct payer -> payee pairs of rows ``(payer, payee, ...)``, self-pairs dropped, sorted."""
    if len(edges) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    p = np.asarray(edges)[:, :2].astype(np.int64)
    p = p[p[:, 0] != p[:, 1]]
    return np.unique(p, axis=0).reshape(-1, 2)


def rewire_pairs(edges: np.ndarray, rng: np.random.Generator, *, swaps_per_edge: float = 10.0
                 ) -> tuple[np.ndarray, int, int]:
    """One null-model graph of the ``rewire`` model. Returns (pairs, accepted, attempted).

    ``edges``: rows ``(payer, payee, ...)`` of ints (extra columns such as the
    type are ignored); the input is not changed. They are folded into distinct
    pairs (self-pairs dropped), then ``ceil(swaps_per_edge * m)`` double-edge
    swaps are attempted (``m`` pairs): two pairs picked uniformly, ``a -> b``
    and ``c -> d``, become ``a -> d`` and ``c -> b`` unless that makes a
    self-pair or a pair already present. The result has ``m`` distinct pairs
    (an ``m x 2`` array) and every node's in- and out-degree of the input's
    simple graph.
    """
    pairs = _fold(edges)
    m = len(pairs)
    if m < 2:
        return pairs, 0, 0
    src = pairs[:, 0].tolist()
    dst = pairs[:, 1].tolist()
    present = set(zip(src, dst, strict=True))
    k = int(math.ceil(swaps_per_edge * m))
    accepted = 0
    for i, j in rng.integers(0, m, size=(k, 2)).tolist():
        a, b, c, d = src[i], dst[i], src[j], dst[j]
        # i == j, a shared payer or a shared payee all land in "already present"
        if a == d or c == b or (a, d) in present or (c, b) in present:
            continue
        present.difference_update(((a, b), (c, d)))
        present.update(((a, d), (c, b)))
        dst[i], dst[j] = d, b
        accepted += 1
    return np.array([src, dst], dtype=np.int64).T.reshape(-1, 2), accepted, k


def count_loops(pairs: Iterable[tuple[int, int]], n_nodes: int, max_len: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Entity-level loops of 2..max_len entities: (count by length, index = length; count per node)."""
    by_len, by_node, _ = _count_loops(pairs, n_nodes, max_len)
    return by_len, by_node


def _count_loops(pairs: Iterable[tuple[int, int]] | np.ndarray, n_nodes: int, max_len: int, *,
                 max_loops: int | None = None, deadline: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, str | None]:
    """:func:`count_loops` that stops after ``max_loops`` loops or at ``deadline``
    (``time.perf_counter()``); the third item is None, "max_loops" or "time_budget".
    Counted by circfin's own loop engine (:func:`circfin.loops.engine.cycle_counts`),
    which never builds the loops: networkx's ``simple_cycles`` took minutes for the
    hundreds of random graphs of a report's sensitivity table on a few thousand deals."""
    from ..loops.engine import cycle_counts

    arr = (pairs if isinstance(pairs, np.ndarray) else np.array(list(pairs))).astype(np.int64).reshape(-1, 2)
    budget = None
    if deadline is not None:
        budget = deadline - time.perf_counter()
        if budget <= 0:
            return (np.zeros(max_len + 1, dtype=np.int64), np.zeros(n_nodes, dtype=np.int64),
                    "time_budget")
    return cycle_counts(arr[:, 0], arr[:, 1], n_nodes, max_len,
                        max_loops=max_loops or None, time_budget=budget)  # 0: no limit, as in Budget


def _pairs(edges: np.ndarray) -> int:
    return len({(int(a), int(b)) for a, b in edges[:, :2]})


def _check_null(null: str) -> str:
    if null not in NULL_MODELS:
        raise ValueError(f"null must be one of {', '.join(NULL_MODELS)}, got {null!r}")
    return null


def null_samples(edges: np.ndarray, n_nodes: int, *, n: int, seed: int, max_len: int,
                 swaps_per_deal: float = 10.0, allow_parallel: bool = False,
                 progress: Callable[[int], None] | None = None, budget: Any = None,
                 null: str = "types", until: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Loop counts of ``n`` null graphs: (by length: n x (max_len+1), by node: n x nodes,
    acceptance, distinct payer -> payee pairs per graph).

    ``null``: "types" (payee swaps within each type, this function's default
    for its existing callers) or "rewire" (double-edge swaps of the distinct
    pairs, ``swaps_per_deal`` attempts per pair; ``allow_parallel`` unused).

    With a ``budget`` (:class:`circfin.loops.from_store.Budget`) the sampling stops
    when its time is up, or at a graph with more than ``budget.max_loops``
    loops (whose counts would be lower bounds); the arrays then hold only the
    graphs counted in full, and ``budget`` records the cut. ``until``
    (``time.perf_counter()``) stops the sampling earlier than the budget's end,
    recorded the same way."""
    _check_null(null)
    rng = np.random.default_rng(np.random.PCG64(seed))
    lens = np.zeros((n, max_len + 1), dtype=np.int64)
    nodes = np.zeros((n, n_nodes), dtype=np.int64)
    pairs = np.zeros(n, dtype=np.int64)
    acc = att = 0
    cap = None if budget is None else budget.max_loops
    deadline = (None if budget is None or budget.time_budget is None
                else budget.t0 + budget.time_budget)
    if until is not None:
        deadline = until if deadline is None else min(deadline, until)
    folded = _fold(edges) if null == "rewire" else edges
    done = n
    for s in range(n):
        if deadline is not None and time.perf_counter() >= deadline:
            done = s
            budget.stop("time_budget", None, f"after {s} of {n} shuffles ({null} null model)")
            break
        if null == "rewire":
            shuffled, a, t = rewire_pairs(folded, rng, swaps_per_edge=swaps_per_deal)
        else:
            shuffled, a, t = shuffle_deals(edges, rng, swaps_per_deal=swaps_per_deal,
                                           allow_parallel=allow_parallel)
        acc += a
        att += t
        pairs[s] = _pairs(shuffled)
        lens[s], nodes[s], cut = _count_loops(shuffled[:, :2], n_nodes, max_len,
                                              max_loops=cap, deadline=deadline)
        if cut is not None:
            done = s  # this graph's counts are lower bounds: leave it out
            budget.stop(cut, cap if cut == "max_loops" else None,
                        f"in shuffled graph {s + 1} of {n} ({null} null model); {s} used")
            break
        if progress is not None:
            progress(s + 1)
    if done < n:
        lens, nodes, pairs = lens[:done], nodes[:done], pairs[:done]
    return lens, nodes, (acc / att if att else 0.0), pairs


def _stats(observed: int, null: np.ndarray) -> dict[str, Any]:
    n = len(null)
    if n == 0:  # nothing to compare with (a budget stopped the work first)
        return {"observed": int(observed), "null_mean": None, "null_std": None, "z": None,
                "p_value": None}
    mean = float(null.mean()) if n else 0.0
    std = float(null.std(ddof=1)) if n > 1 else 0.0
    z = (observed - mean) / std if std > 0 else None
    p = (1 + int((null >= observed).sum())) / (n + 1)
    return {"observed": int(observed), "null_mean": mean, "null_std": std, "z": z, "p_value": p}


def significance(deals: pd.DataFrame, *, n: int = 200, seed: int = 1, max_len: int = 5,
                 status: Sequence[str] | None = DEFAULT_STATUSES, swaps_per_deal: float = 10.0,
                 allow_parallel: bool = False,
                 progress: Callable[[int], None] | None = None, budget: Any = None,
                 null: str = "rewire") -> Significance:
    """Loop counts of the deals against ``n`` graphs of a degree-preserving null model
    (see the module docstring).

    ``deals``: columns ``payer, payee, type, status``. ``null``: "rewire" (the
    default) or "types". ``swaps_per_deal``: attempted swaps per distinct pair
    (rewire) or per deal (types); ``allow_parallel`` applies to "types" only.
    ``progress(i)`` is called after each random graph. Raises ValueError for
    ``n < 1``, ``max_len`` outside 2..12, ``swaps_per_deal < 0`` or an unknown
    ``null``.

    ``budget`` (:class:`circfin.loops.from_store.Budget`, default none) bounds the
    work: counting stops at ``budget.max_loops`` loops in one graph or when the
    time is up. If the observed graph is cut, its counts are lower bounds and
    no shuffle is compared (null fields None); if a shuffle is cut, the
    shuffles counted in full so far are used (``n`` says how many). Either
    way ``complete`` is False and ``note`` says what was cut.
    """
    return significance_by_model(deals, models=(null,), n=n, seed=seed, max_len=max_len, status=status,
                                 swaps_per_deal=swaps_per_deal, allow_parallel=allow_parallel,
                                 progress=progress, budget=budget)[null]


def significance_by_model(deals: pd.DataFrame, *, models: Sequence[str] = NULL_MODELS, n: int = 200,
                          seed: int = 1, max_len: int = 5,
                          status: Sequence[str] | None = DEFAULT_STATUSES, swaps_per_deal: float = 10.0,
                          allow_parallel: bool = False,
                          progress: Callable[[int], None] | None = None,
                          budget: Any = None) -> dict[str, Significance]:
    """:func:`significance` under each null model in ``models`` (in that order), the
    observed graph counted once; each model draws its ``n`` graphs from ``seed``.

    ``progress(i)`` counts random graphs over all models (``n * len(models)`` in
    all). With a time ``budget`` each model gets an equal share of the time
    left when its turn comes (a model that finishes early leaves the rest to
    the next), so a cut leaves every model some graphs; each result's ``n``,
    ``complete`` and ``note`` say what was cut.
    """
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not (isinstance(max_len, int) and 2 <= max_len <= 12):
        raise ValueError(f"max_len must be an integer in 2..12, got {max_len!r}")
    if not (math.isfinite(float(swaps_per_deal)) and swaps_per_deal >= 0):
        raise ValueError(f"swaps_per_deal must be >= 0, got {swaps_per_deal!r}")
    models = [_check_null(m) for m in models]
    if not models or len(set(models)) != len(models):
        raise ValueError(f"models must name each null model once, got {models!r}")
    ids, types, edges = _edges(deals, status)
    deadline = (None if budget is None or budget.time_budget is None
                else budget.t0 + budget.time_budget)
    obs_len, obs_node, cut = _count_loops(edges[:, :2], len(ids), max_len,
                                          max_loops=None if budget is None else budget.max_loops,
                                          deadline=deadline)
    if cut is not None:
        found = int(obs_len.sum())
        budget.stop(cut, found, "counting the observed graph's loops (its counts are lower "
                    "bounds; no shuffle was compared)")
    out: dict[str, Significance] = {}
    for i, null in enumerate(models):
        if cut is not None:
            lens = np.zeros((0, max_len + 1), dtype=np.int64)
            nodes = np.zeros((0, len(ids)), dtype=np.int64)
            acc, pairs = 0.0, np.zeros(0, dtype=np.int64)
        else:
            step = None if progress is None else (lambda k, off=i * n: progress(off + k))
            # a fair share of the time left, so that a later model is not starved
            until = (None if deadline is None
                     else time.perf_counter() + (deadline - time.perf_counter()) / (len(models) - i))
            lens, nodes, acc, pairs = null_samples(
                edges, len(ids), n=n, seed=int(seed), max_len=max_len, swaps_per_deal=swaps_per_deal,
                allow_parallel=allow_parallel, progress=step, budget=budget, null=null, until=until)
        by_length = {k: _stats(int(obs_len[k]), lens[:, k]) for k in range(2, max_len + 1)}
        by_entity = {e: _stats(int(obs_node[j]), nodes[:, j]) for j, e in enumerate(ids)}
        out[null] = Significance(
            n=len(lens), seed=int(seed), max_len=max_len, deals=len(edges),
            by_length=by_length, by_entity=by_entity, acceptance=acc,
            pairs={"observed": float(_pairs(edges)),
                   "null_mean": float(pairs.mean()) if len(pairs) else None},
            params={"swaps_per_deal": swaps_per_deal,
                    "swaps_per": "distinct pair" if null == "rewire" else "deal",
                    "allow_parallel": allow_parallel,
                    "status": None if status is None else list(status), "types": types,
                    "n_requested": n},
            complete=budget is None or budget.complete,
            note=None if budget is None else budget.note, null=null)
    return out


def sensitivity_from(results: Mapping[str, Significance] | Iterable[Significance]) -> dict[str, Any]:
    """The sensitivity table of results on the same deals under several null models.

    Returns ``{"models": [names], "n", "seed", "max_len", "deals", "pairs":
    {"observed", <model>: null mean, ...}, "acceptance": {<model>: share},
    "rows": [{"length", "observed", <model>: {"null_mean", "null_std", "z",
    "p_value"}, ...}], "complete", "truncated"}`` (JSON-ready).
    """
    runs = list(results.values()) if isinstance(results, Mapping) else list(results)
    if not runs:
        raise ValueError("no results to compare")
    first = runs[0]
    names = [r.null for r in runs]
    rows = []
    for k, v in first.by_length.items():
        row: dict[str, Any] = {"length": k, "observed": v["observed"]}
        for r in runs:
            st = r.by_length[k]
            row[r.null] = {key: st[key] for key in ("null_mean", "null_std", "z", "p_value")}
        rows.append(row)
    cut = [r for r in runs if not r.complete]
    return {"models": names, "n": {r.null: r.n for r in runs}, "seed": first.seed,
            "max_len": first.max_len, "deals": first.deals,
            "pairs": {"observed": first.pairs.get("observed"),
                      **{r.null: r.pairs.get("null_mean") for r in runs}},
            "acceptance": {r.null: r.acceptance for r in runs},
            "rows": rows, "complete": not cut, "truncated": cut[0].note if cut else None}


def sensitivity(deals: pd.DataFrame, *, models: Sequence[str] = NULL_MODELS, n: int = 200, seed: int = 1,
                max_len: int = 5, status: Sequence[str] | None = DEFAULT_STATUSES,
                swaps_per_deal: float = 10.0, progress: Callable[[int], None] | None = None,
                budget: Any = None) -> dict[str, Any]:
    """Loop counts by length under each null model side by side: :func:`sensitivity_from`
    of :func:`significance_by_model` (same arguments)."""
    return sensitivity_from(significance_by_model(
        deals, models=models, n=n, seed=seed, max_len=max_len, status=status,
        swaps_per_deal=swaps_per_deal, progress=progress, budget=budget))


def sensitivity_markdown(table: Mapping[str, Any]) -> list[str]:
    """Markdown lines of a :func:`sensitivity` table: a header, then one row per loop
    length (observed; each model's null mean, z and p) and a last row of distinct
    pairs (observed; each model's null mean)."""
    def num(v: Any, digits: int) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    models = list(table["models"])
    head = ["length", "observed"] + [f"{m} {col}" for m in models for col in ("null mean", "z", "p")]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |"]
    for row in table["rows"]:
        cells = [str(row["length"]), str(row["observed"])]
        for m in models:
            st = row[m]
            cells += [num(st["null_mean"], 1), num(st["z"], 2), num(st["p_value"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    pairs = table["pairs"]
    cells = ["distinct pairs", num(pairs["observed"], 0)]
    for m in models:
        cells += [num(pairs.get(m), 1), "", ""]
    lines.append("| " + " | ".join(cells) + " |")
    return lines
