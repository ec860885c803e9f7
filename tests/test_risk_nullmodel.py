"""The null models: the rewiring keeps the simple graph's degrees and pair count exactly, the
per-type shuffle keeps degrees per type exactly; both seeded, loops counted as circfin counts them,
a planted loop-rich structure stands out, and the sensitivity table compares the two."""

from __future__ import annotations

import json
import math
from collections import Counter
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin.ingest import ingest
from circfin.loops.from_store import loops_from_store, snapshot
from circfin.risk import nullmodel, significance
from circfin.risk.nullmodel import (
    count_loops,
    null_samples,
    rewire_pairs,
    sensitivity,
    sensitivity_markdown,
    shuffle_deals,
    significance_by_model,
)

from .conftest import SEED
from .test_risk_score import risk_cli  # noqa: F401  (fixture)

ENGINE = "cypher"


@st.composite
def typed_edges(draw):
    n = draw(st.integers(min_value=2, max_value=9))
    m = draw(st.integers(min_value=0, max_value=40))
    rows = []
    for _ in range(m):
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 2))
        b = b + 1 if b >= a else b  # no self-deals
        rows.append((a, b, draw(st.integers(0, 2))))
    return n, np.array(rows, dtype=np.int64).reshape(-1, 3)


def _degrees(edges):
    return (Counter((int(a), int(t)) for a, _, t in edges), Counter((int(b), int(t)) for _, b, t in edges))


@settings(max_examples=150, deadline=None)
@given(g=typed_edges(), seed=st.integers(0, 2**32 - 1), parallel=st.booleans())
def test_shuffles_keep_every_degree_per_type_exactly(g, seed, parallel):
    n, edges = g
    out, accepted, attempted = shuffle_deals(edges, np.random.default_rng(seed), swaps_per_deal=5,
                                             allow_parallel=parallel)
    assert out.shape == edges.shape and accepted <= attempted
    assert _degrees(out) == _degrees(edges)  # out- and in-degree of every entity in every type
    assert Counter(out[:, 2].tolist()) == Counter(edges[:, 2].tolist())
    assert not np.any(out[:, 0] == out[:, 1])  # no self-deals
    assert np.array_equal(out[:, [0, 2]], edges[:, [0, 2]])  # only payees move
    if not parallel:  # no new parallel deal of one type between the same two entities
        before = Counter(map(tuple, edges.tolist()))
        for key, k in Counter(map(tuple, out.tolist())).items():
            assert k <= max(1, before.get(key, 0))


def test_shuffles_do_move_payees():
    edges = np.array([(i, (i + 1) % 8, 0) for i in range(8)] + [(i, (i + 3) % 8, 0) for i in range(8)])
    out, accepted, _ = shuffle_deals(edges, np.random.default_rng(3))
    assert accepted > 0 and not np.array_equal(out, edges)


def _brute_force(pairs, n, max_len):
    """Every simple cycle, once, by trying every ordered tuple of distinct nodes."""
    adj = set(pairs)
    by_len, by_node = Counter(), Counter()
    for k in range(2, max_len + 1):
        for tup in permutations(range(n), k):
            if tup[0] != min(tup):
                continue
            if all((tup[i], tup[(i + 1) % k]) in adj for i in range(k)):
                by_len[k] += 1
                by_node.update(tup)
    return by_len, by_node


@settings(max_examples=60, deadline=None)
@given(g=typed_edges(), max_len=st.integers(2, 5))
def test_count_loops_against_brute_force(g, max_len):
    n, edges = g
    pairs = [(int(a), int(b)) for a, b, _ in edges]
    by_len, by_node = count_loops(pairs, n, max_len)
    want_len, want_node = _brute_force(pairs, n, max_len)
    assert {k: int(by_len[k]) for k in range(2, max_len + 1) if by_len[k]} == dict(want_len)
    assert {i: int(by_node[i]) for i in range(n) if by_node[i]} == dict(want_node)


def _frame(edges, types=("equity_investment", "cloud_commitment", "chip_purchase")):
    return pd.DataFrame({"payer": [f"e{a}" for a, _, _ in edges], "payee": [f"e{b}" for _, b, _ in edges],
                         "type": [types[t] for _, _, t in edges], "status": "signed"})


def test_seeded_and_reproducible():
    rng = np.random.default_rng(0)
    edges = [(int(a), int(b), int(t)) for a, b, t in rng.integers(0, 12, (60, 3)) if a != b]
    edges = [(a, b, t % 3) for a, b, t in edges]
    d = _frame(edges)
    one = significance(d, n=30, seed=7, max_len=4).to_dict()
    assert significance(d, n=30, seed=7, max_len=4).to_dict() == one
    other = significance(d, n=30, seed=8, max_len=4).to_dict()
    assert other["by_length"] != one["by_length"]
    assert json.loads(json.dumps(one)) == one


def test_a_planted_loop_rich_structure_stands_out():
    # twelve one-type triangles plus a sparse random background of the same type
    edges = []
    for k in range(12):
        a, b, c = 3 * k, 3 * k + 1, 3 * k + 2
        edges += [(a, b, 0), (b, c, 0), (c, a, 0)]
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = rng.choice(36, size=2, replace=False)
        edges.append((int(a), int(b), 1))
    res = significance(_frame(edges), n=200, seed=1, max_len=4)
    three = res.by_length[3]
    assert three["observed"] >= 12
    assert three["z"] is not None and three["z"] > 2 and three["p_value"] < 0.05
    assert three["null_mean"] < three["observed"]


def test_loops_are_counted_as_circfin_counts_them(store):
    ingest(store, [SEED])
    loops, _, _ = loops_from_store(store, engine=ENGINE, max_len=5)
    res = significance(snapshot(store).deals, n=3, seed=1, max_len=5)
    want = Counter(lp.length for lp in loops)
    assert {k: v["observed"] for k, v in res.by_length.items()} == {k: want[k] for k in range(2, 6)}
    through = Counter(e for lp in loops for e in lp.ids)
    assert {e: v["observed"] for e, v in res.by_entity.items() if v["observed"]} == dict(through)
    snap = snapshot(store)
    assert res.deals == int((snap.deals["status"] != "cancelled").sum())  # cancelled deals do not count


def test_bad_arguments():
    d = _frame([(0, 1, 0), (1, 0, 1)])
    for kw in ({"n": 0}, {"max_len": 1}, {"max_len": 13}, {"swaps_per_deal": -1}):
        with pytest.raises(ValueError):
            significance(d, **kw)


def test_cli_significance_json(store, risk_cli):  # noqa: F811
    ingest(store, [SEED])
    proc = risk_cli("significance", "--n", "20", "--seed", "3", "--max-len", "4", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["n"] == 20 and set(data["by_length"]) == {"2", "3", "4"}
    pairs, _, _ = loops_from_store(store, engine=ENGINE, max_len=2)
    assert data["by_length"]["2"]["observed"] == len(pairs) > 0
    assert proc.stderr == ""  # no progress bar outside a terminal or with --format json
    proc = risk_cli("significance", "--n", "0")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1


# ---- the rewire null model (Maslov-Sneppen swaps of the distinct pairs) and the sensitivity table ----

def _simple_degrees(pairs):
    pairs = {(int(a), int(b)) for a, b in pairs if a != b}
    return Counter(a for a, _ in pairs), Counter(b for _, b in pairs), len(pairs)


@settings(max_examples=200, deadline=None)
@given(g=typed_edges(), seed=st.integers(0, 2**32 - 1), swaps=st.sampled_from([0.5, 3, 10]))
def test_rewiring_keeps_the_simple_graphs_degrees_and_pair_count_exactly(g, seed, swaps):
    _, edges = g  # parallel deals and deals of several types between the same two entities included
    out, accepted, attempted = rewire_pairs(edges, np.random.default_rng(seed), swaps_per_edge=swaps)
    assert _simple_degrees(out) == _simple_degrees(edges[:, :2])  # in, out, number of pairs
    assert out.shape == (_simple_degrees(edges[:, :2])[2], 2)
    assert not np.any(out[:, 0] == out[:, 1])  # no self-loops
    assert len({tuple(r) for r in out.tolist()}) == len(out)  # no duplicate pairs
    m = len(out)
    assert attempted == (math.ceil(swaps * m) if m >= 2 else 0) and 0 <= accepted <= attempted
    # the same seed, the same graph
    again, acc2, _ = rewire_pairs(edges, np.random.default_rng(seed), swaps_per_edge=swaps)
    assert np.array_equal(again, out) and acc2 == accepted


def _ring_with_chords(n=10):
    return np.array([(i, (i + 1) % n, 0) for i in range(n)] + [(i, (i + 3) % n, 1) for i in range(n)])


def test_rewiring_is_seeded_and_moves_pairs():
    edges = _ring_with_chords()
    one, accepted, attempted = rewire_pairs(edges, np.random.default_rng(5))
    assert accepted > 0 and attempted == 200
    assert {tuple(r) for r in one.tolist()} != {(int(a), int(b)) for a, b, _ in edges}
    other, _, _ = rewire_pairs(edges, np.random.default_rng(6))
    assert not np.array_equal(one, other)


def test_rewiring_visits_every_configuration_evenly():
    # payer 0 pays two of the payees 2, 3, 4 and payer 1 the third: three simple graphs with
    # these degrees, one per payee of 1. A symmetric proposal with rejections is uniform.
    edges = np.array([(0, 2), (0, 3), (1, 4)])
    rng = np.random.default_rng(11)
    seen = Counter()
    for _ in range(300):
        out, _, _ = rewire_pairs(edges, rng)
        seen[int(out[out[:, 0] == 1][0, 1])] += 1
    assert set(seen) == {2, 3, 4} and all(70 <= k <= 130 for k in seen.values()), seen


def test_the_null_distribution_of_loops_varies_under_rewiring():
    res = significance(_frame([(a, b, t) for a, b, t in _ring_with_chords().tolist()]), n=100, seed=2,
                       max_len=4)
    assert res.null == "rewire" and res.pairs["null_mean"] == res.pairs["observed"] == 20
    assert res.by_length[2]["null_std"] > 0 and res.by_length[3]["null_std"] > 0


@pytest.mark.parametrize("graph", ["complete", "out_star", "two_way_star"])
def test_a_graph_with_one_configuration_is_its_own_null(graph):
    # only one simple digraph has these degrees: every random graph is the observed one
    if graph == "complete":
        pairs = [(a, b) for a in range(5) for b in range(5) if a != b]
        loops = {2: 10, 3: 20, 4: 30}  # C(5,k) (k-1)! directed cycles of k nodes
    elif graph == "out_star":
        pairs = [(0, b) for b in range(1, 7)]
        loops = {2: 0, 3: 0, 4: 0}
    else:
        pairs = [(0, b) for b in range(1, 7)] + [(b, 0) for b in range(1, 7)]
        loops = {2: 6, 3: 0, 4: 0}
    edges = np.array([(a, b, 0) for a, b in pairs])
    for seed in range(20):
        out, accepted, attempted = rewire_pairs(edges, np.random.default_rng(seed))
        assert accepted == 0 and attempted > 0
        assert {tuple(r) for r in out.tolist()} == set(pairs)
    res = significance(_frame(edges.tolist()), n=30, seed=1, max_len=4)
    assert res.acceptance == 0.0
    for k, want in loops.items():
        v = res.by_length[k]
        assert v["observed"] == want and v["null_mean"] == want and v["null_std"] == 0
        assert v["z"] is None and v["p_value"] == 1.0


def test_types_stays_available_and_is_what_it_was():
    rng = np.random.default_rng(0)
    edges = [(int(a), int(b), int(t) % 3) for a, b, t in rng.integers(0, 12, (60, 3)) if a != b]
    d = _frame(edges)
    old = significance(d, n=20, seed=4, max_len=4, null="types")
    assert old.null == "types" and old.to_dict()["null"] == "types"
    _, _, arr = nullmodel._edges(d, None)
    lens, _, acc, _ = null_samples(arr, 12, n=20, seed=4, max_len=4)  # the old default
    assert [old.by_length[k]["null_mean"] for k in (2, 3, 4)] == [float(lens[:, k].mean()) for k in (2, 3, 4)]
    assert old.acceptance == acc
    assert significance(d, n=20, seed=4, max_len=4).null == "rewire"  # the new default
    with pytest.raises(ValueError):
        significance(d, null="shuffle")
    with pytest.raises(ValueError):
        sensitivity(d, models=("rewire", "rewire"))


def _seed_deals():
    return pd.read_csv(SEED / "deals.csv", dtype=str)


def test_sensitivity_table_on_the_seed():
    table = sensitivity(_seed_deals(), n=20, seed=1, max_len=4)
    assert table["models"] == ["rewire", "types"] and table["n"] == {"rewire": 20, "types": 20}
    assert [r["length"] for r in table["rows"]] == [2, 3, 4]
    for r in table["rows"]:
        assert set(r) == {"length", "observed", "rewire", "types"}
        assert set(r["rewire"]) == set(r["types"]) == {"null_mean", "null_std", "z", "p_value"}
    pairs = table["pairs"]
    assert pairs["rewire"] == pairs["observed"] > 100  # the rewiring keeps the distinct pairs
    assert pairs["types"] > pairs["observed"]  # the per-type shuffle spreads deals over more pairs
    assert table["complete"] and json.loads(json.dumps(table)) == table
    # the same observed counts as significance() under either model
    one = significance(_seed_deals(), n=20, seed=1, max_len=4, null="types")
    assert [r["observed"] for r in table["rows"]] == [one.by_length[k]["observed"] for k in (2, 3, 4)]
    assert [r["types"]["null_mean"] for r in table["rows"]] == [one.by_length[k]["null_mean"]
                                                                 for k in (2, 3, 4)]
    lines = sensitivity_markdown(table)
    assert len(lines) == 2 + 3 + 1 and all(ln.startswith("| ") and ln.endswith(" |") for ln in lines)
    assert lines[0].count("|") == lines[-1].count("|") == 1 + 2 + 3 * 2  # 8 cells
    assert lines[-1].startswith(f"| distinct pairs | {pairs['observed']:.0f} | {pairs['rewire']:.1f} |")


def test_cli_significance_null_models_and_sensitivity(store, risk_cli):  # noqa: F811
    ingest(store, [SEED])
    proc = risk_cli("significance", "--n", "10", "--max-len", "3", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["null"] == "rewire" and data["pairs"]["null_mean"] == data["pairs"]["observed"]
    sens = data["sensitivity"]
    assert sens["models"] == ["rewire", "types"] and [r["length"] for r in sens["rows"]] == [2, 3]
    assert sens["pairs"]["types"] > sens["pairs"]["observed"] == data["pairs"]["observed"]
    assert [r["observed"] for r in sens["rows"]] == [data["by_length"][k]["observed"] for k in ("2", "3")]
    proc = risk_cli("significance", "--n", "10", "--max-len", "3", "--null", "types", "--format", "json")
    types = json.loads(proc.stdout)
    assert types["null"] == "types" and types["sensitivity"]["models"] == ["types", "rewire"]
    assert types["pairs"]["null_mean"] == sens["pairs"]["types"]  # same seed, same graphs
    proc = risk_cli("significance", "--n", "5", "--max-len", "3")
    assert proc.returncode == 0, proc.stderr
    assert "rewire null model" in proc.stdout and "Sensitivity to the null model" in proc.stdout
    assert "distinct payer->payee pairs" in proc.stdout and "types mean" in proc.stdout
    proc = risk_cli("significance", "--null", "configuration")
    assert proc.returncode != 0


def test_cli_significance_min_confidence(store, risk_cli):  # noqa: F811
    ingest(store, [SEED])
    deals = snapshot(store).deals
    counting = deals[deals["status"] != "cancelled"]
    proc = risk_cli("significance", "--n", "3", "--max-len", "3", "--min-confidence", "high",
                    "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    high = counting[counting["confidence"] == "high"]
    assert data["min_confidence"] == "high" and data["deals"] == len(high) < len(counting)
    assert data["pairs"]["observed"] == len(set(zip(high["payer"], high["payee"], strict=True)))
    every = json.loads(risk_cli("significance", "--n", "3", "--max-len", "3", "--format", "json").stdout)
    assert every["min_confidence"] == "low" and every["deals"] == len(counting)
    proc = risk_cli("significance", "--min-confidence", "certain")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "--min-confidence" in proc.stderr


def test_a_time_budget_leaves_every_null_model_some_graphs():
    from circfin.loops.from_store import Budget

    ring = _frame([(a, b, t) for a, b, t in _ring_with_chords(12).tolist()])
    b = Budget(time_budget=1.0, max_loops=0)
    runs = significance_by_model(ring, n=100_000, max_len=4, budget=b)
    assert list(runs) == ["rewire", "types"] and not b.complete and "shuffle" in b.note
    for res in runs.values():
        assert 0 < res.n < 100_000 and not res.complete and res.params["n_requested"] == 100_000
