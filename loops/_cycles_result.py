"""LoopResult: a list of loops that builds each Loop only when it is read.

Private to :mod:`circfin.loops.engine`, which exports :class:`LoopResult`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter
from typing import Any, Protocol, SupportsIndex, overload

import numpy as np

from ..graph.model import Leg, Loop

_deferred = Loop.deferred
_LEG_BLOCK = 8192  # loops whose legs one gather builds
_payer_id, _payer = attrgetter("payer_id"), attrgetter("payer")
_PART = 256  # loops per _Part: Python shares the ints 0..256
_ROW_BLOCK = 512  # loops read in order whose edges one gather reads


class _Net(Protocol):
    """What a result needs of the engine's graph (``_cycles_net._Net``), named here so
    that this module does not import the one that imports it."""

    ids: Any
    names: list[str]
    esrc: np.ndarray
    n_deals: int
    legs: dict[int, Leg]

    def build_legs(self, edges: list[int], into: dict[int, Leg] | None = None,
                   upto: int | None = None) -> None: ...

__all__: list[str] = []  # private module


class LoopResult(list):  # type: ignore[type-arg]
    """A list of :class:`~circfin.graph.model.Loop`, plus how the search ended.

    ``complete`` is False when a budget (``time_budget`` or ``max_loops``)
    stopped the search early; ``note`` then says which, and how many loops
    were found. Loops are made on first access (indexing, iterating), so a
    result of millions of loops costs integer arrays, not objects, until it
    is read; each is a deferred :class:`~circfin.graph.model.Loop` that reads
    its fields from the arrays when one is first read, so a list of them all
    costs about 56 bytes a loop (the record and the list's pointer to it).
    Everything a list does works, and any change to the list makes all the
    loops first.
    """

    complete: bool
    note: str | None

    def __init__(
        self, loops: Iterable[Loop] = (), *, complete: bool = True, note: str | None = None
    ) -> None:
        super().__init__(loops)
        self.complete = complete
        self.note = note
        self._lazy: _Batch | None = None

    @classmethod
    def _from_batch(cls, batch: _Batch, *, complete: bool, note: str | None) -> LoopResult:
        self = cls(complete=complete, note=note)
        if len(batch):
            self._lazy = batch
        return self

    # -- laziness ---------------------------------------------------------
    def _fill(self) -> None:
        """Build every loop and store them in the list itself."""
        batch = self._lazy
        if batch is not None:
            self._lazy = None
            list.extend(self, batch.all())

    # -- reading ----------------------------------------------------------
    def __len__(self) -> int:
        batch = self._lazy
        return len(batch) if batch is not None else list.__len__(self)

    def __iter__(self) -> Iterator[Loop]:
        batch = self._lazy
        if batch is None:
            return list.__iter__(self)
        return batch.iter()

    def __reversed__(self) -> Iterator[Loop]:
        batch = self._lazy
        if batch is None:
            return list.__reversed__(self)
        return (batch.get(i) for i in range(len(batch) - 1, -1, -1))

    @overload
    def __getitem__(self, i: SupportsIndex) -> Loop: ...
    @overload
    def __getitem__(self, i: slice) -> list[Loop]: ...

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        batch = self._lazy
        if batch is None:
            return list.__getitem__(self, i)
        if isinstance(i, slice):
            return [batch.get(k) for k in range(*i.indices(len(batch)))]
        k = i.__index__()
        n = len(batch)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("LoopResult index out of range")
        return batch.get(k)

    def __contains__(self, item: object) -> bool:
        return any(x == item for x in self)

    def index(self, item: Any, start: SupportsIndex = 0, stop: SupportsIndex = 2**62) -> int:
        self._fill()
        return list.index(self, item, start, stop)

    def count(self, item: Any) -> int:
        return sum(1 for x in self if x == item)

    def copy(self) -> LoopResult:
        return LoopResult(self, complete=self.complete, note=self.note)

    __copy__ = copy

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_result, (list(self), self.complete, self.note))

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return self.__reduce__()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def _cmp(self, other: object, op: Callable[[list[Loop], list[Loop]], bool]) -> Any:
        if not isinstance(other, list):
            return NotImplemented
        return op(list(self), list(other))

    def __lt__(self, other: object) -> Any:
        return self._cmp(other, list.__lt__)

    def __le__(self, other: object) -> Any:
        return self._cmp(other, list.__le__)

    def __gt__(self, other: object) -> Any:
        return self._cmp(other, list.__gt__)

    def __ge__(self, other: object) -> Any:
        return self._cmp(other, list.__ge__)

    def __add__(self, other: Iterable[Loop]) -> list[Loop]:  # type: ignore[override]
        return list(self) + list(other)

    def __radd__(self, other: Iterable[Loop]) -> list[Loop]:
        return list(other) + list(self)

    def __mul__(self, n: SupportsIndex) -> list[Loop]:
        return list(self) * n

    __rmul__ = __mul__

    def __repr__(self) -> str:
        n = len(self)
        tail = f"complete={self.complete!r}, note={self.note!r}"
        if n <= 6:
            return f"LoopResult({list(self)!r}, {tail})"
        keys = ", ".join(repr(self[i].key) for i in range(3))
        return f"<LoopResult of {n} loops ({keys}, ...), {tail}>"

    # -- writing: build everything, then behave as a list ----------------
    def __iadd__(self, other: Iterable[Loop]) -> LoopResult:  # type: ignore[override]
        self._fill()
        list.extend(self, other)
        return self

    def __imul__(self, n: SupportsIndex) -> LoopResult:
        self._fill()
        list.__imul__(self, n)
        return self

    def __setitem__(self, i: Any, v: Any) -> None:
        self._fill()
        list.__setitem__(self, i, v)

    def __delitem__(self, i: Any) -> None:
        self._fill()
        list.__delitem__(self, i)

    def append(self, v: Loop) -> None:
        self._fill()
        list.append(self, v)

    def extend(self, vs: Iterable[Loop]) -> None:
        self._fill()
        list.extend(self, vs)

    def insert(self, i: SupportsIndex, v: Loop) -> None:
        self._fill()
        list.insert(self, i, v)

    def pop(self, i: SupportsIndex = -1) -> Loop:
        self._fill()
        loop: Loop = list.pop(self, i)
        return loop

    def remove(self, v: Loop) -> None:
        self._fill()
        list.remove(self, v)

    def clear(self) -> None:
        self._lazy = None
        list.clear(self)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._fill()
        list.sort(self, *args, **kwargs)

    def reverse(self) -> None:
        self._fill()
        list.reverse(self)

    def __sizeof__(self) -> int:
        batch = self._lazy
        return list.__sizeof__(self) + (batch.nbytes() if batch is not None else 0)


def _rebuild_result(loops: list[Loop], complete: bool, note: str | None) -> LoopResult:
    return LoopResult(loops, complete=complete, note=note)


class _Batch:
    """Loops as integer arrays, one row per loop in result order, made into records
    on demand; deferred records read their fields here."""

    def __init__(
        self,
        net: _Net,
        edges: np.ndarray,
        lens: np.ndarray,
        perm: np.ndarray,
        *,
        snapshot: bool = False,
    ) -> None:
        self.net = net
        # (loops, k) int32 edge ids from the smallest id, -1 padded, in result order
        # (``perm``: result position -> row of ``edges``), so no permutation is kept.
        self.edges = edges[perm]
        self.n = int(perm.shape[0])
        self.cache: dict[int, Loop] = {}
        self.legs = net.legs
        self.upto: int | None = None
        # Reading loops in order: the edge rows of a block of them, as lists.
        self._rows: tuple[int, list[list[int]]] = (0, [])
        self._next = -1
        if snapshot:
            # The graph will grow (LoopIndex.add). Deals are only appended, so
            # "the deals numbered below n_deals" is this moment's graph; legs
            # are built from it, into a dict of our own, when first read.
            self.legs = {}
            self.upto = net.n_deals

    def __len__(self) -> int:
        return self.n

    def nbytes(self) -> int:
        return int(self.edges.nbytes)

    def get(self, i: int) -> Loop:
        loop = self.cache.get(i)
        if loop is None:
            loop = self.cache[i] = _deferred(_Part(self, i), 0)
        return loop

    def _build(self, b0: int, b1: int) -> list[Loop]:
        """Loops at result positions b0..b1-1: the ones indexing made (so that
        ``r[0] is r[0]``), and new deferred ones, which read their fields from
        these arrays when first read (:meth:`loop_fields`). Iterating keeps
        none, so streaming through millions of loops holds one block at a time."""
        cache = self.cache
        out: list[Loop] = []
        # Creating many objects triggers the cyclic GC over and over, each
        # pass longer than the last; these objects hold no cycles.
        enabled = gc.isenabled()
        gc.disable()
        try:
            for p0 in range(b0, b1, _PART):
                part = _Part(self, p0)
                if not cache:
                    out += [_deferred(part, j) for j in range(min(_PART, b1 - p0))]
                else:
                    out += [cache.get(p0 + j) or _deferred(part, j)
                            for j in range(min(_PART, b1 - p0))]
            return out
        finally:
            if enabled:
                gc.enable()

    def loop_fields(self, i: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Leg, ...], str]:
        """``(ids, entities, legs, key)`` of the loop at result position ``i``.
        Each leg knows its payer's id and name, so the loop's are its legs' payers'."""
        b0, rows = self._rows
        if not 0 <= i - b0 < len(rows):
            if i == self._next:  # reading in order: the rows of the next few loops at once
                b0, rows = i, self.edges[i : i + _ROW_BLOCK].tolist()
                self._rows = (b0, rows)
            else:
                b0, rows = i, [self.edges[i].tolist()]
        self._next = i + 1
        erow = rows[i - b0]
        if erow[-1] < 0:
            erow = erow[: erow.index(-1)]
        try:
            got = tuple(map(self.legs.__getitem__, erow))
        except KeyError:
            self._legs_near(i)
            got = tuple(map(self.legs.__getitem__, erow))
        ids = tuple(map(_payer_id, got))
        return ids, tuple(map(_payer, got)), got, ">".join(ids)

    def _legs_near(self, i: int) -> None:
        """Build the legs of the loops at the result positions around ``i`` (one
        gather for a block of loops read in order, not one per loop)."""
        b0 = i - i % _LEG_BLOCK
        self.net.build_legs(sorted(set(self.edges[b0 : b0 + _LEG_BLOCK].ravel().tolist())), self.legs,
                            self.upto)

    def iter(self) -> Iterator[Loop]:
        m = len(self)
        block = 8192
        for b0 in range(0, m, block):
            yield from self._build(b0, min(m, b0 + block))

    def all(self) -> list[Loop]:
        return list(self.iter())


class _Part:
    """What a deferred loop reads its fields from: up to ``_PART`` loops of a batch,
    so that each loop's number in it is one of Python's shared small ints rather
    than an int object of its own (a third of a deferred loop's size)."""

    __slots__ = ("batch", "p0")

    def __init__(self, batch: _Batch, p0: int) -> None:
        self.batch = batch
        self.p0 = p0

    def loop_fields(self, j: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Leg, ...], str]:
        """``(ids, entities, legs, key)`` of this part's loop ``j`` (a deferred
        :class:`Loop` calls this when one of its fields is first read)."""
        return self.batch.loop_fields(self.p0 + j)
