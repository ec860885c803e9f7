"""``circfin deals``, ``circfin entities`` and ``circfin show``: the data itself, for reading.

Thin shells over circfin.analytics.catalogue: each reads one snapshot of the
graph as of a date (default today), makes one library call and renders the
records as a table, JSON or CSV. ``register(app)`` adds the commands.

Data is never markup, a formula or a terminal escape: table cells are rich Text
through ``safe.visible``, CSV cells go through ``safe.csv_cell`` (a cell that
would start a formula gets a leading ``'``), JSON through ``cli.common._write``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..display import money
from ..safe import csv_text, json_dumps, visible
from . import checks
from . import common as cli
from .options import TableJson, TableJsonCsv

__all__ = ["register"]

_SHOW_TOP = 10  # rows of each long list `show` prints as a table (JSON has them all)
_SHOW_LOOPS = 20
_TABLE_ROWS = 50  # rows of `deals` and `entities` a table shows unless --limit says otherwise


def _limit_opt(what: str, which: str) -> Any:
    return typer.Option(
        help=f"Show at most this many; 0 for all. Default: the table shows the {_TABLE_ROWS} {which} "
             f"(and says how many {what} there are), json and csv all of them.", show_default=False,
        callback=checks.int_range("--limit", 0))


def _cut(rows: list[dict[str, Any]], limit: int | None, table: bool, *, latest: bool = False
         ) -> tuple[list[dict[str, Any]], int]:
    """The rows to show, and how many are left out: a table shows ``_TABLE_ROWS``
    by default (the last ones when ``latest``), json and csv every row."""
    n = _TABLE_ROWS if limit is None and table else (limit or None)
    if n is None or len(rows) <= n:
        return rows, 0
    return (rows[-n:] if latest else rows[:n]), len(rows) - n


def _more(left: int, what: str) -> None:
    if left:
        cli.err.print(f"{left} {what} not shown: --limit 0 shows them all; the filters narrow the "
                      "list; --format csv or json writes every row")
_QUALIFIER = {"approx": "~", "estimate": "est. ", "up_to": "up to ", "at_least": "≥"}


def _amount(v: Any, qualifier: str | None) -> str:
    """$18B, ~$40B, up to $1B; n/d when undisclosed."""
    return "n/d" if v is None else _QUALIFIER.get(qualifier or "", "") + money(v)


def _share(p: Mapping[str, Any]) -> str:
    """'40%', or '~30%' for an even split of what the disclosed shares leave."""
    s = p.get("share")
    if p.get("role") == "arranger":
        return "arranger"
    if s is None:
        return "?"
    return ("~" if p.get("share_basis") == "equal_split" else "") + f"{100 * float(s):.0f}%"


def _members(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{p['entity']} {_share(p)}" + (" (payee side)" if p["side"] == "payee" else "")
                     for p in d["participants"])


def _empty(what: str) -> None:
    cli.out.print(Text(visible(what), style="dim"))


# ---- deals ---------------------------------------------------------------------------------


def _deals_table(rows: Sequence[Mapping[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for heading, right in (("deal", False), ("date", False), ("payer", False), ("payee", False),
                           ("type", False), ("amount", True), ("status", False), ("conf.", False),
                           ("members", False), ("src", True)):
        table.add_column(heading, justify="right" if right else "left")
    for d in rows:
        table.add_row(*(Text(visible(c)) for c in (
            d["deal_id"], d["date"] or "", d["payer"], d["payee"], d["type"],
            _amount(d["amount_usd"], d["amount_qualifier"]), d["status"], d["confidence"] or "",
            _members(d), str(len(d["sources"])))))
    return table


_DEAL_CSV = ("deal_id", "date", "payer", "payee", "payer_id", "payee_id", "type", "amount_usd",
             "amount_qualifier", "status", "confidence", "description", "source_url", "sources",
             "participants", "events")


def _deals_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """One row a deal; the lists as '; '-separated text."""
    out = []
    for d in rows:
        srcs = d["sources"]
        out.append([
            d["deal_id"], d["date"], d["payer"], d["payee"], d["payer_id"], d["payee_id"], d["type"],
            d["amount_usd"], d["amount_qualifier"], d["status"], d["confidence"], d["description"],
            srcs[0]["url"] if srcs else None,
            "; ".join(s["url"] for s in srcs),
            "; ".join(f"{p['entity']} ({p['side']}, {'' if p['share'] is None else p['share']}"
                      f"{', ' + p['share_basis'] if p['share_basis'] else ''}"
                      f"{', arranger' if p.get('role') == 'arranger' else ''})" for p in d["participants"]),
            "; ".join(f"{e['date']} {e['status']}" for e in d["events"]),
        ])
    return csv_text(_DEAL_CSV, out)


def deals(
    entity: Annotated[Optional[str], typer.Option(
        "--entity", help="Deals this entity (name, alias or id) pays, receives or is a member of.",
        show_default=False)] = None,
    type_: Annotated[Optional[list[str]], typer.Option(
        "--type", help="Deal types (repeat or comma-separate), e.g. loan,chip_purchase.",
        show_default=False)] = None,
    status: Annotated[Optional[list[str]], typer.Option(
        "--status", help="Statuses as of the --as-of date (repeat or comma-separate). Default: all.",
        show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option(help="Deals dated on or after (YYYY[-MM[-DD]]).",
                                                 show_default=False)] = None,
    until: Annotated[Optional[str], typer.Option(help="Deals dated on or before (YYYY[-MM[-DD]]).",
                                                 show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    fmt: Annotated[TableJsonCsv, typer.Option("--format", help="table, json or csv.")] = TableJsonCsv.table,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help="Only deals whose sources' confidence is at least this: low (every deal, "
                                 "the default), medium or high.", show_default=False)] = None,
    limit: Annotated[Optional[int], _limit_opt("deals", "latest")] = None,
) -> None:
    """The deals: who pays whom, how much, their status, members, sources and events.

    Example: circfin deals --entity Oracle --type loan,credit_facility --format json
    """
    from ..analytics.catalogue import deal_records
    from ..loops.from_store import resolve_entity, snapshot

    day = cli._as_of(as_of)
    confidences = cli._min_confidence(min_confidence)
    with cli._store() as store:
        snap = snapshot(store, as_of=day, sources=True, confidences=confidences)
    eid = resolve_entity(entity, snap.entities) if entity else None
    rows = deal_records(snap, entity=eid, types=cli._split(type_), statuses=cli._split(status),
                        since=since, until=until)
    total = len(rows)
    rows, left = _cut(rows, limit, fmt == TableJsonCsv.table, latest=True)
    if fmt == TableJsonCsv.json:
        cli._write(json_dumps({"as_of": day, "min_confidence": min_confidence or "low", "deals": rows},
                              indent=2))
    elif fmt == TableJsonCsv.csv:
        cli._write(_deals_csv(rows))
    elif rows:
        shown = f"the {len(rows)} latest of " if left else ""
        cli.out.print(_deals_table(rows, f"{shown}{total} deal{'s' if total != 1 else ''} as of {day}"
                                         f"{cli._confidence_note(min_confidence)}"))
        _more(left, "earlier deals")
    else:
        _empty(f"no deals as of {day}{cli._confidence_note(min_confidence)} match")


# ---- entities ------------------------------------------------------------------------------

# Each figure's latest known value and its date (what the shock models use), after the latest row.
_LATEST_CSV = ("equity_usd", "revenue_usd", "market_cap_usd")
_FIN_CSV = ("equity_usd", "revenue_usd", "market_cap_usd", "total_assets_usd", "total_liabilities_usd",
            "backlog_usd")


def _entities_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    out = []
    for e in rows:
        fin = e["latest_financials"] or {}
        figs = e["figures"]
        out.append([e["id"], e["name"], e["kind"], e["country"], e["parent"], "; ".join(e["aliases"]),
                    e["deals_in"], e["deals_out"], fin.get("as_of"), *(fin.get(k) for k in _FIN_CSV),
                    fin.get("source_url"),
                    *(x for k in _LATEST_CSV for x in ((figs.get(k) or {}).get("value"),
                                                       (figs.get(k) or {}).get("as_of")))])
    return csv_text(("id", "name", "kind", "country", "parent", "aliases", "deals_in", "deals_out",
                     "financials_as_of", *_FIN_CSV, "financials_source_url",
                     *(c for k in _LATEST_CSV for c in (f"latest_{k}", f"latest_{k[:-4]}_as_of"))), out)


def entities(
    kind: Annotated[Optional[list[str]], typer.Option(
        "--kind", help="Entity kinds (repeat or comma-separate), e.g. bank,private_credit.",
        show_default=False)] = None,
    country: Annotated[Optional[list[str]], typer.Option(
        "--country", help="Country codes (repeat or comma-separate), e.g. US,JP.", show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    fmt: Annotated[TableJsonCsv, typer.Option("--format", help="table, json or csv.")] = TableJsonCsv.table,
    limit: Annotated[Optional[int], _limit_opt("entities", "first by name")] = None,
) -> None:
    """The entities: kind, country, parent, aliases, deals in and out, latest financials.

    Example: circfin entities --kind hyperscaler --format csv
    """
    from ..analytics.catalogue import entity_records
    from ..loops.from_store import snapshot

    day = cli._as_of(as_of)
    with cli._store() as store:
        snap = snapshot(store, as_of=day)
    rows = entity_records(snap, kinds=cli._split(kind), countries=cli._split(country))
    total = len(rows)
    rows, left = _cut(rows, limit, fmt == TableJsonCsv.table)
    if fmt == TableJsonCsv.json:
        cli._write(json_dumps({"as_of": day, "entities": rows}, indent=2))
        return
    if fmt == TableJsonCsv.csv:
        cli._write(_entities_csv(rows))
        return
    if not rows:
        _empty(f"no entities as of {day} match")
        return
    names = snap.names
    shown = f"the {len(rows)} first by name of " if left else ""
    table = Table(title=f"{shown}{total} entit{'y' if total == 1 else 'ies'} as of {day}",
                  title_justify="left")
    for heading, right in (("name", False), ("id", False), ("kind", False), ("country", False),
                           ("parent", False), ("aliases", False), ("in", True), ("out", True),
                           ("equity", True), ("equity as of", False), ("revenue", True),
                           ("market value", True)):
        table.add_column(heading, justify="right" if right else "left")
    for e in rows:
        figs = e["figures"]
        parent = e["parent"]

        def fig(k: str, figs: Mapping[str, Any] = figs) -> str:
            return money(figs[k]["value"]) if k in figs else ""

        table.add_row(*(Text(visible(c)) for c in (
            e["name"], e["id"], e["kind"] or "", e["country"] or "",
            names.get(parent, parent) if parent else "", ", ".join(e["aliases"]),
            str(e["deals_in"]), str(e["deals_out"]),
            fig("equity_usd"), str(figs["equity_usd"]["as_of"]) if "equity_usd" in figs else "",
            fig("revenue_usd"), fig("market_cap_usd"))))
    cli.out.print(table)
    cli.out.print("Each figure is the latest known on or before the date, as the shock models use it "
                  "(a private round's valuation under market value); `circfin show NAME` lists every "
                  "dated row with its basis and source.")
    _more(left, "entities")


# ---- show ----------------------------------------------------------------------------------


def show(
    name: Annotated[str, typer.Argument(help="The entity: name, alias or id.", show_default=False)],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    fmt: Annotated[TableJson, typer.Option("--format", help="table or json.")] = TableJson.table,
) -> None:
    """One entity's page: who it is, its financials over time, its deals in and out, the
    syndicates it sits in, the loops through it and its biggest exposures.

    Example: circfin show Oracle --as-of 2025-06
    """
    from ..analytics.catalogue import entity_page
    from ..loops.from_store import loops_from_store, resolve_entity, snapshot
    from ..risk.exposures import build_exposures

    day = cli._as_of(as_of)
    with cli._store() as store:
        snap = snapshot(store, as_of=day, sources=True)
        eid = resolve_entity(name, snap.entities)
        with cli._status(fmt.value, "searching loops"):
            found, _, note = loops_from_store(store, entity=eid, max_len=6, snap=snap, sort="amount")
    loops = list(found)
    # A syndicate's members hold their shares of its stakes.
    network = build_exposures(snap.deal_rows, snap.entities, participants=snap.participants)
    page = entity_page(snap, eid, loops=[lp.to_dict() for lp in loops], loops_note=note,
                       exposures=[r.to_dict() for r in network.records])
    if fmt == TableJson.json:
        cli._write(json_dumps(page, indent=2))
        return
    _print_page(page, loops)


def _print_page(page: Mapping[str, Any], loops: Sequence[Any]) -> None:
    from .render import loops_table, records_table

    out = cli.out
    e = page["entity"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, value in (
            ("kind", e["kind"]), ("country", e["country"]),
            ("parent", e["parent"]["name"] if e["parent"] else None),
            ("aliases", ", ".join(e["aliases"])),
            ("subsidiaries", ", ".join(s["name"] for s in e["subsidiaries"])),
            ("tickers", ", ".join(e.get("tickers") or [])), ("SEC CIK", e.get("sec_cik")),
            ("LEI", e.get("lei")), ("source", e["source_url"])):
        if value:
            head.add_row(label, Text(visible(value)))
    out.print(Text.assemble((visible(e["name"]), "bold"), f" ({visible(e['id'])}) as of {page['as_of']}"))
    out.print(head)

    fin = page["financials"]
    if fin:
        # The figures in columns as wide as their widest value or heading (nothing is cut
        # on an 80-column terminal);
        # each row's basis and source, long texts, as notes below rather than squeezed
        # into narrow columns.
        columns = [("as_of", "as of"), ("revenue_usd", "revenue"), ("equity_usd", "equity"),
                   ("total_assets_usd", "assets"), ("total_liabilities_usd", "liabilities"),
                   ("market_cap_usd", "mkt cap"), ("backlog_usd", "backlog")]
        table = records_table(fin, columns, title="Financials over time")
        for column, (key, heading) in zip(table.columns, columns, strict=True):
            cells = [str(f.get(key) or "") if key == "as_of" else money(f.get(key)) for f in fin]
            column.min_width = max(len(heading), *map(len, cells))
        out.print(table)
        for f in fin:
            note = " — ".join(visible(str(x)) for x in (f.get("basis"), f.get("source_url")) if x)
            if note:
                out.print(Text(f"{visible(str(f.get('as_of')))}: {note}"), soft_wrap=True)
    else:
        _empty("no financials")

    for key, title in (("deals_out", "Deals out (it pays)"), ("deals_in", "Deals in (it receives)")):
        rows = page[key]
        if rows:
            out.print(_deals_table(rows, f"{title}: {len(rows)}"))
        else:
            _empty(f"{title}: none")

    synd = page["syndicates"]
    if synd:
        out.print(records_table(
            [{**s, "deal": f"{s['payer']} → {s['payee']}", "amount": _amount(s["amount_usd"], None),
              "pct": _share(s)} for s in synd],
            [("deal_id", "deal"), ("date", "date"), ("deal", "payer → payee"), ("type", "type"),
             ("amount", "amount"), ("status", "status"), ("side", "side"), ("pct", "its share"),
             ("share_basis", "share basis"), ("share_usd", "its part")],
            title=f"Syndicates it is a member of: {len(synd)}"))
    else:
        _empty("Syndicates: member of none")

    if loops:
        shown = loops[:_SHOW_LOOPS]
        more = f"; the {len(shown)} largest shown (--format json lists all)" if len(loops) > len(shown) else ""
        out.print(loops_table(shown, title=f"Loops through it: {len(loops)}{more}"))
    else:
        _empty("Loops through it: none")
    if page["loops_note"]:
        cli.err.print(Text.assemble(("partial result", "yellow"), ": ", visible(page["loops_note"])))

    for key, title in (("held", "Its biggest exposures (it loses if they fail)"),
                       ("on", "Biggest exposures to it (they lose if it fails)")):
        rows = page["exposures"][key]
        if not rows:
            _empty(f"{title}: none")
            continue
        more = f"; top {_SHOW_TOP} shown" if len(rows) > _SHOW_TOP else ""
        out.print(records_table(rows[:_SHOW_TOP], [
            ("holder", "holder"), ("on", "on"), ("kind", "kind"), ("amount_usd", "amount"),
            ("deal_id", "deal"), ("type", "type")], title=f"{title}: {len(rows)}{more}"))


def register(app: typer.Typer) -> None:
    """Add ``deals``, ``entities`` and ``show`` to the circfin app."""
    app.command("deals")(deals)
    app.command("entities")(entities)
    app.command("show")(show)
