"""``circfin exposure``: each institution's direct exposure to the AI web, and each country's total;
a thin shell over circfin.risk.country.

``register(app)`` adds the command to the typer app.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from rich.text import Text

from ..errors import InputError
from ..safe import json_dumps, visible
from . import common as cli
from .options import TableJson as Fmt

__all__ = ["register"]

_TO_HELP = ("Exposure to whom, comma-separated: 'ai' (every AI lab, chipmaker, hyperscaler, neocloud, "
            "data-center company and SPV) and/or entities by id, name or alias (with their subsidiaries).")
_KIND_HELP = ("Institutions of these kinds, comma-separated, or 'all'. Default: bank, private_credit, "
              "hedge_fund, asset_manager, sovereign_fund.")


def exposure(
    country: Annotated[Optional[list[str]], typer.Option(
        "--country", help="Only institutions of these countries (ISO codes, comma-separated).",
        show_default=False)] = None,
    kind: Annotated[Optional[list[str]], typer.Option("--kind", help=_KIND_HELP, show_default=False)] = None,
    to: Annotated[str, typer.Option("--to", help=_TO_HELP)] = "ai",
    subsidiaries: Annotated[bool, typer.Option(
        "--subsidiaries/--no-subsidiaries",
        help="Count an entity's subsidiaries (its parent chain) with it.")] = True,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help=cli._AS_OF_HELP, show_default=False)] = None,
    min_confidence: Annotated[Optional[str], typer.Option(
        "--min-confidence", help=cli._MIN_CONFIDENCE_HELP, show_default=False)] = None,
    top: Annotated[int, typer.Option(help="Show this many institutions in the table (JSON has all).")] = 25,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
) -> None:
    """How deep each bank and fund is in the AI web: its equity, warrants, loans, credit lines, bonds, SPV financing, backstops and guarantees, against its equity; totals per country.

    A syndicate member carries its share. Deals without an amount are counted apart.
    Holdings of the target set's listed equity and bonds count at their reported value; those managed for clients are shown apart, not in the exposure.

    Example: circfin exposure --country FR,DE --format json
    """
    from ..loops.from_store import resolve_entity, snapshot
    from ..risk.country import FINANCIAL_KINDS, exposure_by_institution

    if top < 0:
        raise InputError("--top must be >= 0")
    day = cli._as_of(as_of)
    confidences = cli._min_confidence(min_confidence)
    kinds_opt = cli._split(kind)
    kinds: tuple[str, ...] | None = FINANCIAL_KINDS
    if kinds_opt == ["all"]:
        kinds = None
    elif kinds_opt:
        kinds = tuple(kinds_opt)
    with cli._store() as store:
        snap = snapshot(store, as_of=day)
    names = cli._split([to]) or ["ai"]
    targets: Any = [n if n.lower() == "ai" else resolve_entity(n, snap.entities) for n in names]
    targets = ["ai" if t.lower() == "ai" else t for t in targets]
    try:
        rep = exposure_by_institution(snap, to=targets, countries=cli._split(country), kinds=kinds,
                                      confidences=confidences, subsidiaries=subsidiaries)
    except ValueError as e:
        raise InputError(str(e)) from None
    if fmt == Fmt.json:
        cli._write(json_dumps(rep.to_dict(), indent=2))
        return
    from .render import money, records_table

    named = [t for t in rep.to.split(",") if t != "ai"]
    what = ", ".join((["the AI web"] if rep.to.split(",")[0] == "ai" else [])
                     + [snap.names.get(t, t) for t in named])
    if not rep.institutions:
        cli.out.print(Text(visible(f"As of {day}: no institution has a counted exposure to {what}.")))
        _say_subsidiaries(rep, snap.names)
        return
    shown = rep.institutions[:top]
    cli.out.print(Text(visible(f"Exposure to {what} as of {day}")))  # names are data: never markup
    _say_subsidiaries(rep, snap.names)
    rows = []
    for i in shown:
        ratio = i.exposure_to_equity
        rows.append({"name": i.name, "country": i.country or "", "exposure_usd": i.exposure_usd,
                     "equity_usd": i.equity_usd, "of_equity": "" if ratio is None else f"{100 * ratio:.2f}%",
                     "undisclosed": i.undisclosed_deals,
                     "largest": next((f"{k} {money(v)}" for k, v in i.by_instrument.items()), "")})
    cli.out.print(records_table(rows, [
        ("name", "institution"), ("country", "country"), ("exposure_usd", "exposure"),
        ("equity_usd", "equity"), ("of_equity", "of equity"), ("undisclosed", "no amount"),
        ("largest", "largest instrument")],
        title=f"{len(rep.institutions)} institutions, {money(rep.total_usd)} (top {len(shown)})"))
    managers = sorted((i for i in rep.institutions if i.managed_usd > 0), key=lambda i: (-i.managed_usd, i.id))
    if managers:
        shown_m = ", ".join(f"{i.name} {money(i.managed_usd)}" for i in managers[:top])
        cli.out.print(Text(visible(f"Held for clients (holdings managed for them, not in the exposure): "
                                   f"{money(sum(i.managed_usd for i in managers))}: {shown_m}"
                                   f"{' ...' if len(managers) > top else ''}.")))
    instruments: dict[str, float] = {}
    for i in rep.institutions:
        for k, v in i.by_instrument.items():
            instruments[k] = instruments.get(k, 0.0) + v
    cli.out.print(records_table(
        [{"instrument": k, "exposure_usd": v} for k, v in sorted(instruments.items(), key=lambda kv: -kv[1])],
        [("instrument", "instrument"), ("exposure_usd", "exposure")], title="By instrument"))
    cli.out.print(records_table(
        [{"country": c.country or "unknown", "exposure_usd": c.exposure_usd, "institutions": c.institutions,
          "undisclosed": c.undisclosed_deals} for c in rep.by_country],
        [("country", "country"), ("exposure_usd", "exposure"), ("institutions", "institutions"),
         ("undisclosed", "deals with no amount")], title="By country"))
    estimated = sum(i.estimated_usd for i in rep.institutions)
    cli.out.print(Text(f"{money(estimated)} of it rests on members' equal splits of a syndicate's part "
                       "(estimates). 'No amount': deals that count but disclose no amount. 'holdings': "
                       "the target set's listed equity and bonds held, at reported value; those held for "
                       "clients (funds, trusts, custody) are listed apart, not in the exposure. "
                       "--format json has every institution by instrument, deal and holding.", style="dim"))


def _say_subsidiaries(rep: Any, names: dict[str, str]) -> None:
    """One line per named target: the subsidiaries counted with it."""
    by_parent: dict[str, list[str]] = {}
    for sub, parent in sorted(rep.subsidiaries.items()):
        by_parent.setdefault(parent, []).append(names.get(sub, sub))
    for parent, subs in by_parent.items():
        cli.out.print(Text(visible(f"{names.get(parent, parent)} includes its subsidiaries: {', '.join(subs)}."),
                           style="dim"))


def register(app: typer.Typer) -> None:
    """Add ``exposure`` to the circfin app."""
    app.command("exposure")(exposure)
