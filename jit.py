"""Kernels written once as plain Python and compiled by numba only when a job is big enough;
BLAS on one thread until a job is big enough to use more.

The loop engine (:mod:`circfin.loops._cycles`) and Finn's cycling index
(:mod:`circfin.analytics._finn`) keep their inner loops as plain functions on
integer and float arrays. A small job (the seed's) runs them as they are and
never imports numba, which costs more to load than such a job takes; a large
one asks for the compiled set, which numba's on-disk cache makes later runs
load rather than compile.

>>> K = Kernels()
>>> @K.kernel
... def twice(x):
...     return 2 * x
>>> K.plain().twice(21), K.ready()
(42, False)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["Kernels", "blas_threads_for", "have_numba", "one_blas_thread_at_start", "usable_cpus"]


@functools.cache
def have_numba() -> bool:
    """Whether numba can be imported (a dependency), without importing it; asked when
    first needed, as searching sys.path for it costs a few ms at start-up."""
    return importlib.util.find_spec("numba") is not None

_F = TypeVar("_F", bound=Callable[..., Any])


class Kernels:
    """One module's kernels: mark each with :meth:`kernel`, in definition order (a
    kernel calls only kernels defined above it); :meth:`plain` gives them as written,
    :meth:`compiled` as ``numba.njit(cache=True, nogil=True)`` functions."""

    def __init__(self) -> None:
        self._plain: dict[str, Callable[..., Any]] = {}
        self._compiled: types.SimpleNamespace | None = None

    def kernel(self, f: _F) -> _F:
        """Mark ``f`` as a kernel; it stays the plain function."""
        self._plain[f.__name__] = f
        return f

    def plain(self) -> types.SimpleNamespace:
        """The kernels as plain Python functions."""
        return types.SimpleNamespace(**self._plain)

    def ready(self) -> bool:
        """Whether this process has compiled (or loaded) the kernels already."""
        return self._compiled is not None

    def releases_gil(self, kernels: types.SimpleNamespace) -> bool:
        """Whether ``kernels`` are this set's compiled ones, which release the GIL while
        they run (so threads can run them side by side); plain ones hold it."""
        return have_numba() and kernels is self._compiled

    def compiled(self) -> types.SimpleNamespace:
        """The kernels compiled by numba, once per process; the plain ones without numba.

        Each compiled kernel is a copy of the plain function whose globals see the
        compiled kernels, so compiled kernels call compiled kernels, while the
        module's own functions stay plain Python and call each other."""
        if self._compiled is None:
            if not have_numba():  # pragma: no cover - exercised only without numba
                self._compiled = self.plain()
                return self._compiled
            from numba import njit

            scope: dict[str, Any] = {}
            for name, f in self._plain.items():
                if not scope:
                    scope.update(f.__globals__)
                twin = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)
                twin.__qualname__ = f.__qualname__
                twin.__doc__ = f.__doc__
                scope[name] = njit(cache=True, nogil=True)(twin)
            self._compiled = types.SimpleNamespace(**{n: scope[n] for n in self._plain})
        return self._compiled


# OpenBLAS starts its thread pool when numpy loads. On a small job the pool's other
# threads only cost CPU (0.12 s a command on a 2-core machine, more than the seed's
# whole loop search), so the command line starts it with one thread, and the few
# dense factorisations that gain from more (the cycling index's inverses and LU of
# hundreds of nodes or more: 1.8x faster on 2 cores at 10,000 entities) ask for every
# usable CPU while they run. A user's own OPENBLAS_NUM_THREADS is left as it is.
_BLAS_DEFAULTED = False
BLAS_THREADED_MIN = 300  # a dense matrix at least this wide gets every usable CPU


def one_blas_thread_at_start() -> None:
    """Start OpenBLAS with one thread unless the user set OPENBLAS_NUM_THREADS: call
    before numpy is imported (the command line does, first thing)."""
    global _BLAS_DEFAULTED
    if "OPENBLAS_NUM_THREADS" not in os.environ:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        _BLAS_DEFAULTED = True


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def blas_threads_for(width: int) -> Iterator[None]:
    """Within the block, BLAS and LAPACK (numpy's and scipy's, as loaded) run on every
    usable CPU when the matrix is at least :data:`BLAS_THREADED_MIN` wide and circfin
    chose the single thread at start; otherwise nothing changes."""
    if not _BLAS_DEFAULTED or width < BLAS_THREADED_MIN or usable_cpus() < 2:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=usable_cpus(), user_api="blas"):
        yield
