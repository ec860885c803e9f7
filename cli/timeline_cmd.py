"""``circfin timeline``: the web over time; a thin shell over circfin.report.timeline and report.charts.

``register(app)`` adds the command to the typer app.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..display import money
from ..safe import csv_text, json_dumps, visible
from . import common as cli
from .options import TableJsonCsv as Fmt

if TYPE_CHECKING:
    from ..report.timeline import Timeline

__all__ = ["register"]


class Every(str, Enum):
    quarter = "quarter"
    month = "month"
    year = "year"


class Undisclosed(str, Enum):
    skip = "skip"
    impute = "impute"


def timeline(
    every: Annotated[Every, typer.Option("--every", help="One row per quarter, month or year end.")] = Every.quarter,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="First period: the one this date (YYYY[-MM[-DD]]) falls in. "
                        "Default: the first dated deal's.", show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="The last row: the web on this day (YYYY[-MM[-DD]]). Default: today.",
        show_default=False)] = None,
    types: Annotated[Optional[list[str]], typer.Option(
        "--types", help="Deal types that count (comma-separated or repeated).", show_default=False)] = None,
    status: Annotated[Optional[list[str]], typer.Option(
        "--status", help=cli._STATUS_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
    undisclosed: Annotated[Undisclosed, typer.Option(
        "--undisclosed", help="For the cycling index: leave undisclosed amounts out (skip), or "
                              "impute the median disclosed amount of the deal's type.")] = Undisclosed.skip,
    chart: Annotated[Optional[Path], typer.Option(
        "--chart", help="Also draw the timeline to this file: .svg or .png (committed dollars, "
                        "loops and the cycling index over time).", show_default=False)] = None,
    time_budget: Annotated[Optional[float], typer.Option("--time-budget", help=cli._TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[Optional[int], typer.Option(
        "--max-loops", help="Stop counting a date's loops after this many, and say so; 0 for no limit.")
    ] = 100_000,
    fmt: Annotated[Fmt, typer.Option("--format", help="table, json or csv.")] = Fmt.table,
) -> None:
    """The web over time: at each quarter (month, year) end, the web as --as-of that day sees it.

    Each row: the deals that count, their disclosed committed dollars, the loops of
    2 to 6 entities, the Finn cycling index (the share of the money flowing through
    the web that comes back to where it came from) and the five highest return
    shares. The last row is the --as-of day itself.

    Example: circfin timeline --every year --chart web.svg
    """
    from ..loops.from_store import Budget, snapshot
    from ..report.timeline import timeline as run_timeline
    from ..safe import atomic_write, check_target

    chart_fmt = None
    if chart is not None:  # a bad name or target fails before any work
        from ..report.charts import chart_format

        chart_fmt = chart_format(str(chart))
        check_target(chart, "--chart")
    day = cli._as_of(as_of)
    since_day = None
    if since is not None:
        from ..errors import InputError
        from ..graph.model import date_bounds

        try:
            since_day = date_bounds(since)[0]
        except ValueError as e:
            raise InputError(f"--since: {e}") from None
        if since_day.isoformat() > day:
            raise InputError(f"--since {since_day.isoformat()} is after --as-of {day}")
    confidences = cli._min_confidence(min_confidence)
    budget = Budget(time_budget=time_budget, max_loops=max_loops)
    with cli._store() as store, cli._status(fmt.value, "reading the web"):
        snap = snapshot(store)
    result = run_timeline(snap, every=every.value, since=since_day, as_of=day, types=cli._split(types),
                          status=cli._statuses_opt(status), confidences=confidences,
                          undisclosed=undisclosed.value, budget=budget)
    if chart is not None and chart_fmt is not None:
        from ..report.charts import timeline_chart

        atomic_write(chart, timeline_chart(result.rows, chart_fmt), "--chart")
    if fmt == Fmt.json:
        cli._write(json_dumps([r.to_dict() for r in result.rows], indent=2))
    elif fmt == Fmt.csv:
        cli._write(_csv(result))
    else:
        cli.out.print(_table(result))
        if chart is not None:
            cli.err.print(Text(visible(f"chart written to {chart}")))
    if not result.complete and budget.note:
        cli.err.print(Text(visible(f"note: {budget.note}"), style="yellow"))


def _share(x: float) -> str:
    return "<1%" if 0 < x < 0.005 else f"{100 * x:.0f}%"


def _top_text(top: tuple[dict[str, Any], ...]) -> str:
    return ", ".join(f"{t['name']} {_share(float(t['return_share']))}" for t in top)


def _table(result: Timeline) -> Table:
    rows = result.rows
    title = (f"The web over time, every {result.every}: {len(rows)} date{'s' if len(rows) != 1 else ''}"
             + (f" to {rows[-1].as_of}" if rows else ""))
    table = Table(title=title, title_justify="left")
    table.add_column("as of", no_wrap=True)
    table.add_column("deals", justify="right")
    table.add_column("committed", justify="right")
    table.add_column("loops", justify="right")
    table.add_column("FCI", justify="right")
    table.add_column("highest return shares")
    for r in rows:
        loops = f"{r.loops:,}" + ("" if r.loops_complete else "+")
        table.add_row(r.as_of, f"{r.deals:,}", money(r.committed_usd), loops, f"{100 * r.fci:.1f}%",
                      Text(visible(_top_text(r.top))))
    return table


def _csv(result: Timeline) -> str:
    header = ["as_of", "deals", "committed_usd", "loops", "loops_complete", "fci"]
    for i in range(1, 6):
        header += [f"top{i}_id", f"top{i}_name", f"top{i}_return_share"]
    out = []
    for r in result.rows:
        d = r.to_dict()
        cells: list[object] = [d["as_of"], d["deals"], d["committed_usd"], d["loops"], d["loops_complete"],
                               d["fci"]]
        for i in range(5):
            t = d["top"][i] if i < len(d["top"]) else {}
            cells += [t.get("id", ""), t.get("name", ""), t.get("return_share", "")]
        out.append(cells)
    return csv_text(header, out)


def register(app: typer.Typer) -> None:
    """Add ``timeline`` to the circfin app."""
    app.command("timeline")(timeline)
