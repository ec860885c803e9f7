"""``circfin brief``: one screen of what matters first; a thin shell over circfin.report.brief.

``register(app)`` adds the command to the typer app. The table form fits one terminal
screen (about 50 lines at 100 columns): headline numbers with their change over the last
quarter, the five top-scoring loops in one sentence each, the five most self-funded
entities, and what changed since the last recorded report.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..safe import json_dumps, visible
from . import common as cli

if TYPE_CHECKING:
    from ..report.brief import Brief

__all__ = ["print_brief", "register"]


class BriefFormat(str, Enum):
    table = "table"
    md = "md"
    json = "json"


def brief(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
    fmt: Annotated[BriefFormat, typer.Option("--format", help="table, md (Markdown) or json.")] = BriefFormat.table,
) -> None:
    """One screen: the headline numbers and their change over the last quarter, the top loops
    in plain words, the most self-funded entities, and what changed since the last report.

    Example: circfin brief --as-of 2025-12-31 --format md
    """
    from ..report.brief import build_brief
    from ..report.render import brief_markdown

    day = cli._as_of(as_of)
    conf = cli._min_confidence(min_confidence)
    with cli._store() as store, cli._status(fmt.value if fmt != BriefFormat.md else "json", "briefing"):
        b = build_brief(store, as_of=day, confidences=conf)
    if fmt == BriefFormat.json:
        cli._write(json_dumps(b.to_dict(), indent=2))
    elif fmt == BriefFormat.md:
        cli._write(brief_markdown(b))
    else:
        print_brief(b)


def _text(s: str, style: str = "") -> Text:
    return Text(visible(s), style=style)


def print_brief(b: Brief) -> None:
    """The brief as tables on the terminal, within one screen."""
    from ..display import money
    from ..report.brief import headline_rows, since_lines, title

    out = cli.out
    out.print(_text(title(b), "bold"))
    head = Table(show_header=True, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    head.add_column("measure")
    head.add_column("now", justify="right")
    head.add_column(b.quarter_ago, justify="right")
    head.add_column("change", justify="right")
    for row in headline_rows(b):
        head.add_row(*(_text(c) for c in row))
    out.print(head)
    out.print()
    out.print(_text("Top loops by risk score", "bold"))
    if not b.top_loops:
        out.print("no loops")
    for i, lp in enumerate(b.top_loops, 1):
        line = Text(f"{i}. ", style="dim")
        line.append(visible(lp["sentence"]))
        line.append(f" (score {lp['score']:.2f}, bottleneck {money(lp['bottleneck_usd'])})", style="dim")
        out.print(line, soft_wrap=False)
    out.print()
    out.print(_text("Most self-funded: the share of a dollar through it that comes back to it", "bold"))
    if b.self_funded:
        own = Table(show_header=True, box=None, pad_edge=False, padding=(0, 2, 0, 0))
        own.add_column("entity")
        own.add_column("return share", justify="right")
        own.add_column("throughflow", justify="right")
        for r in b.self_funded:
            own.add_row(_text(str(r["name"])), f"{100 * float(r['return_share']):.1f}%",
                        money(r["throughflow_usd"]))
        out.print(own)
    else:
        out.print("none" if b.headline["fci"]["now"] is not None else "not available")
    out.print()
    out.print(_text("Since the last report", "bold"))
    for said in since_lines(b):
        out.print(_text(said))
    for n in b.notes:
        out.print(_text(f"note: {n}", "yellow"))


def register(app: typer.Typer) -> None:
    """Add ``brief`` to the circfin app."""
    app.command("brief")(brief)
