"""The null model: degrees per type kept exactly, seeded, loops counted as circfin counts them,
and a planted loop-rich structure stands out."""

from __future__ import annotations

import json
from collections import Counter
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circfin.ingest import ingest
from circfin.loops.from_store import loops_from_store, snapshot
from circfin.risk import significance
from circfin.risk.nullmodel import count_loops, shuffle_deals

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
