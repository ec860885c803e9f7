"""Strongly connected components of a directed graph given as edge arrays.

Every loop, and every dollar that comes back, stays inside one strongly
connected component, so the loop engine and the circularity index both start
here. scipy's ``connected_components`` is the tool for large graphs, but
importing ``scipy.sparse.csgraph`` costs more (0.1-0.4 s) than finding the
components of a few thousand edges in plain Python, so small graphs never
import it: a command on the seed answers before scipy would have loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["strong_components"]

PLAIN_EDGES = 20_000  # up to this many edges, Tarjan's algorithm in plain Python


def strong_components(n: int, src: npt.ArrayLike, dst: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """A label per node, equal for nodes of the same strongly connected component.

    ``src[i] -> dst[i]`` are the edges, nodes numbered ``0 .. n-1``. The labels
    are arbitrary integers: compare them, do not read them.
    """
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    if s.shape != d.shape or s.ndim != 1:
        raise ValueError("src and dst must be 1-d arrays of the same length")
    if n and len(s) and (min(s.min(), d.min()) < 0 or max(s.max(), d.max()) >= n):
        raise ValueError(f"node numbers must lie in 0..{n - 1}")
    if len(s) > PLAIN_EDGES:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        a = csr_matrix((np.ones(len(s), dtype=np.int8), (s, d)), shape=(n, n))
        _, lab = connected_components(a, directed=True, connection="strong")
        return np.asarray(lab, dtype=np.int64)
    return np.array(_tarjan(n, s.tolist(), d.tolist()), dtype=np.int64)


def _tarjan(n: int, src: list[int], dst: list[int]) -> list[int]:
    """Tarjan's algorithm without recursion (deep chains would overflow Python's stack)."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(src, dst, strict=True):
        adj[a].append(b)
    index = [-1] * n
    low = [0] * n
    label = [-1] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = 0
    comp = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work: list[Any] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            nbrs = adj[v]
            if i < len(nbrs):
                work[-1] = (v, i + 1)
                w = nbrs[i]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    label[w] = comp
                    if w == v:
                        break
                comp += 1
    return label
