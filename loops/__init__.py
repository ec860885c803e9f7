"""Loops: the in-memory engine (``find_loops``, ``loops_closed_by``, ``LoopIndex``
and its compiled kernels) and loops read from a store by either engine."""

from .engine import LoopIndex, find_loops, loops_closed_by

__all__ = ["LoopIndex", "find_loops", "loops_closed_by"]
