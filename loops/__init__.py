"""Loops: the in-memory engine (``find_loops``, ``loops_closed_by``, ``LoopIndex``
and its compiled kernels) and loops read from a store by either engine."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import LoopIndex, find_loops, loops_closed_by

__all__ = ["LoopIndex", "find_loops", "loops_closed_by"]


def __getattr__(name: str) -> Any:
    # the engine (numpy, pandas) loads on first use: reading a snapshot's records
    # (loops.from_store) needs neither
    if name in __all__:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
