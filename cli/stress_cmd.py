"""``circfin stress SCENARIO``: one scenario through every channel (credit, fire sales,
margin calls), round by round; a thin shell over circfin.risk.stress.

``register(app)`` adds the command to the typer app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from ..errors import InputError
from ..safe import json_dumps, visible
from . import common as cli
from .options import TableJson as Fmt

__all__ = ["register"]

_CREDIT = {"both": "clearing on debts, DebtRank on equity stakes and guarantees",
           "clearing": "clearing on debts (Eisenberg-Noe)", "debtrank": "DebtRank on every exposure"}


def _scenario_path(text: str) -> Path:
    """A scenario file, or the name of one the package ships (``ai_equity_crash``)."""
    p = Path(text)
    if p.is_file():
        return p
    from importlib.resources import files  # here: it imports tempfile, shutil and zip support

    bundled = files("circfin.scenarios")
    for name in (text, f"{text}.yaml"):
        f = bundled / name
        if f.is_file():
            return Path(str(f))
    shipped = sorted(f.name.removesuffix(".yaml") for f in bundled.iterdir() if f.name.endswith(".yaml"))
    raise InputError(f"{text}: no such scenario file; the shipped scenarios are {', '.join(shipped)}")


def stress(
    scenario: Annotated[str, typer.Argument(help="A scenario YAML file, or a shipped scenario's name.",
                                            show_default=False)],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
    top: Annotated[int, typer.Option(help="Show this many entities in the table (JSON has all).")] = 20,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
) -> None:
    """Run a scenario: price shocks, partial payers and stablecoin redemptions, followed through credit, fire sales and margin calls round by round; losses per entity by channel, totals by kind and country, who ends with negative equity, and what the loops add.

    The scenario's credit model (credit: both, clearing or debtrank) is said in the output, with who defaults in clearing.

    Holdings managed for clients (capacity managed, e.g. 13F positions) lose value at the fallen prices but not the manager's equity; their losses, borne by clients, are listed apart by manager.

    Shipped scenarios: ai_equity_crash, ai_crypto_run.

    Example: circfin stress ai_crypto_run --format json
    """
    from ..risk.stress import stress as run

    if top < 0:
        raise InputError("--top must be >= 0")
    day = cli._as_of(as_of)
    confidences = cli._min_confidence(min_confidence)
    path = _scenario_path(scenario)
    with cli._store() as store:
        res = run(store, path, as_of=day, confidences=confidences)
    if fmt == Fmt.json:
        cli._write(json_dumps(res.to_dict(), indent=2))
        return
    from .render import money, records_table

    cli.out.print(Text(visible(f"{res.scenario} as of {day}: {money(res.total_loss_usd)} lost in "
                               f"{res.rounds} round{'s' if res.rounds != 1 else ''}; credit model: "
                               f"{_CREDIT[res.credit]}")))
    rows = [{"name": e["name"], "kind": e["kind"], "country": e["country"] or "",
             "loss_usd": e["loss_usd"], "equity_usd": e["equity_usd"],
             "of_equity": "" if e["loss_to_equity"] is None else f"{100 * e['loss_to_equity']:.1f}%",
             **{f"{c}_usd": e["by_channel"][c] for c in ("price", "credit", "fire_sale", "margin")}}
            for e in res.entities[:top]]
    cli.out.print(records_table(rows, [
        ("name", "entity"), ("kind", "kind"), ("country", "country"), ("loss_usd", "loss"),
        ("equity_usd", "equity"), ("of_equity", "of equity"), ("price_usd", "price"),
        ("credit_usd", "credit"), ("fire_sale_usd", "fire sale"), ("margin_usd", "margin")],
        title=f"{len(res.entities)} entities lose (top {len(rows)})"))
    for key, title in (("country", "By country"), ("kind", "By kind")):
        groups = res.by_country if key == "country" else res.by_kind
        cli.out.print(records_table(
            [{key: g[key], "loss_usd": g["loss_usd"], "entities": g["entities"],
              "negative": g["negative_equity"]} for g in groups],
            [(key, key), ("loss_usd", "loss"), ("entities", "entities"), ("negative", "negative equity")],
            title=title))
    if res.price_fall:
        cli.out.print(records_table(
            [{"asset": a, "fall": f"{100 * f:.1f}%"} for a, f in sorted(res.price_fall.items(), key=lambda x: -x[1])],
            [("asset", "asset"), ("fall", "price fall")], title="Price falls"))
    neg = ", ".join(e["name"] for e in res.entities if e["negative_equity"]) or "nobody"
    cli.out.print(Text(visible(f"Negative equity: {neg}.")))
    if res.credit != "debtrank":
        names = {e["id"]: e["name"] for e in res.entities}
        dflt = ", ".join(names.get(d, d) for d in res.defaults) or "nobody"
        cli.out.print(Text(visible(f"Default in clearing (pay less than they owe): {dflt}.")))
    lost_managed = [m for m in res.managed if m["loss_usd"] > 0]
    if lost_managed:
        cli.out.print(Text(f"Losses on managed assets, borne by clients: {money(res.managed_loss_usd)} "
                           "(holdings managed for clients; not in the losses above):"))
        cli.out.print(records_table(
            [{"name": m["name"], "country": m["country"] or "", "managed_usd": m["managed_usd"],
              "loss_usd": m["loss_usd"]} for m in lost_managed[:top]],
            [("name", "manager"), ("country", "country"), ("managed_usd", "managed"), ("loss_usd", "clients' loss")],
            title="By manager"))
    amp = "n/a" if res.amplification is None else f"{res.amplification:.3f}x"
    cli.out.print(Text(visible(f"Without the loops' closing legs ({len(res.cut_legs)} deals cut): "
                               f"{money(res.cut_total_loss_usd)}; loop amplification {amp}.")))
    for n in res.notes:
        cli.out.print(Text(visible(n), style="dim"))


def register(app: typer.Typer) -> None:
    """Add ``stress`` to the circfin app."""
    app.command("stress")(stress)
