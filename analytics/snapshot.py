"""What the analytics read of a snapshot: the fields of ``loops.from_store.Snapshot``.

``analytics`` may not import ``loops`` (they are sibling layers), so the
functions here type their input by this protocol; the real Snapshot fits it.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

__all__ = ["SnapshotLike"]


class SnapshotLike(Protocol):
    """The fields of ``loops.from_store.Snapshot`` the analytics read."""

    deals: pd.DataFrame
    entities: list[dict[str, Any]]
    participants: list[dict[str, Any]]
    events: list[dict[str, Any]]
    financials: list[dict[str, Any]]
    sources: list[dict[str, Any]] | None
    as_of: str | None
