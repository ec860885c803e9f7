"""The ``circfin`` command: a thin shell over the library.

Each command parses its options, makes one library call and renders the
result. Settings resolve here only: flag > environment variable > default.
A :class:`CircfinError` prints as one red line and exits 1; anything else
is a bug and shows its traceback only with ``--debug``.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.text import Text

from ..errors import CircfinError, InputError
from ..safe import visible
from . import checks, fast_options
from .common import (
    _AS_OF_HELP,
    _MAX_LOOPS_HELP,
    _MIN_CONFIDENCE_HELP,
    _STATUS_HELP,
    _TIME_BUDGET_HELP,
    _as_of,
    _confidence_note,
    _min_confidence,
    _split,
    _status,
    _statuses_opt,
    _store,
    _write,
    err,
    out,
    print_db_status,
    state,
)
from .options import Engine
from .options import TableJson as Fmt2
from .options import TableJsonCsv as Fmt


def _flags_show_no_type() -> None:
    """Help shows a type only for options that take a value: typer 0.29 prints
    ``<bool>`` beside every flag (``--debug <bool>``, ``--help <bool>``), which
    nobody types."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_circfin", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._circfin = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()
fast_options.install()
fast_options.help_without_markdown()
fast_options.signatures_once()

app = typer.Typer(
    name="circfin",
    help="Find and measure circular financing in the AI build-out.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print a password held in a local
    add_completion=False,
)
db_app = typer.Typer(help="Start, stop and inspect the embedded database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

_TABLE_LOOPS = 25  # loops a table shows unless --limit says otherwise


class Sort(str, Enum):
    score = "score"
    length = "length"
    amount = "amount"
    date = "date"


@app.callback()
def _main(
    store: Annotated[Optional[str], typer.Option(
        "--store", envvar="CIRCFIN_STORE",
        help="'embedded' (default), a Neo4j URI (bolt://, neo4j://, neo4j+s://) or a FalkorDB URI.",
        show_default=False)] = None,
    home: Annotated[Optional[Path], typer.Option(
        "--home", envvar="CIRCFIN_HOME", help="Where the embedded database keeps its files.",
        show_default=False, callback=checks.home_dir)] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    state.store_spec = store
    state.home = home
    state.debug = debug


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV, JSON or YAML files, or folders of them.",
                                                show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing.")] = False,
    watch_loops: Annotated[bool, typer.Option(
        "--watch-loops", help="Also show the loops that the new deals close.")] = False,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop to watch for.")] = 6,
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
    time_budget: Annotated[float, typer.Option(
        "--time-budget", help="With --watch-loops: " + _TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[int, typer.Option(
        "--max-loops", help="With --watch-loops: " + _MAX_LOOPS_HELP)] = 100_000,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help="With --watch-loops: " + _MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Load deals and entities; every row is checked before anything is written.

    Example: circfin ingest seed/entities.csv seed/deals.csv --watch-loops
    """
    from ..ingest import ingest as run_ingest

    if not 2 <= max_len <= 12:
        raise InputError("--max-len must be between 2 and 12")
    confidences = _min_confidence(min_confidence)
    watch, budget = None, None
    if watch_loops:  # the loop engine (and pandas) only when asked: a plain ingest starts faster
        from functools import partial

        from ..loops.from_store import Budget, watch_new_deals
        from .budget import reserve_for

        budget = Budget(time_budget=time_budget, max_loops=max_loops)  # bounds --watch-loops
        watch = partial(watch_new_deals, max_len=max_len, budget=budget,
                        reserve_per_loop=reserve_for(fmt.value), confidences=confidences)
    with _store() as store, _status(fmt.value, "reading") as progress:
        report = run_ingest(store, paths, dry_run=dry_run, progress=progress, watch_loops=watch)
    if fmt == Fmt2.json:
        if report.closed_loops is None:
            _write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
            return
        from .budget import write_json_with_loops

        assert budget is not None  # closed loops come only from --watch-loops
        closed, report.closed_loops = report.closed_loops, None  # to_dict without them: streamed
        write_json_with_loops(report.to_dict(), "closed_loops", closed, budget, err=err)
        report.closed_loops = closed
        return
    for w in report.warnings:
        err.print(Text.assemble(("warning", "yellow"), ": ", visible(w)), soft_wrap=True)
    d = report.to_dict()
    verb = "would write" if dry_run else "wrote"
    out.print(f"{verb}: entities {d['entities']['new']} new, {d['entities']['updated']} updated, "
              f"{d['entities']['unchanged']} unchanged, {d['entities']['created_from_deals']} created "
              f"from deals; deals {d['deals']['new']} new, {d['deals']['updated']} updated, "
              f"{d['deals']['unchanged']} unchanged")
    for what, unit in (("participants", "deals' members"), ("sources", "deals' further sources"),
                       ("events", "deals' events"), ("financials", "financials rows"),
                       ("assets", "assets"), ("holdings", "holdings rows")):
        c = d[what]
        if c["new"] or c["updated"] or c["unchanged"]:
            out.print(f"{verb}: {unit} {c['new']} new, {c['updated']} updated, {c['unchanged']} unchanged")
    if report.closed_loops is not None:
        from .budget import warn, write_loops

        assert budget is not None
        n = len(report.closed_loops)
        if n:
            write_loops(report.closed_loops, "table", budget, out=out, err=err,
                        title=f"{n} loop{'s' if n != 1 else ''} closed by the new deals"
                              f"{_confidence_note(min_confidence)}")
        else:
            out.print("the new deals close no loop")
            warn(err, budget)


@app.command()
def delete(
    deal_ids: Annotated[list[str], typer.Argument(help="Deal ids to delete.", show_default=False)],
) -> None:
    """Delete deals (all named, or none if any id is unknown); they stop counting at once.

    Example: circfin delete D071 D072
    """
    from ..ingest import delete_deals

    with _store() as store:
        n = delete_deals(store, deal_ids)
    out.print(f"deleted {n} deal{'s' if n != 1 else ''}")


def _seed_paths() -> list[Path]:
    """Every table in seed/ (entities, deals, participants, sources, events, financials,
    assets, holdings)."""
    from importlib.resources import files  # here: it imports tempfile, shutil and zip support

    seed = files("circfin.seed")
    return sorted(Path(str(f)) for f in seed.iterdir() if f.name.endswith(".csv"))


@app.command()
def seed(
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
) -> None:
    """Load the curated seed dataset of the AI financing web (idempotent).

    Example: circfin seed
    """
    ingest(_seed_paths(), dry_run=False, watch_loops=False, max_len=6, fmt=fmt)


@app.command()
def loops(
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop, in entities.")] = 6,
    min_len: Annotated[int, typer.Option("--min-len", help="Shortest loop, in entities.")] = 2,
    entity: Annotated[Optional[str], typer.Option(help="Only loops through this entity (id, name or alias).",
                                                  show_default=False)] = None,
    types: Annotated[Optional[list[str]], typer.Option(
        "--types", help="Deal types that count (comma-separated or repeated).", show_default=False)] = None,
    status: Annotated[Optional[list[str]], typer.Option(
        "--status", help="Deal statuses that count; 'all' for all. Default: all but cancelled.",
        show_default=False)] = None,
    min_amount: Annotated[Optional[float], typer.Option(
        "--min-amount", help="A deal counts only if its disclosed amount is at least this (USD).",
        show_default=False, callback=checks.finite("--min-amount"))] = None,
    since: Annotated[Optional[str], typer.Option(help="Deals dated on or after (YYYY[-MM[-DD]]).",
                                                 show_default=False)] = None,
    until: Annotated[Optional[str], typer.Option(help="Deals dated on or before (YYYY[-MM[-DD]]).",
                                                 show_default=False)] = None,
    within: Annotated[Optional[int], typer.Option(
        help="Some choice of one deal per leg lies within this many days.", show_default=False,
        callback=checks.int_range("--within", 0, checks.MAX_DAYS, " of days"))] = None,
    ordered: Annotated[bool, typer.Option("--ordered", help="Time-respecting loops only.")] = False,
    rollup: Annotated[bool, typer.Option("--rollup", help="Fold SPVs, JVs and subsidiaries into their parent.")] = False,
    members: Annotated[bool, typer.Option(
        "--members", help="Open syndicates up: each member bank, fund or firm takes its share of the "
                          "syndicate's legs (equal splits are estimates), so loops through single "
                          "members appear. Memory engine.")] = False,
    sort: Annotated[Optional[Sort], typer.Option(
        help="score (circfin's risk score, highest first), length, amount (bottleneck) or date "
             "(latest). Default: score for the table; length for json and csv, which stream in "
             "a stable order that does not move when a score's inputs (today's date, financials) "
             "do.", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option(
        help=f"Show at most this many; 0 for all. Default: the table shows the {_TABLE_LOOPS} first "
             "(and says how many there are), json and csv every loop.", show_default=False)] = None,
    time_budget: Annotated[Optional[float], typer.Option(
        "--time-budget", help=_TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[Optional[int], typer.Option("--max-loops", help=_MAX_LOOPS_HELP)] = 100_000,
    engine: Annotated[Engine, typer.Option(help="memory (fast, in-process), cypher (in the database), or auto.")] = Engine.auto,
    fmt: Annotated[Fmt, typer.Option("--format", help="table, json or csv.")] = Fmt.table,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=_AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=_MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Circular-financing loops: simple directed cycles of payers and payees.

    Example: circfin loops --max-len 4 --entity Nvidia --format json
    """
    from ..loops.from_store import NARROW_HINT, Budget, loops_from_store
    from .budget import reserve_for, write_loops

    budget = Budget(time_budget=time_budget, max_loops=max_loops, hint=NARROW_HINT)  # clock starts
    statuses = _statuses_opt(status)
    day = _as_of(as_of)
    confidences = _min_confidence(min_confidence)
    if limit is not None and limit < 0:
        raise InputError("--limit must be >= 0")
    if limit is None and fmt == Fmt.table:
        limit = _TABLE_LOOPS  # a table is for reading: the first ones, and how many there are
    limit = limit or None  # 0: all
    order = sort or (Sort.score if fmt == Fmt.table else Sort.length)
    by_score = order == Sort.score
    with _store() as store, _status(fmt.value, f"searching loops of up to {max_len} entities"):
        snap = None
        if by_score:
            from ..loops.from_store import snapshot

            snap = snapshot(store, as_of=day, confidences=confidences)  # one read for the search and the scores
        found, _, _ = loops_from_store(
            store, engine=engine.value, max_len=max_len, min_len=min_len, entity=entity,
            types=_split(types), status=statuses, min_amount=min_amount, since=since, until=until,
            within=within, ordered=ordered, rollup=rollup,
            sort=Sort.length.value if by_score else order.value,
            limit=None if by_score or fmt == Fmt.table else limit,  # a table says how many it left out
            budget=budget, reserve_per_loop=reserve_for(fmt.value), as_of=day, members=members,
            snap=snap, confidences=confidences)
    if by_score:
        from ..risk.score import rank_by_score

        score = rank_by_score(store, now=day, snap=snap)
        scored = sorted(((score(lp), lp) for lp in found), key=lambda s: (-s[0], s[1].length, s[1].key))
        found = [lp for _, lp in scored]
    total = len(found)
    if by_score or fmt == Fmt.table:
        found = found[:limit]
    shown = f"the {len(found)} first of " if fmt == Fmt.table and len(found) < total else ""
    # Streamed loop by loop; a partial result says what was cut (stderr, and JSON fields).
    write_loops(found, fmt.value, budget, out=out, err=err,
                title=f"{shown}{total} circular-financing loop{'s' if total != 1 else ''} "
                      f"as of {day}{_confidence_note(min_confidence)}"
                      + (", highest risk score first" if by_score else ""))
    if shown:
        err.print(f"{total - len(found)} loops not shown: --limit 0 shows them all; --format csv or json "
                  "writes them all for a spreadsheet or a program")




@app.command()
def concentration(
    direction: Annotated[str, typer.Option(help="in (who pays it), out (whom it pays) or both.")] = "both",
    limit: Annotated[Optional[int], typer.Option(help="Show at most this many rows.", show_default=False,
                                                 callback=checks.int_range("--limit", 0))] = 20,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=_AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=_MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Customer and supplier concentration (top counterparty share, HHI) and self-funded demand.

    Example: circfin concentration --direction in --limit 10
    """
    from ..analytics.measures import concentration as conc
    from ..analytics.measures import self_funded_demand

    if direction not in ("in", "out", "both"):
        raise InputError("--direction must be in, out or both")
    statuses = _statuses_opt(status)
    day = _as_of(as_of)
    confidences = _min_confidence(min_confidence)
    with _store() as store:
        rows = [r for r in conc(store, status=statuses, as_of=day, confidences=confidences)
                if direction in ("both", r["direction"])]
        own = self_funded_demand(store, status=statuses, as_of=day, confidences=confidences)
    rows, own = rows[:limit] if limit is not None else rows, own[:limit] if limit is not None else own
    if fmt == Fmt2.json:
        _write(json.dumps({"as_of": day, "min_confidence": min_confidence or "low",
                           "concentration": rows, "self_funded_demand": own}, indent=2,
                          ensure_ascii=False))
        return
    from .render import records_table

    out.print(records_table(rows, [("name", "entity"), ("direction", "flow"), ("total_usd", "total"),
                                   ("counterparties", "parties"), ("top_counterparty", "top party"),
                                   ("top_share", "top share"), ("hhi", "HHI")],
                            title=f"Concentration of disclosed inflows (in) and outflows (out) as of {day}"
                                  f"{_confidence_note(min_confidence)}"))
    out.print(records_table(own, [("name", "entity"), ("inflow_usd", "inflows"),
                                  ("self_funded_usd", "from entities it funded"), ("share", "share"),
                                  ("funded_payers", "funded payers")],
                            title="Self-funded demand: inflows paid by entities the payee funded"))


@app.command()
def hubs(
    limit: Annotated[Optional[int], typer.Option(help="Show at most this many.", show_default=False,
                                                 callback=checks.int_range("--limit", 0))] = 20,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=_AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=_MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """The hubs of the web: deals, counterparties and disclosed amounts in and out.

    Example: circfin hubs --limit 10 --format json
    """
    from ..analytics.measures import hubs as find_hubs

    day = _as_of(as_of)
    confidences = _min_confidence(min_confidence)
    with _store() as store:
        rows = find_hubs(store, status=_statuses_opt(status), limit=limit, as_of=day, confidences=confidences)
    if fmt == Fmt2.json:
        _write(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from .render import records_table

    out.print(records_table(rows, [("name", "entity"), ("kind", "kind"), ("in_deals", "in deals"),
                                   ("out_deals", "out deals"), ("in_partners", "payers"),
                                   ("out_partners", "payees"), ("in_usd", "in"), ("out_usd", "out"),
                                   ("volume_usd", "volume")], title=f"Hubs by disclosed volume as of {day}"
                                                                    f"{_confidence_note(min_confidence)}"))


@app.command()
def pairs(
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=_AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=_MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Reciprocal pairs: one side funds the other, which buys back from its funder.

    Example: circfin pairs --format json
    """
    from ..analytics.measures import reciprocal_pairs

    day = _as_of(as_of)
    confidences = _min_confidence(min_confidence)
    with _store() as store:
        rows = reciprocal_pairs(store, status=_statuses_opt(status), as_of=day, confidences=confidences)
    if fmt == Fmt2.json:
        _write(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from .render import records_table

    out.print(records_table(rows, [("funder", "funder"), ("funded", "funded"),
                                   ("funding_deals", "funding deals"), ("funding_usd", "funding"),
                                   ("purchase_deals", "purchases back"), ("purchase_usd", "purchased")],
                            title=f"Invest one way, buy the other (as of {day}{_confidence_note(min_confidence)})"))


@app.command()
def export(
    out_path: Annotated[Path, typer.Option("--out", help="File to write.", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="graphml or gexf (Gephi, Cytoscape).")] = "graphml",
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop counted on nodes and edges.")] = 6,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    time_budget: Annotated[float, typer.Option("--time-budget", help=_TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[int, typer.Option("--max-loops", help=_MAX_LOOPS_HELP)] = 100_000,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=_AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=_MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """The deal graph as GraphML or GEXF, with loop counts, for Gephi or Cytoscape.

    On a dense graph the loop count stops at the budget: the counts are then lower
    bounds, the file's graph attribute loop_counts says "partial", and circfin says so.

    Example: circfin export --out web.gexf --format gexf
    """
    from ..loops.from_store import snapshot
    from ..report.export import FORMATS, to_networkx, write_graph

    if fmt not in FORMATS:
        raise InputError(f"--format must be {' or '.join(FORMATS)}")
    if not 2 <= max_len <= 12:
        raise InputError("--max-len must be between 2 and 12")
    day = _as_of(as_of)
    confidences = _min_confidence(min_confidence)
    from ..safe import check_target

    check_target(out_path)  # a symlink, device or folder is refused before any work
    from ..loops.from_store import Budget
    from .budget import warn

    budget = Budget(time_budget=time_budget, max_loops=max_loops)
    with _store() as store:
        graph = to_networkx(snapshot(store, as_of=day, confidences=confidences),
                            status=_statuses_opt(status), max_len=max_len, budget=budget)
    write_graph(graph, out_path, fmt)
    warn(err, budget)
    out.print(f"wrote {out_path}: {graph.number_of_nodes()} entities, {graph.number_of_edges()} deals "
              f"as of {day}{_confidence_note(min_confidence)}")


DEMO_REPORT = Path("circfin-report")  # where `circfin report` writes by default, too


@app.command()
def demo(
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop, in entities.")] = 6,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for the report (report.md, report.html, report.json, graph.html).")] = DEMO_REPORT,
) -> None:
    """Load the seed dataset into the embedded database, write a report and show its brief.

    The report goes where `circfin report` writes it by default: circfin-report/ in the
    current folder. It is recorded in the graph, so the next report and brief say what
    changed since.

    Example: circfin demo
    """
    from ..report.report import default_charts, write_report
    from .brief_cmd import print_brief

    if not 2 <= max_len <= 12:
        raise InputError("--max-len must be between 2 and 12")
    seed(fmt=Fmt2.table)
    day = _as_of(None)
    with _store() as store, _status("table", "writing the report"):
        result = write_report(store, out_dir, max_len=max_len, as_of=day, charts=default_charts,
                              null_samples=100)
    out.print()
    print_brief(result.brief)
    out.print()
    report = (result.out_dir / "report.html").resolve()
    out.print(Text.assemble("The full report (every loop and deal, with sources): ",
                            (visible(str(report)), "bold")))
    out.print(Text(visible(f"also {result.out_dir / 'report.md'} and report.json beside it. The report is "
                           "recorded: the next `circfin report` and `circfin brief` say what changed "
                           "since; `circfin brief` shows this screen again.")))


@db_app.command("start")
def db_start() -> None:
    """Start the embedded FalkorDB server (any command starts it when needed).

    Example: circfin db start
    """
    from ..store.embedded import EmbeddedServer

    s = EmbeddedServer(state.home).start()
    out.print(f"running, pid {s.pid}, socket {s.socket}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server, flushing its data to disk.

    Example: circfin db stop
    """
    from ..store.embedded import EmbeddedServer

    was = EmbeddedServer(state.home).stop()
    out.print("stopped" if was else "was not running")


@db_app.command("status")
def db_status(
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
) -> None:
    """Whether the embedded server runs, its pid, socket and data folder.

    Example: circfin db status --format json
    """
    print_db_status(state.home, state.store_spec, fmt.value)


@db_app.command("counts")
def db_counts(
    fmt: Annotated[Fmt2, typer.Option("--format", help="table or json.")] = Fmt2.table,
) -> None:
    """How many entities and deals the store holds.

    Example: circfin db counts
    """
    from .. import queries

    with _store() as store:
        rows = store.read(queries.load("counts").text)
        where = store.describe()
    row: dict[str, Any] = rows[0] if rows else {"entities": 0, "deals": 0, "pays": 0}
    if fmt == Fmt2.json:
        _write(json.dumps({**row, "store": where}))
        return
    out.print(f"{where}: {row['entities']} entities, {row['deals']} deals")


from .report_cmds import register as _register_report_commands  # noqa: E402

_register_report_commands(app)

from .risk_cmds import register as _register_risk_commands  # noqa: E402

_register_risk_commands(app)

from .audit_cmd import register as _register_audit_command  # noqa: E402

_register_audit_command(app)

from .data_cmds import register as _register_data_commands  # noqa: E402

_register_data_commands(app)

from .exposure_cmd import register as _register_exposure_command  # noqa: E402

_register_exposure_command(app)

from .circularity_cmd import register as _register_circularity_command  # noqa: E402

_register_circularity_command(app)

from .timeline_cmd import register as _register_timeline_command  # noqa: E402

_register_timeline_command(app)

from .brief_cmd import register as _register_brief_command  # noqa: E402

_register_brief_command(app)

from .stress_cmd import register as _register_stress_command  # noqa: E402

_register_stress_command(app)

from .sec_cmd import register as _register_sec_commands  # noqa: E402

_register_sec_commands(app)


def _one_line_summaries(typer_app: typer.Typer) -> None:
    """Each command's line in a listing is its docstring's first paragraph as one line.

    typer keeps the line breaks of a docstring in "rich" markup mode, so a summary
    written over several source lines came out broken mid-sentence at any width.
    """
    import inspect

    for c in typer_app.registered_commands:
        doc = c.help or (c.callback.__doc__ if c.callback else None)
        if c.short_help is None and doc:
            c.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    for g in typer_app.registered_groups:
        if g.typer_instance is not None:
            _one_line_summaries(g.typer_instance)


_one_line_summaries(app)

_GLOBAL_VALUE_OPTIONS = ("--store", "--home")  # _main's options that take a value
_GLOBAL_FLAGS = ("--debug",)


def _app_for(args: list[str]) -> typer.Typer:
    """``app`` with only the command that ``args`` name, when they name one plainly.

    Before it runs one command, typer turns every command's signature into click
    options (about 0.1 s for circfin's 34); with one command registered it turns
    one. Anything else (``--help``, no command, an unknown option or command)
    gets the whole app, so help, suggestions and errors stay as they are.
    """
    if args in ([], ["--help"]):
        return _listing()
    rest = iter(args)
    for arg in rest:
        if arg in _GLOBAL_VALUE_OPTIONS:
            next(rest, None)
        elif arg.startswith(tuple(f"{o}=" for o in _GLOBAL_VALUE_OPTIONS)) or arg in _GLOBAL_FLAGS:
            continue
        elif arg.startswith("-"):
            return app
        else:
            name = arg
            break
    else:
        return app
    import copy

    from typer.main import get_command_name

    commands = [c for c in app.registered_commands
                if (c.name or (c.callback and get_command_name(c.callback.__name__))) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only


def _listing() -> typer.Typer:
    """``app`` for ``circfin --help``: each command named and described, without options.

    The list of commands shows no command's options, so none is read (reading
    them is most of the time ``--help`` takes); what the list shows is the same.
    """
    import copy

    from typer.main import get_command_name

    listing = copy.copy(app)
    listing.registered_commands = []
    for c in app.registered_commands:
        assert c.callback is not None
        entry = copy.copy(c)
        entry.name = c.name or get_command_name(c.callback.__name__)
        entry.callback = _described_as(c.callback)
        listing.registered_commands.append(entry)
    return listing


def _described_as(callback: Any) -> Any:
    def command() -> None:  # pragma: no cover - listed by --help, never run
        raise AssertionError("circfin --help runs no command")

    command.__doc__ = callback.__doc__
    return command


def main() -> None:
    """Entry point: run the app, turning circfin errors into one red line."""
    debug = "--debug" in sys.argv or os.environ.get("CIRCFIN_DEBUG") == "1"
    if not debug:
        import logging

        # The drivers log retries and connection noise; circfin reports the outcome itself.
        for name in ("neo4j", "falkordb", "redis"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        # With standalone_mode=False a typer.Exit(code) comes back as the return value.
        rc = _app_for(sys.argv[1:])(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except CircfinError as e:
        if debug:
            raise
        err.print(f"[red]{type(e).__name__}[/]: ", end="", markup=True)
        err.print(visible(str(e), keep="\n"), soft_wrap=True)  # data: no markup, no escapes; unwrapped
        sys.exit(1)
    except (typer.Exit, SystemExit) as e:
        code = getattr(e, "exit_code", getattr(e, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as e:  # usage errors come through here in standalone_mode=False
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # typer's (click's) usage errors
            e.show()
            sys.exit(e.exit_code)
        if debug:
            raise
        err.print(f"[red]internal error[/]: {type(e).__name__}: ", end="", markup=True)
        err.print(visible(str(e), keep="\n"), soft_wrap=True)  # data: no markup, no escapes; unwrapped
        err.print("run again with --debug for the traceback, and please report it", style="dim")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
