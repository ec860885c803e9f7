"""What the analytics read of a snapshot: the fields of ``loops.from_store.Snapshot``.

``analytics`` may not import ``loops`` (they are sibling layers), so the
functions here type their input by this protocol; the real Snapshot fits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SnapshotLike"]


class SnapshotLike(Protocol):
    """The fields of ``loops.from_store.Snapshot`` the analytics read. ``deal_rows`` are
    the deals as records; ``deals`` the same as a frame (reading it loads pandas)."""

    @property
    def deals(self) -> pd.DataFrame: ...

    @property
    def deal_rows(self) -> list[dict[str, Any]]: ...

    # Optional (read with getattr): ``deals_given``, the deals as held now, the
    # records or the frame, so that a reader of either builds neither.

    entities: list[dict[str, Any]]
    participants: list[dict[str, Any]]
    events: list[dict[str, Any]]
    financials: list[dict[str, Any]]
    sources: list[dict[str, Any]] | None
    as_of: str | None
