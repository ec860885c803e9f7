"""What every command module shares: the consoles, the global options' state,
opening the store, writing program output, the live status line and the
options that several commands take. Command modules import this, never
``app`` (which imports them to register their commands).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.text import Text

from ..safe import json_safe, visible
from ..store import GraphStore, open_store
from .console import SafeConsole

__all__ = ["err", "out", "state"]

# Data is never markup, an emoji code or a terminal escape (see cli/console.py).
out = SafeConsole(soft_wrap=False)
err = SafeConsole(stderr=True)

# Every command that enumerates loops takes these (see cli/budget.py and loops.from_store.Budget).
_TIME_BUDGET_HELP = ("Stop after this many seconds (search, scoring and output together) with what "
                     "was found so far, and say what was cut; 0 for no limit.")
_MAX_LOOPS_HELP = "Stop after this many loops, and say so; 0 for no limit."


class _State:
    store_spec: str | None = None
    home: Path | None = None
    debug: bool = False


state = _State()


@contextlib.contextmanager
def _store() -> Iterator[GraphStore]:
    s = open_store(state.store_spec, home=state.home)
    try:
        yield s
    finally:
        s.close()


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out_: list[str] = []
    for v in values:
        out_.extend(x.strip() for x in v.split(",") if x.strip())
    return out_ or None


def _write(text: str) -> None:
    """Program output (JSON, CSV): C1, DEL and bidi controls as \\u escapes (see safe.json_safe)."""
    text = json_safe(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def print_db_status(home: Path | None, store_spec: str | None, fmt: str) -> None:
    """``circfin db status``: the embedded server's state, as a table or JSON. Run by the
    app's command and, for a plain ``circfin db status``, by the entry point without typer."""
    import json

    from ..store import redact
    from ..store.embedded import EmbeddedServer

    st = EmbeddedServer(home).status().to_dict()
    if store_spec and store_spec != "embedded":
        st["store"] = redact(store_spec)
    if fmt == "json":
        _write(json.dumps(st, indent=2))
        return
    for k, v in st.items():
        out.print(f"{k:>9}: {v}")


def _progress_enabled(fmt: str) -> bool:
    return fmt == "table" and err.is_terminal


@contextlib.contextmanager
def _status(fmt: str, first: str) -> Iterator[Any]:
    """A live status line on stderr for long work: only on a terminal, never in
    pipes or with --format json/csv. Yields a progress(stage, done, total) callback."""
    if not _progress_enabled(fmt):
        yield None
        return
    # Text, not str: rich reads a str status as markup, and a stage names the file it reads.
    with err.status(Text(visible(first))) as status:
        def progress(stage: str, done: int, total: int) -> None:
            status.update(Text(visible(f"{stage} ({done}/{total})" if total > 1 else stage)))

        yield progress


def _statuses_opt(status: list[str] | None) -> list[str] | None:
    from ..loops.from_store import DEFAULT_STATUSES

    st = _split(status)
    return None if st == ["all"] else (st or list(DEFAULT_STATUSES))


_STATUS_HELP = "Deal statuses that count; 'all' for all. Default: all but cancelled."

_AS_OF_HELP = ("See the web as of this date (YYYY-MM-DD, YYYY-MM or YYYY: its last day): only deals "
               "dated on or before it, each with its status then, and each entity's latest "
               "financials on or before it. Default: today.")


def _as_of(value: str | None) -> str:
    """The ISO day an ``--as-of`` option means (default: today); InputError if it is no date."""
    import datetime as _dt

    from ..loops.from_store import as_of_day

    if value is None:
        return _dt.date.today().isoformat()
    from ..errors import InputError

    try:
        day = as_of_day(value)
    except InputError as e:  # say which option: several commands take dates
        raise InputError(f"--as-of: {e}") from None
    assert day is not None
    return (_dt.date(1970, 1, 1) + _dt.timedelta(days=day)).isoformat()


_MIN_CONFIDENCE_HELP = ("A deal counts only if its sources' confidence is at least this: low (every "
                        "deal, the default), medium or high.")


def _min_confidence(value: str | None) -> tuple[str, ...] | None:
    """The confidences a ``--min-confidence`` option lets count (None: all); InputError otherwise."""
    from ..errors import InputError
    from ..graph.model import confidences_at_least

    if value is None or value == "low":
        return None
    try:
        return confidences_at_least(value)
    except ValueError as e:
        raise InputError(f"--min-confidence: {e}") from None


def _confidence_note(value: str | None) -> str:
    """For a title: which deals ``--min-confidence`` lets count ("" when all do).

    >>> _confidence_note("medium"), _confidence_note("low"), _confidence_note(None)
    (', deals of medium confidence or higher', '', '')
    """
    if value is None or value == "low":
        return ""
    return f", deals of {value} confidence" + (" or higher" if value != "high" else "")
