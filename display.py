"""How circfin shows numbers to people and to JSON: one place, so tables, reports
and pages agree."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["money", "plain_number"]


def money(v: Any) -> str:
    """Short dollar amounts: $1.5B, $300M, $12K, -$1.5B (a deficit); n/d when undisclosed.

    >>> money(40e9), money(None), money(1_250_000), money(950), money(-1.5e9)
    ('$40B', 'n/d', '$1.2M', '$950', '-$1.5B')
    """
    if v is None:
        return "n/d"
    v = float(v)
    sign = "-" if v < 0 and f"{abs(v):,.0f}" != "0" else ""
    v = abs(v)
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if v >= div:
            return f"{sign}${v / div:,.1f}{unit}".replace(".0" + unit, unit)
    return f"{sign}${v:,.0f}"


def plain_number(v: Any) -> Any:
    """A number as JSON should carry it: whole floats as ints, NaN as None.

    >>> plain_number(4.0e10), plain_number(float("nan")), plain_number(0.25)
    (40000000000, None, 0.25)
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
