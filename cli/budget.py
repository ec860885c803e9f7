"""Budgets on the commands that enumerate loops, and streaming the loops out.

A dense deal graph has astronomically many loops. Every command that
enumerates them (``loops``, ``score``, ``report``, ``graph``,
``significance``, ``ingest --watch-loops``) takes ``--time-budget`` and
``--max-loops`` (defaults :data:`~circfin.loops.from_store.DEFAULT_TIME_BUDGET`
seconds and :data:`~circfin.loops.from_store.DEFAULT_MAX_LOOPS` loops; 0 turns a
limit off). The clock starts with the command and covers the search, building
the loops, scoring and writing. What was cut is said on stderr (table and CSV)
and in the JSON (``complete``, ``truncated``, ``budget``).

Output is written loop by loop (JSON, CSV) or in small tables, so the loops
are never held twice, and the writing stops at the deadline too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from ..graph.model import Loop
from ..loops.from_store import DEFAULT_MAX_LOOPS, DEFAULT_TIME_BUDGET, Budget
from ..safe import json_dumps, json_safe

__all__ = ["MaxLoops", "TimeBudget", "reserve_for", "warn", "write_json_with_loops", "write_loops"]

TimeBudget = Annotated[float, typer.Option(
    "--time-budget",
    help="Stop after this many seconds (search, scoring and output together) with what was "
         "found so far, and say so; 0 for no limit.")]
MaxLoops = Annotated[int, typer.Option(
    "--max-loops", help="Stop after this many loops, and say so; 0 for no limit.")]

DEFAULTS = {"time_budget": DEFAULT_TIME_BUDGET, "max_loops": DEFAULT_MAX_LOOPS}

# Seconds spent per loop after the search, measured on a 2-core machine and
# doubled for a loaded one: the search stops early enough to leave this time.
_RESERVE = {"table": 3e-3, "json": 3e-4, "csv": 6e-5}
_TABLE_CHUNK = 200  # rows per printed table: rich lays out a whole table in memory
# Shown even when the clock has run out by the time writing starts (under a second).
_AT_LEAST = {"table": 50, "json": 1000, "csv": 5000}


def reserve_for(fmt: str) -> float:
    """Seconds per loop that writing in ``fmt`` takes (what the search leaves room for)."""
    return _RESERVE.get(fmt, 3e-4)


def warn(err: Console, budget: Budget) -> None:
    """The partial-result line on stderr, if anything was cut."""
    if not budget.complete:
        err.print(Text.assemble(("partial result", "yellow"), ": ", str(budget.note)))


def _json_items(loops: Iterable[Loop], indent: str) -> Iterable[str]:
    from .render import loops_json

    for lp in loops:
        one = loops_json([lp])  # "[\n  {...}\n]": the element, indented as in the whole list
        body = one[2:-2]
        yield body if not indent else indent + body.replace("\n", "\n" + indent)


def write_loops(loops: Sequence[Loop], fmt: str, budget: Budget, *, out: Console,
                err: Console, stream: IO[str] | None = None, title: str | None = None) -> None:
    """Write the loops in ``fmt`` (table, json, csv) as they are built, within the budget.

    JSON is the list of loops, as before, when nothing was cut; when something
    was, it is an object ``{"loops": [...], "complete": false, "truncated":
    "<what was cut>", "budget": {...}}`` so that no program takes a partial
    list for the whole.
    """
    f = stream or sys.stdout
    total = len(loops)
    items = budget.take(loops, count=total, at_least=_AT_LEAST.get(fmt, 100))
    if fmt == "json":
        partial = not budget.complete
        if not partial:
            # Nothing cut: the plain list. The deadline does not cut it: the search
            # left room for it, and a list cut short would look whole.
            f.write("[")
            first = True
            for text in _json_items(loops, ""):
                f.write(("\n" if first else ",\n") + text)
                first = False
            f.write("\n]\n" if not first else "]\n")
            return
        write_json_with_loops({}, "loops", loops, budget, err=err, stream=f)
        return
    if fmt == "csv":
        from .render import loops_csv

        header = True
        chunk: list[Loop] = []
        for lp in items:
            chunk.append(lp)
            if len(chunk) == 512:
                text = json_safe(loops_csv(chunk))  # as cli.app._write does for program output
                f.write(text if header else text.split("\n", 1)[1])
                header, chunk = False, []
        if chunk or header:
            text = json_safe(loops_csv(chunk))
            f.write(text if header else text.split("\n", 1)[1])
        f.flush()
        warn(err, budget)
        return
    if not total:
        out.print("no loops found")
        warn(err, budget)
        return
    shown = 0
    chunk = []
    for lp in items:
        chunk.append(lp)
        if len(chunk) == _TABLE_CHUNK:
            _print_table(out, chunk, shown, total, title)
            shown += len(chunk)
            chunk = []
    if chunk:
        _print_table(out, chunk, shown, total, title)
    warn(err, budget)


def write_json_with_loops(fields: dict[str, Any], key: str, loops: Sequence[Loop], budget: Budget,
                          *, err: Console, stream: IO[str] | None = None) -> None:
    """``{**fields, key: [loops...], **budget.to_dict()}`` as indented JSON, the loops
    streamed one by one (never all as dicts, nor the whole text, in memory at once)
    and stopped at the deadline (after a first thousand), which the budget fields,
    written last, then say."""
    f = stream or sys.stdout
    parts = [f"  {json.dumps(k)}: " + json_dumps(v, indent=2).replace("\n", "\n  ")
             for k, v in fields.items()]
    f.write("{\n" + "".join(p + ",\n" for p in parts) + f"  {json.dumps(key)}: [")
    first = True
    for text in _json_items(budget.take(loops, count=len(loops), at_least=1000), "  "):
        f.write(("\n" if first else ",\n") + text)
        first = False
    f.write("\n  ]" if not first else "]")
    for k, v in budget.to_dict().items():
        f.write(f",\n  {json.dumps(k)}: " + json_dumps(v, indent=2).replace("\n", "\n  "))
    f.write("\n}\n")
    warn(err, budget)


def _print_table(out: Console, chunk: list[Loop], shown: int, total: int,
                 title: str | None) -> None:
    from .render import loops_table

    t = loops_table(chunk, title=title if shown == 0 else None)
    if shown:
        t.show_header = False
        cells: Any = getattr(t.columns[0], "_cells", None)
        if isinstance(cells, list) and len(cells) == len(chunk):  # go on numbering
            cells[:] = [str(shown + i) for i in range(1, len(chunk) + 1)]
    out.print(t)
