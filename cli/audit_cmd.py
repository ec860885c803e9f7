"""``circfin audit``: where the data is thin or suspect; a thin shell over circfin.analytics.audit.

``register(app)`` adds the command to the typer app.

Exit codes: 0 the report was written, whatever it found (an audit is a report,
not a test); 3 with ``--fail-on error|warning`` when findings of that severity or
worse exist (for data pipelines and CI), or on an error.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..safe import json_dumps, visible
from . import common as cli
from .options import TableJson as Fmt

if TYPE_CHECKING:
    from ..analytics.audit import Finding

__all__ = ["EXIT_FINDINGS", "register"]

EXIT_FINDINGS = 3  # `circfin audit --fail-on ...` with such findings: not 1, which is an error


class FailOn(str, Enum):
    error = "error"
    warning = "warning"


_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def audit(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    fail_on: Annotated[Optional[FailOn], typer.Option(
        "--fail-on", help="Exit 3 when there are findings of this severity or worse (error or warning); "
                          "without it the exit code is 0 whatever is found.", show_default=False)] = None,
) -> None:
    """Where the data is thin or suspect: each finding with the deal or entity ids it concerns.

    Errors: a status its latest event contradicts; shares of a deal side over 100%.

    Warnings: look-alike or near-duplicate entity names; only aggregator sources;
    syndicates without members; no financials; a status unchanged for over a year.

    Info: undisclosed amounts; deals without events; old financials; sides partly undisclosed.

    Exit code 0 whatever is found (it is a report), unless --fail-on is given.

    Example: circfin audit --fail-on error --format json
    """
    from .. import queries
    from ..analytics.audit import SEVERITIES
    from ..analytics.audit import audit as run_audit
    from ..loops.from_store import snapshot

    day = cli._as_of(as_of)
    with cli._store() as store:
        snap = snapshot(store, as_of=day, sources=True)
        # The snapshot holds each deal's status as of `day`; the stored one is checked against its events.
        recorded = {r["deal_id"]: r["status"] for r in store.read(queries.load("deals").text)}
    findings = run_audit(snap, recorded=recorded)
    if fmt == Fmt.json:
        cli._write(json_dumps([f.to_dict() for f in findings], indent=2))
    else:
        _print_table(findings, day)
    if fail_on is not None:
        worst = SEVERITIES.index(fail_on.value)
        if any(SEVERITIES.index(f.severity) <= worst for f in findings):
            raise typer.Exit(EXIT_FINDINGS)


def _print_table(findings: list[Finding], day: str) -> None:
    from ..analytics.audit import CHECKS

    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.check, []).append(f)
    if not groups:
        cli.out.print(f"audit as of {day}: no findings")
        return
    for check, rows in groups.items():
        severity, what = CHECKS[check]
        table = Table(title=Text.assemble((f"{check}", "bold"), f" ({severity}, {len(rows)}): {what}"),
                      title_justify="left", show_header=True)
        table.add_column("ids", no_wrap=True)
        table.add_column("finding")
        for f in rows:
            table.add_row(Text(visible(", ".join(f.ids))), Text(visible(f.message)))
        cli.out.print(table)
    summary = Table(title=f"Audit as of {day}: {len(findings)} finding{'s' if len(findings) != 1 else ''}",
                    title_justify="left")
    summary.add_column("check")
    summary.add_column("severity")
    summary.add_column("count", justify="right")
    for check, rows in groups.items():
        severity = CHECKS[check][0]
        summary.add_row(check, Text(severity, style=_STYLE[severity]), str(len(rows)))
    cli.out.print(summary)


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the circfin app."""
    app.command("audit")(audit)
