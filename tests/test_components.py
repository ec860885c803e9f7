"""Strongly connected components: the plain-Python path against scipy's, on random graphs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from circfin.graph import components
from circfin.graph.components import strong_components


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal labels in a exactly where equal labels in b (labels themselves are arbitrary)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[int], list[int]]:
    n = draw(st.integers(0, 30))
    if n == 0:
        return 0, [], []
    m = draw(st.integers(0, 3 * n))
    src = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    return n, src, dst


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_plain_python_matches_scipy(g: tuple[int, list[int], list[int]]) -> None:
    n, src, dst = g
    got = strong_components(n, src, dst)
    assert got.shape == (n,)
    if n:
        a = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
        _, want = connected_components(a, directed=True, connection="strong")
        assert same_partition(got, want)


def test_large_graphs_go_to_scipy_with_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n, m = 400, 900
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    plain = strong_components(n, src, dst)
    monkeypatch.setattr(components, "PLAIN_EDGES", 10)
    assert same_partition(plain, strong_components(n, src, dst))


def test_a_long_chain_closed_into_one_ring_needs_no_recursion() -> None:
    n = 50_000  # far deeper than Python's recursion limit
    src = np.arange(n)
    dst = (src + 1) % n
    chain = strong_components(n, src[: components.PLAIN_EDGES], dst[: components.PLAIN_EDGES])
    assert len(set(chain.tolist())) == n  # an open chain: every node alone
    ring = components._tarjan(n, src.tolist(), dst.tolist())  # noqa: SLF001
    assert len(set(ring)) == 1


def test_bad_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="0..2"):
        strong_components(3, [0, 3], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        strong_components(3, [0, 1], [1])
