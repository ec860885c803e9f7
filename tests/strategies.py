"""Hypothesis strategies for small, nasty deal frames.

``deal_frames()`` draws frames the loop engines must agree on with
``tests/oracle.py``: few entities (so loops are common), parallel deals,
self-deals, undisclosed amounts (NaN, None, or numbers as digit strings),
dates to the day, month or year, or missing, every status and type, and
ids that sort awkwardly next to the '>' of loop keys ("a", "a-1", "a1",
"a.b"). Each frame carries ``frame.attrs["parents"]`` (some entities are
SPVs or subsidiaries; no parent cycles) and ``frame.attrs["names"]``.

``loop_kwargs(frame)`` draws the engine's filter arguments for a frame.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pandas as pd

from circfin.graph.model import AMOUNT_QUALIFIERS, DEAL_STATUSES, DEAL_TYPES

__all__ = ["DATES", "ID_POOL", "deal_frames", "loop_kwargs"]

# Awkward ids on purpose: prefixes of each other with characters below and
# above '>' (0x3E) after the prefix, digits, upper case, non-ASCII.
ID_POOL: tuple[str, ...] = (
    "a",
    "a-1",
    "a1",
    "a.b",
    "ab",
    "b",
    "B",
    "nvidia",
    "openai",
    "oracle",
    "z",
    "é",
    "10",
    "9",
)
COMMON_TYPES: tuple[str, ...] = ("equity_investment", "compute_purchase", "chip_purchase", "loan")

# A small calendar so time windows and orders bite: 2024-01..2024-03, plus
# a few partial dates.
_DAYS = [f"2024-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in (1, 5, 10, 15, 20, 28)]
DATES: tuple[Any, ...] = tuple(_DAYS) + ("2024-01", "2024-02", "2024", "2023-12", "", None, np.nan)


@st.composite
def _amounts(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["nan", "none", "float", "float", "digits", "int"]))
    if kind == "nan":
        return np.nan
    if kind == "none":
        return None
    value = draw(st.sampled_from([1e6, 5e6, 2e7, 1e8, 1e9, 3e9, 1.5e10]))
    if kind == "digits":
        return str(int(value))
    if kind == "int":
        return int(value)
    return value


@st.composite
def deal_frames(
    draw: st.DrawFn,
    max_entities: int = 6,
    max_deals: int = 14,
    dates: tuple[Any, ...] = DATES,
) -> pd.DataFrame:
    """A deals frame with ``frame.attrs["parents"]`` and ``frame.attrs["names"]``.

    ``dates`` is the pool of date values; a small pool makes ties common.
    """
    n_ent = draw(st.integers(2, max_entities))
    ids = draw(st.permutations(ID_POOL))[:n_ent]
    n = draw(st.integers(0, max_deals))
    rows = []
    for i in range(n):
        payer = draw(st.sampled_from(ids))
        # Mostly other entities, sometimes a self-deal.
        payee = draw(st.sampled_from(ids))
        rows.append(
            {
                "deal_id": f"d{i:02d}",
                "date": draw(st.sampled_from(dates)),
                "payer": payer,
                "payee": payee,
                "type": draw(
                    st.one_of(st.sampled_from(COMMON_TYPES), st.sampled_from(DEAL_TYPES))
                ),
                "amount_usd": draw(_amounts()),
                "amount_qualifier": draw(st.sampled_from(AMOUNT_QUALIFIERS)),
                "status": draw(st.sampled_from(DEAL_STATUSES)),
                "description": "",
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "deal_id",
            "date",
            "payer",
            "payee",
            "type",
            "amount_usd",
            "amount_qualifier",
            "status",
            "description",
        ],
    )
    # Parents: walk the entities in a random order; each may hang under an
    # earlier one (so no cycles) or under an SPV holder outside the frame.
    order = draw(st.permutations(ids))
    parents: dict[str, str | None] = {}
    for k, child in enumerate(order):
        choice = draw(st.integers(0, 5))
        if choice == 0 and k > 0:
            parents[child] = order[draw(st.integers(0, k - 1))]
        elif choice == 1:
            parents[child] = "holdco"
        else:
            parents[child] = None
    frame.attrs["parents"] = parents
    frame.attrs["names"] = {x: x.upper() + " Inc." for x in ids if draw(st.booleans())}
    return frame


@st.composite
def loop_kwargs(draw: st.DrawFn, frame: pd.DataFrame) -> dict[str, Any]:
    """Filter arguments for ``find_loops`` / ``brute_force_loops`` on ``frame``."""
    kw: dict[str, Any] = {}
    max_len = draw(st.integers(2, 6))
    kw["max_len"] = max_len
    kw["min_len"] = draw(st.integers(2, max_len))
    entities = sorted(set(frame["payer"]) | set(frame["payee"])) or ["a"]
    if draw(st.integers(0, 4)) == 0:
        kw["entity"] = draw(st.sampled_from(entities + ["holdco", "nobody"]))
    if draw(st.integers(0, 3)) == 0:
        kw["types"] = draw(st.sets(st.sampled_from(COMMON_TYPES + ("lease", "other")), max_size=4))
    if draw(st.integers(0, 3)) == 0:
        kw["status"] = draw(st.sets(st.sampled_from(DEAL_STATUSES), max_size=6))
    if draw(st.integers(0, 3)) == 0:
        kw["min_amount"] = draw(st.sampled_from([0, 1e6, 2e7, 1e9, 5e9]))
    if draw(st.integers(0, 4)) == 0:
        kw["since"] = draw(st.sampled_from(["2024-01-05", "2024-02", "2024", "2023"]))
    if draw(st.integers(0, 4)) == 0:
        kw["until"] = draw(st.sampled_from(["2024-02-20", "2024-02", "2024", "2025"]))
    if draw(st.integers(0, 2)) == 0:
        kw["within"] = draw(st.sampled_from([0, 4, 9, 20, 45, 90]))
    if draw(st.integers(0, 2)) == 0:
        kw["ordered"] = True
    if draw(st.integers(0, 3)) == 0:
        kw["rollup"] = True
        kw["parents"] = frame.attrs["parents"]
    return kw
