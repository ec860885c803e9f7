"""Measures of the deal web: concentration, hubs, reciprocal pairs, self-funded
demand and flow circularity (:func:`finn_cycling_index`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["finn_cycling_index"]

if TYPE_CHECKING:
    from .circularity import finn_cycling_index


def __getattr__(name: str) -> Any:
    # Imported on first use: scipy is not needed by the commands that never ask for it.
    if name == "finn_cycling_index":
        from .circularity import finn_cycling_index

        return finn_cycling_index
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
