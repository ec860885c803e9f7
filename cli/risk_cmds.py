"""``circfin score``, ``circfin significance`` and ``circfin shock``: thin shells over circfin.risk.

``register(app)`` adds the commands to the typer app. Each parses its options,
makes one library call and renders the result, as the commands in app.py do.
circfin.risk raises ValueError for bad numbers; here that becomes an
InputError (one red line, exit 1).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from ..errors import InputError
from . import common as cli
from .options import Engine
from .options import TableJson as Fmt

__all__ = ["register"]

T = TypeVar("T")


class Model(str, Enum):
    debtrank = "debtrank"
    clearing = "clearing"


class Method(str, Enum):
    linear = "linear"
    original = "original"


class NullModel(str, Enum):
    rewire = "rewire"
    types = "types"


_STATUS_HELP = cli._STATUS_HELP


def _checked(fn: Callable[[], T]) -> T:
    """Run a library call, turning its ValueError (bad numeric input) into an InputError."""
    try:
        return fn()
    except ValueError as e:
        raise InputError(str(e)) from None


def _json(v: Any) -> Any:
    """JSON-safe: inf and NaN become null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json(x) for x in v]
    return v


def _dump(data: Any) -> None:
    cli._write(json.dumps(_json(data), indent=2, ensure_ascii=False))


def _path(entities: Any) -> Text:
    t = Text()
    names = list(entities)
    for name in (*names, names[0]):
        if t:
            t.append(" → ", style="dim")
        t.append(str(name))
    return t


def _f(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


# ---- score --------------------------------------------------------------------------------

def score(
    limit: Annotated[int, typer.Option(help="Show the top N loops.")] = 10,
    flag: Annotated[Optional[str], typer.Option(
        help="Only loops with this flag: vendor_financing, round_trip, related_party, paper_loop, "
             "contingent_loop.", show_default=False)] = None,
    write: Annotated[bool, typer.Option(
        "--write", help="Write every loop's score and flags onto its (:Loop) node in the graph.")] = False,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop, in entities.")] = 6,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help=cli._AS_OF_HELP + " Recency is measured from it.", show_default=False)] = None,
    engine: Annotated[Engine, typer.Option(help="memory, cypher, or auto.")] = Engine.auto,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    time_budget: Annotated[float, typer.Option("--time-budget", help=cli._TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[int, typer.Option("--max-loops", help=cli._MAX_LOOPS_HELP)] = 100_000,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Score the loops from named parts (size, bottleneck, round trip, confidence, recency, types) and flag insider patterns.

    Example: circfin score --limit 5 --flag vendor_financing --write
    """
    from ..loops.from_store import Budget, loops_from_store, snapshot
    from ..risk.flags import FLAGS
    from ..risk.score import score_loops
    from ..risk.writeback import write_scores

    if limit < 0:
        raise InputError("--limit must be >= 0")
    if flag is not None and flag not in FLAGS:
        raise InputError(f"unknown flag {flag!r}; expected one of: {', '.join(FLAGS)}")
    day = cli._as_of(as_of)
    now = _dt.date.fromisoformat(day)
    statuses = cli._statuses_opt(status)
    confidences = cli._min_confidence(min_confidence)
    budget = Budget(time_budget=time_budget, max_loops=max_loops)  # search, scoring, writing
    with cli._store() as store:
        # Scoring takes ~0.15 ms a loop (twice that on a busy machine), writing them back more.
        snap = snapshot(store, as_of=day, confidences=confidences)
        loops, complete, note = loops_from_store(store, engine=engine.value, max_len=max_len,
                                                 status=statuses, budget=budget, snap=snap,
                                                 reserve_per_loop=1e-3 if write else 3e-4)
        scored = _checked(lambda: score_loops(loops, snap.deal_rows, snap.entities, now=now,
                                              budget=budget))
        written = write_scores(store, scored) if write else None
    from .budget import warn

    warn(cli.err, budget)
    shown = [s for s in scored if flag is None or flag in s.flag_names]
    top = shown[:limit]
    if fmt == Fmt.json:
        _dump({"as_of": now.isoformat(), "min_confidence": min_confidence or "low",
               "total": len(scored), "matching": len(shown),
               **budget.to_dict(),
               "written": written,
               "loops": [{"rank": i, **s.to_dict()} for i, s in enumerate(top, 1)]})
        return
    if written is not None:
        cli.out.print(f"wrote scores and flags of {written} loop{'s' if written != 1 else ''} to the graph")
    if not top:
        cli.out.print("no loops found" if not scored else f"no loop has the flag {flag}")
        return
    from .render import money

    table = Table(title=f"Top {len(top)} of {len(shown)} loops by risk score (recency as of {now}"
                        f"{cli._confidence_note(min_confidence)})",
                  title_justify="left", show_lines=True)
    for col, just in (("#", "right"), ("loop", "left"), ("key", "left"), ("score", "right"),
                      ("bottleneck", "right"), ("flags", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for i, s in enumerate(top, 1):
        table.add_row(str(i), _path(s.loop.entities), Text(s.key), f"{s.score:.3f}",
                      money(s.loop.bottleneck_usd), Text(", ".join(s.flag_names) or "-"))
    cli.out.print(table)
    for i, s in enumerate(top, 1):
        parts = Table(title=f"{i}. {s.key}: score {s.score:.3f}", title_justify="left")
        for col in ("part", "value", "weight", "why"):
            parts.add_column(col, justify="right" if col in ("value", "weight") else "left")
        for name, p in s.parts.items():
            parts.add_row(name, f"{p['value']:.3f}", f"{p['weight']:.2f}", Text(p["why"]))
        for f in s.flags:
            parts.add_row(Text(f"flag: {f.name}", style="bold"), "", "",
                          Text(f"{', '.join(f.deal_ids)}: {f.why}"))
        cli.out.print(parts)


# ---- significance -------------------------------------------------------------------------

@contextlib.contextmanager
def _shuffle_progress(fmt: Fmt, n: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the shuffles on a terminal; nothing with --format json or in a pipe."""
    if not cli._progress_enabled(fmt.value):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("null-model shuffles"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=cli.err, transient=True) as bar:
        task = bar.add_task("shuffles", total=n)
        yield lambda done: bar.update(task, completed=done)


def significance(
    n: Annotated[int, typer.Option("--n", help="Number of random graphs per null model.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same result).")] = 1,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop, in entities.")] = 5,
    null: Annotated[NullModel, typer.Option(
        "--null", help="The null model of the detailed tables: rewire (degree-preserving swaps of the "
                       "distinct payer->payee pairs, keeping their number) or types (payees shuffled "
                       "among deals of one type). The sensitivity table shows both.")] = NullModel.rewire,
    status: Annotated[Optional[list[str]], typer.Option("--status", help=_STATUS_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
    top: Annotated[int, typer.Option(help="Show this many entities (most loops first).")] = 15,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    time_budget: Annotated[float, typer.Option("--time-budget", help=cli._TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[int, typer.Option(
        "--max-loops", help="Stop counting a graph after this many loops, and say so; 0 for no "
                            "limit.")] = 100_000,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
) -> None:
    """How unusual the loops are: counts by length and per entity against degree-preserving null models.

    Example: circfin significance --n 200 --seed 1 --max-len 5 --null rewire
    """
    from ..loops.from_store import Budget, snapshot
    from ..risk.nullmodel import NULL_MODELS, sensitivity_from, significance_by_model

    budget = Budget(time_budget=time_budget, max_loops=max_loops)  # reading, counting, shuffles
    if top < 0:
        raise InputError("--top must be >= 0")
    if not 1 <= n <= 100_000:
        raise InputError("--n must be in 1..100000")
    statuses = cli._statuses_opt(status)
    allowed = cli._min_confidence(min_confidence)
    day = cli._as_of(as_of)
    with cli._store() as store:
        deals = snapshot(store, as_of=day, confidences=allowed).deals
    models = (null.value, *(m for m in NULL_MODELS if m != null.value))  # the chosen one first
    with _shuffle_progress(fmt, n * len(models)) as progress:
        runs = _checked(lambda: significance_by_model(
            deals, models=models, n=n, seed=seed, max_len=max_len, status=statuses,
            progress=progress, budget=budget))
    res = runs[null.value]
    sens = sensitivity_from(runs)
    from .budget import warn

    warn(cli.err, budget)
    if fmt == Fmt.json:
        _dump({"as_of": day, "min_confidence": min_confidence or "low", **res.to_dict(),
               "sensitivity": sens, **budget.to_dict()})
        return
    from .render import records_table

    def cell(k: str, v: Any) -> Any:
        return _f(v, 2) if isinstance(v, float) or (v is None and k == "z") else v

    rows = [{"length": k, **v} for k, v in res.by_length.items()]
    cols = [("observed", "observed"), ("null_mean", "null mean"), ("null_std", "null std"),
            ("z", "z"), ("p_value", "p (one-sided)")]
    fmt_rows = [{k: cell(k, v) for k, v in r.items()} for r in rows]
    conf = "" if allowed is None else f", confidence {min_confidence} or higher"
    cli.out.print(records_table(fmt_rows, [("length", "length"), *cols],
                                title=f"Loops by length against {res.n} random graphs of the {res.null} "
                                      f"null model (seed {res.seed}; {res.deals} deals as of {day}{conf}; "
                                      f"{100 * res.acceptance:.0f}% of swaps made)"))
    ents = sorted(res.by_entity.items(), key=lambda kv: (-kv[1]["observed"], kv[0]))[:top]
    erows = [{"entity": e, **{k: cell(k, v) for k, v in st.items()}} for e, st in ents]
    cli.out.print(records_table(erows, [("entity", "entity"), *cols],
                                title=f"Loops through each entity (2..{res.max_len} entities)"))
    srows: list[dict[str, Any]] = []
    for r in sens["rows"]:
        flat: dict[str, Any] = {"length": str(r["length"]), "observed": str(r["observed"])}
        for m in models:
            flat.update({f"{m}_mean": _f(r[m]["null_mean"], 1), f"{m}_z": _f(r[m]["z"], 2),
                         f"{m}_p": _f(r[m]["p_value"], 3)})
        srows.append(flat)
    srows.append({"length": "pairs", "observed": _f(sens["pairs"]["observed"], 0),
                  **{f"{m}_mean": _f(sens["pairs"][m], 1) for m in models}})
    scols = [("length", "length"), ("observed", "observed")]
    for m in models:
        scols += [(f"{m}_mean", f"{m} mean"), (f"{m}_z", f"{m} z"), (f"{m}_p", f"{m} p")]
    cli.out.print(records_table(srows, scols, title="Sensitivity to the null model"))
    cli.out.print(Text("; ".join(f"{m}: {sens['n'][m]} graphs, {100 * sens['acceptance'][m]:.0f}% of swaps "
                                 "made" for m in models)
                       + ". pairs: distinct payer->payee pairs, which rewire keeps and types spreads.",
                       style="dim"))


# ---- shock --------------------------------------------------------------------------------

def shock(
    entity: Annotated[str, typer.Argument(help="The entity to shock (id, name or alias).", show_default=False)],
    loss: Annotated[float, typer.Option(
        help="Share of its capital (debtrank) or external assets (clearing) it loses, 0..1.")] = 1.0,
    model: Annotated[Model, typer.Option(help="debtrank (distress) or clearing (payments).")] = Model.debtrank,
    method: Annotated[Method, typer.Option(help="DebtRank dynamics: linear or original.")] = Method.linear,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest loop to cut, in entities.")] = 6,
    haircut: Annotated[float, typer.Option(help="Margin requirement of leveraged holders, (0, 1].")] = 0.25,
    leverage: Annotated[float, typer.Option(
        help="Leverage assumed for holders without equity figures (>= 1).")] = 3.0,
    depth: Annotated[float, typer.Option(
        help="Market depth: selling depth x 1% of a company's value moves its price 1%.")] = 1.0,
    top: Annotated[int, typer.Option(help="Show this many hit entities.")] = 15,
    engine: Annotated[Engine, typer.Option(help="memory, cypher, or auto.")] = Engine.auto,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    time_budget: Annotated[float, typer.Option("--time-budget", help=cli._TIME_BUDGET_HELP)] = 30.0,
    max_loops: Annotated[int, typer.Option("--max-loops", help=cli._MAX_LOOPS_HELP)] = 100_000,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
) -> None:
    """Shock one entity and follow the losses through the deals, with and without its loops.

    Example: circfin shock Nvidia --loss 0.5 --model debtrank
    """
    from ..loops.from_store import Budget
    from ..risk.shock import shock as run
    from .budget import warn

    budget = Budget(time_budget=time_budget, max_loops=max_loops)  # the loops through the entity
    if top < 0:
        raise InputError("--top must be >= 0")
    day = cli._as_of(as_of)
    confidences = cli._min_confidence(min_confidence)
    with cli._store() as store:
        res = _checked(lambda: run(store, entity, loss=loss, model=model.value, method=method.value,
                                   engine=engine.value, max_len=max_len,
                                   margin={"haircut": haircut, "leverage": leverage, "depth": depth},
                                   budget=budget, as_of=day, confidences=confidences))
    warn(cli.err, budget)
    if fmt == Fmt.json:
        _dump({"as_of": day, "min_confidence": min_confidence or "low", **res.to_dict(), **budget.to_dict()})
        return
    from .render import money, records_table

    amp = "n/a" if res.amplification is None else f"{res.amplification:.3f}x"
    cli.out.print(Text(
        f"As of {day}{cli._confidence_note(min_confidence)}: {res.name} loses {100 * res.loss:g}% ({res.model}): total losses {money(res.total_loss_usd)}, "
        f"{money(res.network_loss_usd)} beyond the initial loss, in {res.rounds} round(s). With the "
        f"legs that close its {len(res.loops)} loop(s) cut: {money(res.cut_total_loss_usd)}. "
        f"Loop amplification {amp}; its own losses fed back {money(res.self_feedback_usd)}."))
    rows = [{**h.to_dict(), "distress": f"{100 * h.distress:.2f}%",
             "distress_without_loops": f"{100 * h.distress_cut:.2f}%"} for h in res.hits[:top]]
    cli.out.print(records_table(rows, [("name", "entity"), ("round", "round"), ("distress", "distress"),
                                       ("loss_usd", "loss"), ("loss_without_loops_usd", "without loops"),
                                       ("buffer_usd", "capital"), ("buffer_source", "capital from")],
                                title=f"Hit entities ({len(res.hits)}; top {min(top, len(res.hits))})"))
    if res.cut_legs:
        cli.out.print(records_table(
            [{"leg": f"{c['payer']} → {res.name}", "deal_ids": c["deal_ids"], "loops": len(c["loops"])}
             for c in res.cut_legs], [("leg", "leg cut"), ("deal_ids", "deals"), ("loops", "loops")],
            title="Loop-closing legs cut for the comparison"))
    if res.margin:
        cli.out.print(records_table(res.margin["holders"], [
            ("name", "leveraged holder"), ("position_usd", "stakes"), ("equity_usd", "equity"),
            ("equity_source", "equity from"), ("called_round", "called in round"),
            ("sale_fraction", "sold share"), ("wiped_out", "wiped out")], title="Margin calls"))
    else:
        cli.out.print(Text(f"Margin calls: {res.margin_note}.", style="dim"))


def register(app: typer.Typer) -> None:
    """Add ``score``, ``significance`` and ``shock`` to the circfin app."""
    app.command("score")(score)
    app.command("significance")(significance)
    app.command("shock")(shock)
