"""Input checks and matrix helpers shared by the shock models.

Private: the public functions in :mod:`circfin.risk` call these to turn user
input into float arrays or CSR matrices and to reject bad input with a
:class:`ValueError` that names the argument and, where it helps, the index.

scipy is never imported here. A "sparse" input is anything with a
``tocsr()`` method (every scipy.sparse matrix and array has one); it is
converted to CSR and handled through its ``data``/``indices``/``indptr``
arrays, so dense-only callers do not need scipy at all.
"""

from __future__ import annotations

__all__ = [
    "as_matrix",
    "as_nonneg_vector",
    "as_positive_vector",
    "as_unit_vector",
    "is_sparse",
]

from typing import Any

import numpy as np


def is_sparse(x: Any) -> bool:
    """True for scipy.sparse matrices/arrays (duck-typed on ``tocsr``)."""
    return hasattr(x, "tocsr") and not isinstance(x, np.ndarray)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def as_matrix(x: Any, name: str, n: int | None = None) -> Any:
    """Return a square, finite, non-negative float matrix.

    Dense input comes back as a C-contiguous ``float64`` ndarray, sparse input
    as a CSR copy with ``float64`` data, explicit zeros kept (harmless).
    """
    if is_sparse(x):
        m = x.tocsr().astype(np.float64, copy=True)
        shape = m.shape
        data = m.data
    else:
        m = np.array(x, dtype=np.float64, copy=True)
        shape = m.shape
        data = m
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {shape}")
    if n is not None and shape[0] != n:
        raise ValueError(
            f"{name} must be {n}x{n} to match the other inputs, got {shape}"
        )
    if data.size:
        if not np.all(np.isfinite(data)):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        if np.any(data < 0):
            if is_sparse(x):
                k = _first_bad(data < 0)
                row = int(np.searchsorted(m.indptr, k, side="right") - 1)
                where = (row, int(m.indices[k]))
            else:
                bad = np.argwhere(data < 0)[0]
                where = (int(bad[0]), int(bad[1]))
            raise ValueError(
                f"{name} must be non-negative; {name}[{where[0]}, {where[1]}] < 0"
            )
    return m


def _as_vector(x: Any, name: str, n: int) -> np.ndarray:
    v = np.array(x, dtype=np.float64, copy=True)
    if v.ndim == 0:
        v = np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {v.shape}")
    bad = ~np.isfinite(v)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name}[{i}] must be finite, got {v[i]!r}")
    return v


def as_positive_vector(x: Any, name: str, n: int) -> np.ndarray:
    """A length-``n`` finite vector with every entry ``> 0`` (scalars broadcast)."""
    v = _as_vector(x, name, n)
    bad = ~(v > 0)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name}[{i}] must be > 0, got {v[i]!r}")
    return v


def as_nonneg_vector(x: Any, name: str, n: int) -> np.ndarray:
    """A length-``n`` finite vector with every entry ``>= 0`` (scalars broadcast)."""
    v = _as_vector(x, name, n)
    bad = v < 0
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name}[{i}] must be >= 0, got {v[i]!r}")
    return v


def as_unit_vector(x: Any, name: str, n: int) -> np.ndarray:
    """A length-``n`` finite vector with every entry in ``[0, 1]`` (scalars broadcast)."""
    v = _as_vector(x, name, n)
    bad = (v < 0) | (v > 1)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{name}[{i}] must be in [0, 1], got {v[i]!r}")
    return v
