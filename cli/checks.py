"""Option callbacks: a number or folder a user can type is checked as it is parsed.

Each raises :class:`circfin.errors.InputError`, which the CLI prints as one
line and exit 1, instead of letting NaN, infinity, a 31-digit day count or a
file where a folder goes reach the library as an internal error.

>>> finite("--min-amount")(2.5), int_range("--top", 0)(3)
(2.5, 3)
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..safe import visible

__all__ = ["finite", "home_dir", "int_range", "MAX_DAYS"]

# date.max - date.min: a longer window holds every date there is.
MAX_DAYS = 3_652_058


def finite(name: str, lo: float | None = None) -> Callable[[Any], Any]:
    """A callback: the float is finite (not nan or inf) and at least ``lo``; None passes."""

    def check(value: Any) -> Any:
        if value is None:
            return value
        if not math.isfinite(value):
            raise InputError(f"{name} takes a finite number, not {value}")
        if lo is not None and value < lo:
            raise InputError(f"{name} takes a number >= {lo:g}, not {value:g}")
        return value

    return check


def int_range(name: str, lo: int, hi: int | None = None, unit: str = "") -> Callable[[Any], Any]:
    """A callback: the integer lies in ``lo..hi`` (no upper bound if ``hi`` is None); None passes."""

    def check(value: Any) -> Any:
        if value is None:
            return value
        if value < lo or (hi is not None and value > hi):
            what = f"in {lo}..{hi}" if hi is not None else f">= {lo}"
            raise InputError(f"{name} takes a whole number{unit} {what}, not {value}")
        return value

    return check


def home_dir(value: Path | None) -> Path | None:
    """A callback for ``--home`` / ``CIRCFIN_HOME``: a folder, or a path where one can be made."""
    if value is None:
        return value
    p = Path(value)
    for part in (p, *p.parents):
        try:
            st = os.stat(part)
        except (FileNotFoundError, NotADirectoryError):
            continue  # the first part that exists says
        except OSError as e:
            raise InputError(f"--home (CIRCFIN_HOME) {visible(p)}: {e.strerror or e}") from None
        if not stat.S_ISDIR(st.st_mode):
            where = "it is" if part == p else f"{visible(part)} is"
            raise InputError(f"--home (CIRCFIN_HOME) {visible(p)} cannot be the database's folder: "
                             f"{where} not a folder")
        break
    return value
