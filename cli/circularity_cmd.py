"""``circfin circularity``: how much of the money goes round, and who is most
self-funded; a thin shell over circfin.analytics.circularity.

``register(app)`` adds the command to the typer app.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..display import money
from ..errors import InputError
from ..safe import json_dumps, visible
from . import checks
from . import common as cli
from .options import TableJson as Fmt

if TYPE_CHECKING:
    from ..analytics.circularity import Circularity

__all__ = ["register"]

_TABLE_LIMIT = 20


class Undisclosed(str, Enum):
    skip = "skip"
    impute = "impute"


def circularity(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    types: Annotated[Optional[list[str]], typer.Option(
        "--types", help="Deal types that count (comma-separated or repeated).", show_default=False)] = None,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=cli._STATUS_HELP,
                                                        show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
    undisclosed: Annotated[Undisclosed, typer.Option(
        "--undisclosed", help="Deals without a disclosed amount: skip (leave them out) or impute "
                              "(the median disclosed amount of their deal type).")] = Undisclosed.skip,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    limit: Annotated[Optional[int], typer.Option(
        help=f"Show at most this many entities (default: {_TABLE_LIMIT} in the table, all in JSON; "
             "0 for all).", show_default=False, callback=checks.int_range("--limit", 0))] = None,
) -> None:
    """How circular the web is: Finn's cycling index (FCI), the share of all money passing
    through entities that comes back to where it passed, through chains of deals of any
    length; and each entity's return share (of each dollar passing through it, the share
    that comes back to it) and throughflow.

    Example: circfin circularity --as-of 2025-06-30 --undisclosed impute --format json
    """
    from ..analytics.circularity import circularity as run
    from ..graph.model import DEAL_STATUSES, DEAL_TYPES
    from ..loops.from_store import snapshot

    day = cli._as_of(as_of)
    allowed = cli._min_confidence(min_confidence)
    kinds = cli._split(types)
    bad = [t for t in kinds or [] if t not in DEAL_TYPES]
    if bad:
        raise InputError(f"--types: unknown deal type {', '.join(map(repr, bad))}; "
                         f"expected: {', '.join(DEAL_TYPES)}")
    statuses = cli._statuses_opt(status)
    bad = [s for s in statuses or [] if s not in DEAL_STATUSES]
    if bad:
        raise InputError(f"--status: unknown status {', '.join(map(repr, bad))}; "
                         f"expected: {', '.join(DEAL_STATUSES)} or all")
    with cli._store() as store:
        snap = snapshot(store, as_of=day)
    result = run(snap, types=kinds, status=statuses, confidences=allowed, undisclosed=undisclosed.value)
    shown = limit if limit is not None else (_TABLE_LIMIT if fmt == Fmt.table else 0)
    every = len(result.entities)
    if shown:
        result.entities = result.entities[:shown]
    if fmt == Fmt.json:
        cli._write(json_dumps(result.to_dict(), indent=2))
        return
    _print(result, every=every)


def _headline(r: Circularity) -> list[str]:
    share = f"{100 * r.fci:.1f}%"
    lines = [f"Circularity as of {r.as_of}: FCI {r.fci:.3f}: {money(r.cycled_usd)} of "
             f"{money(r.total_usd)} throughflow ({share}) comes back to where it passed."]
    u = r.undisclosed
    n = u["deals"]
    plural = "s" if n != 1 else ""
    if u["mode"] == "skip":
        what = f"{n} deal{plural} without a disclosed amount left out"
    else:
        what = f"{n} deal{plural} without a disclosed amount imputed by the median of their type"
        if u["left_out"]:
            what += f" ({u['left_out']} left out: no disclosed amount of their type)"
    lines.append(f"{r.deals} deal{'s' if r.deals != 1 else ''} counted; {what}.")
    return lines


def _print(r: Circularity, *, every: int) -> None:
    for line in _headline(r):
        cli.out.print(Text(visible(line)))
    if not r.entities:
        cli.out.print("no entity has throughflow")
        return
    table = Table(title="Entities by return share (of each dollar through them, the share that "
                        "comes back)", title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("entity")
    table.add_column("return share", justify="right")
    table.add_column("throughflow", justify="right")
    for i, e in enumerate(r.entities, 1):
        table.add_row(str(i), Text(visible(e["name"])), f"{100 * e['return_share']:.1f}%",
                      money(e["throughflow_usd"]))
    cli.out.print(table)
    if len(r.entities) < every:
        cli.out.print(Text(f"the first {len(r.entities)} of {every} entities; --limit 0 for all",
                           style="dim"))


def register(app: typer.Typer) -> None:
    """Add ``circularity`` to the circfin app."""
    app.command("circularity")(circularity)
