"""``circfin sec ...``: ingest from SEC EDGAR (through edgartools); a thin shell over
circfin.ingest.sec.

``register(app)`` adds the ``sec`` command group to the typer app.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..display import money
from ..safe import json_dumps, visible
from . import common as cli
from .options import TableJson as Fmt

if TYPE_CHECKING:
    from ..ingest.sec import FilingFinancials

__all__ = ["register"]

sec_app = typer.Typer(help="Ingest from SEC EDGAR: dated financials from XBRL company facts, 13F holdings, "
                           "deal candidates from 8-Ks.",
                      no_args_is_help=True)

_EDGAR_DIR_HELP = ("Read this local EDGAR mirror (edgartools' local-storage layout: "
                   "companyfacts/CIK##########.json, submissions/, filings) instead of SEC's servers; "
                   "without it, EDGAR_IDENTITY=\"Name email\" must be set (SEC's fair-access policy).")


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    from ..errors import InputError
    from ..graph.model import date_bounds

    try:
        return date_bounds(value)[0].isoformat()
    except ValueError as e:
        raise InputError(f"--since: {e}") from None


def financials(
    entities: Annotated[Optional[list[str]], typer.Argument(
        help="Entities (id, name or alias) with a sec_cik.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every entity with a sec_cik.")] = False,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only periods ending on or after this date (YYYY-MM-DD, YYYY-MM or YYYY).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and validate; write nothing.")] = False,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    edgar_dir: Annotated[Optional[Path], typer.Option("--edgar-dir", help=_EDGAR_DIR_HELP,
                                                      show_default=False)] = None,
) -> None:
    """Dated financials from each entity's XBRL company facts, one row per 10-K and 10-Q.

    Each row: as_of the period the filing closes; equity, total assets and liabilities,
    backlog (remaining performance obligations), revenue (fiscal year for a 10-K, trailing
    four quarters for a 10-Q: the basis says which), shares outstanding and public float;
    sourced by the filing's EDGAR URL and accession. Running it again changes nothing.

    Example: circfin sec financials nvidia --edgar-dir ./edgar
    """
    from ..errors import InputError
    from ..ingest.sec import edgar_source, ingest_financials

    if bool(entities) == all_:
        raise InputError("name the entities, or give --all (every entity with a sec_cik)")
    first = _since(since)
    with cli._store() as store, edgar_source(edgar_dir) as root:
        rows, report, warnings = ingest_financials(store, None if all_ else entities, edgar_dir=root,
                                                   since=first, dry_run=dry_run)
    for w in warnings:
        cli.err.print(Text(visible(f"warning: {w}"), style="yellow"))
    counts = report.links["financials"]
    if fmt == Fmt.json:
        cli._write(json_dumps({"rows": [r.to_dict() for r in rows], "financials": counts,
                               "dry_run": dry_run}, indent=2))
        return
    cli.out.print(_table(rows))
    verb = "would write" if dry_run else "wrote"
    cli.out.print(Text(f"financials rows: {verb} {counts['new']} new, {counts['updated']} updated; "
                       f"{counts['unchanged']} unchanged"))


def _table(rows: list[FilingFinancials]) -> Table:
    table = Table(title="SEC EDGAR financials (XBRL company facts; revenue FY: fiscal year, TTM: trailing "
                        "four quarters)", title_justify="left")
    for col, right in (("entity", False), ("as_of", False), ("filing", False), ("equity", True),
                       ("assets", True), ("liabilities", True), ("revenue", True), ("backlog", True),
                       ("shares", True), ("float", True)):
        table.add_column(col, justify="right" if right else "left")

    def m(r: FilingFinancials, k: str) -> str:
        v = r.figures.get(k)
        return "" if v is None else money(v)

    for r in rows:
        rev = m(r, "revenue_usd")
        if rev:
            rev += " FY" if r.form == "10-K" else " TTM"
        shares = r.figures.get("shares_outstanding")
        table.add_row(Text(visible(r.entity_id)), r.as_of, f"{r.form} {r.accession}", m(r, "equity_usd"),
                      m(r, "total_assets_usd"), m(r, "total_liabilities_usd"), rev, m(r, "backlog_usd"),
                      "" if shares is None else money(shares).lstrip("$"), m(r, "public_float_usd"))
    return table


class ValueUnit(str, Enum):
    dollars = "dollars"
    thousands = "thousands"


class Capacity(str, Enum):
    managed = "managed"
    own = "own"


_HOLDER_KINDS = ("bank", "private_credit", "hedge_fund", "asset_manager", "sovereign_fund")


def holdings(
    manager: Annotated[Optional[str], typer.Argument(
        help="The filer of the 13F (entity id, name or alias).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Every bank, fund and asset manager with a sec_cik (live only); one that files no "
                      "13F-HR is skipped, said so.")] = False,
    quarter: Annotated[Optional[str], typer.Option(
        "--quarter", help="The 13F-HR for this quarter (YYYY-Qn); default: the latest.",
        show_default=False)] = None,
    infotable: Annotated[Optional[Path], typer.Option(
        "--infotable", help="Read this 13F information table (XML) instead of SEC's servers; needs "
                            "--period and --source-url.", show_default=False)] = None,
    period: Annotated[Optional[str], typer.Option(
        "--period", help="With --infotable: the quarter end it reports (YYYY-MM-DD).",
        show_default=False)] = None,
    source_url: Annotated[Optional[str], typer.Option(
        "--source-url", help="With --infotable: the filing's EDGAR URL.", show_default=False)] = None,
    value_unit: Annotated[Optional[ValueUnit], typer.Option(
        "--value-unit", help="The table's values are dollars (13Fs from 2023) or thousands (before); "
                             "default: edgartools' reading of the table.", show_default=False)] = None,
    capacity: Annotated[Capacity, typer.Option(
        "--capacity", help="managed: held for clients (funds, trusts, custody), what a 13F lists; own: the "
                           "filer holds them for itself (its balance sheet).")] = Capacity.managed,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and validate; write nothing.")] = False,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
) -> None:
    """A manager's 13F holdings in the graph's issuers, written as dated holdings rows.

    Positions are matched to entities by CUSIP (the entities' cusips column), then by
    issuer name (listed for review: add the CUSIP to the entity to confirm); positions
    in issuers outside the graph are counted and listed, options left out. The holdings
    are written as managed (held for clients; their losses are not the manager's) unless
    --capacity own, and feed `circfin stress`. Without --infotable, EDGAR_IDENTITY must be set.

    Example: circfin sec holdings blackrock --quarter 2025-Q4
    """
    from ..errors import InputError
    from ..ingest.pipeline import stored_entities
    from ..ingest.sec import edgar_source, ingest_holdings

    if (manager is None) == (not all_):
        raise InputError("name the manager, or give --all (every bank and fund with a sec_cik)")
    unit = value_unit.value if value_unit else None
    day = None
    if period is not None:
        day = _since(period)
    results = []
    if infotable is not None:
        if all_:
            raise InputError("--infotable is one manager's table: name the manager instead of --all")
        with cli._store() as store:
            results.append(ingest_holdings(store, str(manager), infotable=infotable, as_of=day,
                                           source_url=source_url, dry_run=dry_run, value_unit=unit,
                                           capacity=capacity.value))
    else:
        if period is not None or source_url is not None:
            raise InputError("--period and --source-url go with --infotable")
        with cli._store() as store, edgar_source(None):
            names = [str(manager)] if manager is not None else [
                e["id"] for e in stored_entities(store) if e.get("sec_cik") and e.get("kind") in _HOLDER_KINDS]
            if not names:
                raise InputError("no bank, fund or asset manager has a sec_cik; nothing written")
            for name in names:
                try:
                    results.append(ingest_holdings(store, name, quarter=quarter, dry_run=dry_run,
                                                   value_unit=unit, capacity=capacity.value))
                except InputError as e:
                    if not all_:
                        raise
                    cli.err.print(Text(visible(f"warning: {name}: {e}; skipped"), style="yellow"))
    if fmt == Fmt.json:
        docs = [{**res.to_dict(), "written": report.links["holdings"], "dry_run": dry_run}
                for res, report in results]
        cli._write(json_dumps(docs if all_ else docs[0], indent=2))
        return
    for res, report in results:
        _print_holdings(res, report.links["holdings"], dry_run)


def _print_holdings(res: Any, counts: dict[str, int], dry_run: bool) -> None:
    whose = "held for clients (managed)" if all(r.get("capacity") == "managed" for r in res.rows) \
        else "its own (capacity own)"
    table = Table(title=f"13F holdings of {res.holder} as of {res.as_of}, {whose} (values in {res.value_unit} "
                        "as filed, shown in dollars)", title_justify="left")
    for col in ("issuer", "value", "shares", "CUSIPs", "matched by"):
        table.add_column(col, justify="right" if col in ("value", "shares") else "left")
    named = {b["cusip"] for b in res.by_name}
    for r in res.rows:
        how = "name (review)" if any(c in named for c in r["cusips"]) else "CUSIP"
        table.add_row(Text(visible(r["asset"])), money(r["value_usd"]), f"{r['shares']:,.0f}",
                      ", ".join(r["cusips"]), how)
    cli.out.print(table)
    if res.unmatched:
        shown = ", ".join(f"{u['cusip']} {u['issuer']}" for u in res.unmatched[:8])
        cli.out.print(Text(visible(f"{len(res.unmatched)} positions in issuers outside the graph (unmatched "
                                   f"CUSIPs), not written: {shown}{' ...' if len(res.unmatched) > 8 else ''}")))
    if res.skipped_options:
        cli.out.print(f"{res.skipped_options} option positions (puts and calls) left out")
    verb = "would write" if dry_run else "wrote"
    cli.out.print(f"holdings rows of {res.holder}: {verb} {counts['new']} new, {counts['updated']} updated; "
                  f"{counts['unchanged']} unchanged")


def filings(
    forms: Annotated[Optional[list[str]], typer.Option(
        "--forms", help="Forms to read; 8-K (the default) is the one read today.", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only filings filed on or after this date.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and report; record nothing.")] = False,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    edgar_dir: Annotated[Optional[Path], typer.Option("--edgar-dir", help=_EDGAR_DIR_HELP + (
        " Offline, the 8-Ks are the mirror's filings/*.txt full submissions."), show_default=False)] = None,
) -> None:
    """Deal candidates from the tracked entities' 8-Ks (Items 1.01, 2.03, 3.02).

    Each known entity named in such a filing's text becomes a candidate: the filer, the
    counterparty, the amount the sentence states, the sentence as evidence and the
    filing as source. Candidates count in no analysis until `circfin review accept`.
    Running it again records nothing new.

    Example: circfin sec filings --since 2025-09-01
    """
    from ..errors import InputError
    from ..ingest.sec import edgar_source, ingest_filings

    wanted = cli._split(forms) or ["8-K"]
    if any(f.upper() not in ("8-K", "8-K/A") for f in wanted):
        raise InputError(f"--forms {','.join(wanted)}: only 8-K is read for deal candidates")
    first = _since(since)
    with cli._store() as store, edgar_source(edgar_dir) as root:
        seen, new, known = ingest_filings(store, edgar_dir=root, since=first, dry_run=dry_run)
    if fmt == Fmt.json:
        cli._write(json_dumps({"filings": [k.to_dict() for k in seen], "new_candidates": new,
                               "known_candidates": known, "dry_run": dry_run}, indent=2))
        return
    table = Table(title="8-K filings of tracked entities", title_justify="left")
    for col in ("filed", "filer", "accession", "items", "candidates"):
        table.add_column(col)
    for k in seen:
        table.add_row(k.filed, Text(visible(k.filer or k.cik)), k.accession, ", ".join(k.items),
                      Text(visible(", ".join(c["counterparty"] for c in k.candidates) or "-")))
    cli.out.print(table)
    verb = "would record" if dry_run else "recorded"
    cli.out.print(f"deal candidates: {verb} {len(new)} new; {known} already known. "
                  "Review them: circfin review list")


review_app = typer.Typer(help="Review deal candidates found in filings: accept into deals or reject.",
                         no_args_is_help=True)


def review_list(
    all_: Annotated[bool, typer.Option("--all", help="Reviewed candidates too.")] = False,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
) -> None:
    """The open deal candidates (with --all, the reviewed ones too).

    Example: circfin review list --format json
    """
    from ..ingest.candidates import list_candidates

    with cli._store() as store:
        rows = list_candidates(store, None if all_ else "candidate")
    if fmt == Fmt.json:
        cli._write(json_dumps(rows, indent=2))
        return
    table = Table(title=f"Deal candidates ({len(rows)})", title_justify="left", show_lines=True)
    for col in ("id", "filed", "filer", "counterparty", "items", "amount", "status", "evidence"):
        table.add_column(col, justify="right" if col == "amount" else "left")
    for r in rows:
        table.add_row(Text(visible(r["id"])), r["filed"], Text(visible(r["filer"])),
                      Text(visible(r["counterparty"])), ", ".join(r.get("items") or []),
                      money(r.get("amount_usd")), r["status"], Text(visible(r.get("evidence") or "")))
    cli.out.print(table)


def review_accept(
    cid: Annotated[str, typer.Argument(help="The candidate's id (circfin review list).", show_default=False)],
    deal_type: Annotated[str, typer.Option("--type", help="The deal's type (as in a deals file).")],
    amount: Annotated[Optional[float], typer.Option(
        "--amount", help="Amount in US dollars; default: the one found in the filing.",
        show_default=False)] = None,
    payer: Annotated[Optional[str], typer.Option(
        "--payer", help="Default: the counterparty (a filer discloses what it is owed).",
        show_default=False)] = None,
    payee: Annotated[Optional[str], typer.Option("--payee", help="Default: the filer.",
                                                 show_default=False)] = None,
    status: Annotated[str, typer.Option("--status", help="The deal's status.")] = "signed",
    confidence: Annotated[str, typer.Option("--confidence", help="high, medium or low.")] = "high",
) -> None:
    """Turn a candidate into a deal, sourced by its filing and described by the sentence found.

    Example: circfin review accept 0001769628-25-000099.openai --type compute_purchase
    """
    from ..ingest.candidates import accept

    with cli._store() as store:
        report = accept(store, cid, type=deal_type, amount_usd=amount, payer=payer, payee=payee,
                        status=status, confidence=confidence)
    cli.out.print(Text(visible(f"accepted {cid}: deal {', '.join(report.deals_new + report.deals_updated)} "
                               "written")))


def review_reject(
    cid: Annotated[str, typer.Argument(help="The candidate's id (circfin review list).", show_default=False)],
) -> None:
    """Drop a candidate: it stays recorded as rejected and is not offered again.

    Example: circfin review reject 0001769628-25-000099.openai
    """
    from ..ingest.candidates import reject

    with cli._store() as store:
        reject(store, cid)
    cli.out.print(Text(visible(f"rejected {cid}")))


def register(app: typer.Typer) -> None:
    """Add the ``sec`` command group to the circfin app."""
    sec_app.command("financials")(financials)
    sec_app.command("holdings")(holdings)
    sec_app.command("filings")(filings)
    review_app.command("list")(review_list)
    review_app.command("accept")(review_accept)
    review_app.command("reject")(review_reject)
    app.add_typer(review_app, name="review")
    app.add_typer(sec_app, name="sec")
