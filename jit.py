"""Kernels written once as plain Python and compiled by numba only when a job is big enough.

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

import importlib.util
import types
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["HAVE_NUMBA", "Kernels"]

# numba is a dependency; this only tells whether it can be imported, without importing it.
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

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
        return HAVE_NUMBA and kernels is self._compiled

    def compiled(self) -> types.SimpleNamespace:
        """The kernels compiled by numba, once per process; the plain ones without numba.

        Each compiled kernel is a copy of the plain function whose globals see the
        compiled kernels, so compiled kernels call compiled kernels, while the
        module's own functions stay plain Python and call each other."""
        if self._compiled is None:
            if not HAVE_NUMBA:  # pragma: no cover - exercised only without numba
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
