"""How results look: rich tables for people, JSON and CSV for programs.

Data is never markup, a formula or a terminal escape: table cells are rich Text with
control and bidi characters shown as escapes (circfin.safe.visible), CSV cells that
would start a spreadsheet formula get a leading ``'`` (circfin.safe.csv_text), and
JSON keeps every character, as JSON escapes where a terminal would act on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from ..display import money
from ..graph.model import Loop
from ..safe import csv_text, json_dumps, visible

__all__ = ["loops_csv", "loops_json", "loops_table", "money"]




def _path(loop: Loop) -> Text:
    t = Text()
    for name in (*loop.entities, loop.entities[0]):
        if t:
            t.append(" → ", style="dim")
        t.append(visible(name))  # a Text part: never parsed as rich markup; escapes shown
    return t


def loops_table(loops: Sequence[Loop], *, title: str | None = None) -> Table:
    table = Table(title=title, show_lines=True, title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("loop")
    table.add_column("legs (deal ids: total)")
    table.add_column("bottleneck", justify="right")
    table.add_column("dates")
    table.add_column("types")
    for i, lp in enumerate(loops, 1):
        legs = Text()
        for leg in lp.legs:
            if legs:
                legs.append("\n")
            legs.append(f"{visible(leg.payer)} → {visible(leg.payee)}: ", style="dim")
            legs.append(visible(", ".join(leg.deal_ids)))
            legs.append(f": {money(leg.amount_usd)}")
        first, last = lp.date_span
        dates = f"{first or '?'} … {last or '?'}" if first != last else (first or "?")
        table.add_row(str(i), _path(lp), legs, money(lp.bottleneck_usd), Text(visible(dates)),
                      Text(visible(", ".join(lp.types))))
    return table


def loops_json(loops: Sequence[Loop], **extra: Any) -> str:
    return json_dumps([lp.to_dict() for lp in loops], indent=2)  # C1/bidi as \u escapes


def loops_csv(loops: Sequence[Loop]) -> str:
    """CSV for spreadsheets: text cells never start a formula (see circfin.safe.csv_cell)."""
    rows = []
    for lp in loops:
        first, last = lp.date_span
        rows.append([lp.key, lp.length, " > ".join(lp.entities), ";".join(lp.deal_ids),
                     "" if lp.bottleneck_usd is None else lp.bottleneck_usd, first or "",
                     last or "", ";".join(lp.types)])
    return csv_text(["key", "length", "entities", "deal_ids", "bottleneck_usd", "first_date",
                     "last_date", "types"], rows)


def records_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], *,
                  title: str | None = None) -> Table:
    """A table of plain records; columns are (key, heading); *_usd keys as money, shares as %."""
    table = Table(title=title, title_justify="left")
    for key, heading in columns:
        sample = next((r.get(key) for r in rows if r.get(key) is not None), None)
        right = key.endswith("_usd") or (isinstance(sample, (int, float)) and not isinstance(sample, bool))
        table.add_column(heading, justify="right" if right else "left")
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key)
            if key.endswith("_usd"):
                cells.append(money(v))
            elif key.endswith("share"):
                cells.append("" if v is None else f"{100 * v:.0f}%")
            elif key == "hhi":
                cells.append(f"{v:.2f}")
            elif isinstance(v, list):
                cells.append(", ".join(map(str, v)))
            else:
                cells.append("" if v is None else str(v))
        table.add_row(*(Text(visible(c)) for c in cells))
    return table
