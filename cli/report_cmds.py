"""``circfin report``, ``circfin graph`` and ``circfin browser``: thin shells over circfin.report.

``register(app)`` adds the commands to the typer app. Each parses its options,
makes one library call and renders the result, as the commands in app.py do.

Exit codes of ``circfin report``: 0 written; 3 written, and new loops were
found while ``--fail-on-new`` was given (for scheduled jobs and CI); 1 an error.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from . import common as cli
from .options import Engine
from .options import TableJson as Fmt

__all__ = ["EXIT_NEW_LOOPS", "register"]

# `circfin report --fail-on-new` exits with this when there are new loops.
EXIT_NEW_LOOPS = 3


_STATUS_HELP = cli._STATUS_HELP


@contextlib.contextmanager
def _progress(fmt: Fmt) -> Iterator[Callable[[str], None] | None]:
    """A spinner with the current step on a terminal; nothing with --format json or in a pipe."""
    if not cli._progress_enabled(fmt.value):
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=cli.err, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda step: bar.update(task, description=step)


def report(
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for report.md, report.html, report.json and graph.html.")] = Path("circfin-report"),
    since: Annotated[Optional[str], typer.Option(
        help="'last' (default): what is new since the last report. A date (YYYY-MM-DD) also lists "
             "every loop with a deal dated on or after it.", show_default=False)] = None,
    fail_on_new: Annotated[bool, typer.Option(
        "--fail-on-new", help=f"Exit with code {EXIT_NEW_LOOPS} when there are new loops.")] = False,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop, in entities.")] = 6,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    top: Annotated[int, typer.Option(help="How many top loops to list.")] = 10,
    no_record: Annotated[bool, typer.Option(
        "--no-record", help="Write the files but record nothing in the graph (a preview).")] = False,
    engine: Annotated[Engine, typer.Option(help="memory, cypher, or auto.")] = Engine.auto,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    time_budget: Annotated[float, typer.Option(
        "--time-budget", help="Give up after this many seconds of loop search (a report needs every "
                              "loop: nothing is written then); 0 for no limit.")] = 30.0,
    max_loops: Annotated[int, typer.Option(
        "--max-loops", help="Give up beyond this many loops (nothing is written then); 0 for no "
                            "limit.")] = 100_000,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Report the loops that are new, grew, shrank or broke since the last report.

    The state of the last report is kept in the graph: every machine sharing the database sees the same news.

    Exit codes: 0 written; 3 written and there are new loops, with --fail-on-new; 1 an error.

    Example: circfin report --out reports/ --since last --fail-on-new
    """
    from ..loops.from_store import Budget
    from ..report.report import write_report

    budget = Budget(time_budget=time_budget, max_loops=max_loops)
    statuses = cli._statuses_opt(status)
    day = cli._as_of(as_of)
    confidences = cli._min_confidence(min_confidence)
    # A report as of a past date is a look back, not the news: recording it would make
    # the next report compare today's web against the past one.
    past = day < _dt.date.today().isoformat()
    if past and not no_record:
        cli.err.print(Text(f"note: a report as of {day}, a past date, records nothing in the graph; "
                           "the next report compares against the last report of today's web",
                           style="yellow"))
    with cli._store() as store, _progress(fmt) as progress:
        result = write_report(store, out_dir, since=since, max_len=max_len, status=statuses,
                              engine=engine.value, top=top, record=not (no_record or past),
                              progress=progress,
                              budget=budget, as_of=day, confidences=confidences)
    if fmt == Fmt.json:
        cli._write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(result)
    if fail_on_new and result.new_loops:
        # SystemExit, not typer.Exit: click swallows Exit when app.main runs it with
        # standalone_mode=False, and the exit code would be lost.
        raise SystemExit(EXIT_NEW_LOOPS)


def _print_report(result) -> None:  # type: ignore[no-untyped-def]
    from ..report.render import money
    from .render import records_table

    s = result.data["summary"]
    prev = result.data["since"]["last_report"]
    against = f"since report {prev['id']} of {prev['at']}" if prev else "first report"
    cli.out.print(f"report {result.run_id} ({against}), as of {result.data['as_of']}: "
                  f"{s['loops']} loops, {s['new']} new, "
                  f"{s['changed'] - s['gone']} grew or shrank, {s['gone']} gone or cancelled")
    rows = [{"loop": " → ".join([*lp["entities"], lp["entities"][0]]), "key": lp["key"],
             "bottleneck": money(lp["bottleneck_usd"]), "why": "; ".join(lp["reasons"])}
            for lp in result.new_loops]
    if rows:
        cli.out.print(records_table(rows, [("loop", "loop"), ("key", "key"), ("bottleneck", "bottleneck"),
                                           ("why", "why new")], title="New loops"))
    changed = [{"loop": " → ".join([*c["entities"], c["entities"][0]]), "key": c["key"],
                "change": c["change"]} for c in result.changed_loops]
    if changed:
        cli.out.print(records_table(changed, [("loop", "loop"), ("key", "key"), ("change", "change")],
                                    title="Changed loops"))
    cli.out.print(f"wrote {', '.join(str(p) for p in result.files.values())}")


def graph(
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.", show_default=False)],
    loop: Annotated[Optional[str], typer.Option(
        "--loop", help="Highlight this loop, by key (e.g. nvidia>openai>oracle).", show_default=False)] = None,
    entity: Annotated[Optional[str], typer.Option(
        help="Highlight every loop through this entity (id, name or alias).", show_default=False)] = None,
    flag: Annotated[Optional[str], typer.Option(
        help="Highlight the loops with this risk flag.", show_default=False)] = None,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop, in entities.")] = 6,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    engine: Annotated[Engine, typer.Option(help="memory, cypher, or auto.")] = Engine.auto,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    time_budget: Annotated[float, typer.Option("--time-budget", help=cli._TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[int, typer.Option("--max-loops", help=cli._MAX_LOOPS_HELP)] = 100_000,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Write an interactive graph page: one HTML file that works offline.

    Example: circfin graph --out stargate.html --loop nvidia>openai>oracle
    """
    from ..errors import InputError
    from ..loops.from_store import Budget
    from ..report.graph_page import graph_data, render_graph_page
    from ..safe import atomic_write, check_target
    from .budget import warn

    budget = Budget(time_budget=time_budget, max_loops=max_loops)  # search and page together
    day = cli._as_of(as_of)
    confidences = cli._min_confidence(min_confidence)
    check_target(out_file)  # a symlink, device or folder is refused before the search
    with cli._store() as store:
        data = graph_data(store, loop_key=loop, entity=entity, flag=flag, max_len=max_len,
                          status=cli._statuses_opt(status), engine=engine.value, budget=budget,
                          as_of=day, confidences=confidences)
    page = render_graph_page(data)
    target = out_file.parent if str(out_file.parent) else Path(".")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write {out_file}: {e.strerror or e}; choose another --out") from None
    atomic_write(out_file, page)  # an unpredictable temp file beside it, renamed into place
    info = {"out": str(out_file), "as_of": day, "min_confidence": min_confidence or "low",
            "bytes": len(page.encode("utf-8")),
            "entities": len(data["entities"]),
            "deals": len(data["deals"]), "loops": data["loops_total"], "highlighted": data["highlight"],
            **budget.to_dict()}
    warn(cli.err, budget)
    if fmt == Fmt.json:
        cli._write(json.dumps(info, indent=2, ensure_ascii=False))
        return
    cli.out.print(f"wrote {out_file} ({info['bytes'] // 1024} KB) as of {day}"
                  f"{cli._confidence_note(min_confidence)}: {info['entities']} entities, "
                  f"{info['deals']} deals, {info['loops']} loops, {len(info['highlighted'])} highlighted")


def browser(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the kit.")] = Path("circfin-browser"),
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
) -> None:
    """Write a Neo4j Browser kit (style, favourites, guide) and print Browser's URL for the store.

    Example: circfin --store bolt://localhost:7687 browser --out kit/
    """
    from ..report.browser import browser_kit

    kit = browser_kit(out_dir, cli.state.store_spec)
    if fmt == Fmt.json:
        cli._write(json.dumps(kit.to_dict(), indent=2, ensure_ascii=False))
        return
    cli.out.print(f"wrote the Neo4j Browser kit to {kit.out_dir} (see its README.md)")
    if kit.url:
        cli.out.print(f"Neo4j Browser: {kit.url}")
    cli.out.print(kit.note, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``report``, ``graph`` and ``browser`` to the circfin app."""
    app.command("report")(report)
    app.command("graph")(graph)
    app.command("browser")(browser)
