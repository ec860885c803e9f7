"""LoopResult: a list of loops that builds each Loop only when it is read.

Private to :mod:`circfin.loops.engine`, which exports :class:`LoopResult`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, SupportsIndex, overload

import numpy as np

from ..graph.model import Leg, Loop


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
    were found. Loops are built on first access (indexing, iterating), so a
    result of millions of loops costs integer arrays, not objects, until it
    is read; everything a list does works, and any change to the list
    builds all the loops first.
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
    """Loops as integer arrays (rows in result order), built into objects on demand."""

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
        self.edges = edges  # (rows, k) int32 edge ids from the smallest id, -1 padded
        self.lens = lens  # (rows,) int8
        self.perm = perm  # result position -> row
        self.cache: dict[int, Loop] = {}
        self.legs = net.legs
        self.upto: int | None = None
        if snapshot:
            # The graph will grow (LoopIndex.add). Deals are only appended, so
            # "the deals numbered below n_deals" is this moment's graph; legs
            # are built from it, into a dict of our own, when first read.
            self.legs = {}
            self.upto = net.n_deals

    def __len__(self) -> int:
        return int(self.perm.shape[0])

    def nbytes(self) -> int:
        return int(self.edges.nbytes + self.lens.nbytes + self.perm.nbytes)

    def get(self, i: int) -> Loop:
        loop = self.cache.get(i)
        if loop is None:
            loop = self._build(i, i + 1, keep=True)[0]
        return loop

    def _build(self, b0: int, b1: int, keep: bool = False) -> list[Loop]:
        """Loops at result positions b0..b1-1, reusing cached ones; ``keep``
        caches new ones.

        Indexing keeps what it builds (so ``r[0] is r[0]``); iterating does
        not, so streaming through millions of loops holds one block at a time.
        """
        net = self.net
        rows = self.perm[b0:b1]
        edges = self.edges[rows]
        lens = self.lens[rows].tolist()
        nodes = net.esrc[np.where(edges >= 0, edges, 0)].tolist()
        ids, names = net.ids.__getitem__, net.names.__getitem__
        leg = self.legs.__getitem__
        cache = self.cache
        out = []
        # Creating many objects triggers the cyclic GC over and over, each
        # pass longer than the last; these objects hold no cycles.
        enabled = gc.isenabled()
        gc.disable()
        try:
            net.build_legs(np.unique(edges).tolist(), self.legs, self.upto)
            for i, row, erow, n in zip(range(b0, b1), nodes, edges.tolist(), lens, strict=True):
                loop = cache.get(i)
                if loop is None:
                    idt = tuple(map(ids, row[:n]))
                    loop = Loop(
                        idt, tuple(map(names, row[:n])), tuple(map(leg, erow[:n])), ">".join(idt)
                    )
                    if keep:
                        cache[i] = loop
                out.append(loop)
        finally:
            if enabled:
                gc.enable()
        return out

    def iter(self) -> Iterator[Loop]:
        m = len(self)
        block = 8192
        for b0 in range(0, m, block):
            yield from self._build(b0, min(m, b0 + block))

    def all(self) -> list[Loop]:
        return list(self.iter())
