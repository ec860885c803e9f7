"""Charts fit to publish: static SVG and PNG, drawn offline by matplotlib, the same bytes for the same data.

Two functions, each returning the file's bytes:

* :func:`timeline_chart`: the web over time (``circfin timeline``): committed
  dollars, loops and the Finn cycling index at each period end, three panels
  sharing the date axis.
* :func:`loop_legs_chart`: the top loops' legs: one panel per loop, one bar per
  leg (payer → payee) with its disclosed amount.

Entity names are data, never markup: matplotlib escapes text in SVG, and its
math mode (``$...$``) is switched off, so a name with ``$`` or ``<script>``
is drawn as written; control and bidirectional characters are shown as escapes
(:func:`circfin.safe.visible`). An SVG keeps text as text, so a browser draws every
letter; a PNG is drawn with DejaVu Sans, where letters it lacks (CJK) are boxes.
The same data gives the same bytes: no date in
the metadata, a fixed hash salt for SVG ids, the fonts matplotlib ships.
matplotlib is imported on the first call, so other commands don't pay for it.

To put a chart in an HTML page: the SVG bytes from ``<svg`` on can be inlined (drop
the XML declaration and DOCTYPE before it), or either format used as an
``<img src="data:image/svg+xml;base64,...">`` / ``data:image/png;base64,...``; the
SVG names its font (DejaVu Sans; a browser without it uses another) and loads nothing.

>>> svg = timeline_chart([{"as_of": "2025-03-31", "committed_usd": 5e9, "loops": 1, "fci": 0.2}])
>>> svg[:5], svg == timeline_chart([{"as_of": "2025-03-31", "committed_usd": 5e9, "loops": 1, "fci": 0.2}])
(b'<?xml', True)
"""

from __future__ import annotations

import datetime as _dt
import io
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import InputError
from ..safe import visible

__all__ = ["CHART_FORMATS", "chart_format", "loop_legs_chart", "timeline_chart"]

CHART_FORMATS = ("svg", "png")
_DPI = 150  # PNG: sharp enough for print at the figure's size (8 in wide: 1200 px)
_NAME_MAX = 32  # a bar's label: longer names are cut, with an ellipsis
_INK, _ACCENT, _MUTED = "#1f3b57", "#c0392b", "#7f8c8d"


def chart_format(path: str) -> str:
    """The chart format a file name asks for (``svg`` or ``png``); InputError for anything else.

    >>> chart_format("web.SVG"), chart_format("out/web.png")
    ('svg', 'png')
    """
    suffix = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    if suffix not in CHART_FORMATS:
        raise InputError(f"--chart: {str(path)!r} must end in .svg or .png (the chart's format)")
    return suffix


def _rc() -> Any:  # matplotlib types its rc keys as literals
    return {
        "svg.hashsalt": "circfin",  # ids in the SVG from a fixed salt, not a random one
        "svg.fonttype": "none",  # text stays text: selectable, searchable, small
        "text.parse_math": False,  # "$" in a name is a dollar sign, not mathtext
        "text.usetex": False,
        "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlelocation": "left",
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "path.simplify": False,
    }


def _check_fmt(fmt: str) -> str:
    if fmt not in CHART_FORMATS:
        raise InputError(f"chart format must be svg or png, not {fmt!r}")
    return fmt


def _render(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    # No date (SVG) and no software version (PNG): the same data gives the same bytes.
    meta = {"Date": None} if fmt == "svg" else {"Software": None}
    with warnings.catch_warnings():
        # A letter DejaVu Sans lacks (CJK, say) is a box in a PNG and text in an SVG: not
        # worth a warning per letter on the terminal.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig.savefig(buf, format=fmt, dpi=_DPI, metadata=meta, bbox_inches="tight",
                    facecolor="white", pad_inches=0.15)
    return buf.getvalue()


def _label(text: Any, limit: int = _NAME_MAX) -> str:
    s = visible(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _row(r: Any) -> Mapping[str, Any]:
    if isinstance(r, Mapping):
        return r
    if hasattr(r, "to_dict"):
        d: Mapping[str, Any] = r.to_dict()
        return d
    raise TypeError(f"a timeline row is a mapping or has to_dict(), not {type(r).__name__}")


def _usd_bn(x: float, _pos: Any = None) -> str:
    return f"${x:,.0f}bn" if abs(x) >= 10 or x == 0 else f"${x:,.1f}bn"


def timeline_chart(rows: Iterable[Mapping[str, Any] | Any], fmt: str = "svg", *,
                   title: str = "The AI financing web over time") -> bytes:
    """The web over time as a chart: SVG or PNG bytes.

    ``rows``: the rows of ``circfin timeline`` (:func:`circfin.report.timeline.timeline`
    rows or their ``to_dict()``: mappings with ``as_of`` (ISO day), ``committed_usd``,
    ``loops`` and ``fci``), oldest first. Three panels share the date axis: disclosed
    committed dollars (USD billions), the number of loops, and the Finn cycling index
    (the share of all money flowing through the web that comes back to where it
    came from, in percent). ``fmt``: ``"svg"`` or ``"png"``.
    """
    _check_fmt(fmt)
    data = [_row(r) for r in rows]
    import matplotlib
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    days = [_dt.date.fromisoformat(str(r["as_of"])) for r in data]
    usd = [float(r.get("committed_usd") or 0) / 1e9 for r in data]
    loops = [int(r.get("loops") or 0) for r in data]
    fci = [100 * float(r.get("fci") or 0) for r in data]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 7.2), layout="constrained")
        axes = fig.subplots(3, 1, sharex=True)
        fig.suptitle(_label(title, 120), x=0.01, ha="left", fontsize=13, fontweight="bold")
        panels = (
            (axes[0], usd, "Committed dollars, disclosed (USD billions)", _INK),
            (axes[1], loops, "Circular-financing loops (2 to 6 entities)", _ACCENT),
            (axes[2], fci, "Finn cycling index: share of the money flowing that comes back (%)", _INK),
        )
        for ax, ys, what, color in panels:
            ax.set_title(what)
            if days:
                ax.plot(days, ys, "-o", color=color, linewidth=1.6, markersize=3)
                ax.fill_between(days, ys, color=color, alpha=0.08, linewidth=0)
            ax.set_ylim(bottom=0)
            ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        axes[0].yaxis.set_major_formatter(FuncFormatter(_usd_bn))
        axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
        axes[2].yaxis.set_major_formatter(PercentFormatter(decimals=0))
        if fci and max(fci) > 0:
            axes[2].set_ylim(0, max(5.0, max(fci) * 1.15))
        loc = AutoDateLocator()  # type: ignore[no-untyped-call]
        axes[2].xaxis.set_major_locator(loc)
        axes[2].xaxis.set_major_formatter(ConciseDateFormatter(loc))  # type: ignore[no-untyped-call]
        last = f"; last point: {days[-1].isoformat()}" if days else "; no data"
        fig.text(0.01, -0.01, f"Each point: the web as of that date (deals dated on or before it, "
                              f"each with its status then){last}. Source: circfin.",
                 fontsize=7.5, color=_MUTED, ha="left", va="top")
        return _render(fig, fmt)


def _legs(loop: Any) -> list[tuple[str, str, float | None]]:
    legs = loop["legs"] if isinstance(loop, Mapping) else loop.legs
    out = []
    for leg in legs:
        if isinstance(leg, Mapping):
            payer, payee, amount = leg.get("payer"), leg.get("payee"), leg.get("amount_usd")
        else:
            payer, payee, amount = leg.payer, leg.payee, leg.amount_usd
        out.append((str(payer), str(payee), None if amount is None else float(amount)))
    return out


def loop_legs_chart(loops_with_legs: Sequence[Any], fmt: str = "svg", *, top: int = 5,
                    title: str = "What goes round: the top loops, leg by leg") -> bytes:
    """The top loops' legs as bars: SVG or PNG bytes.

    ``loops_with_legs``: loops in the order to show them (best first), each a
    :class:`~circfin.graph.model.Loop` or its ``to_dict()`` (a mapping with
    ``legs``, each with ``payer``, ``payee`` (names) and ``amount_usd``, None when
    undisclosed). The first ``top`` are drawn, one panel each, one bar per leg
    labelled payer → payee with its amount in USD billions; an undisclosed leg is
    a grey hatched stub marked "undisclosed".
    """
    _check_fmt(fmt)
    shown = list(loops_with_legs)[: max(0, int(top))]
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    with matplotlib.rc_context(_rc()):
        legs = [_legs(lp) for lp in shown]
        heights = [max(1, len(ls)) * 0.32 + 0.55 for ls in legs] or [1.0]
        fig = Figure(figsize=(8, sum(heights) + 0.6), layout="constrained")
        fig.suptitle(_label(title, 120), x=0.01, ha="left", fontsize=13, fontweight="bold")
        if not legs:
            ax = fig.subplots()
            ax.set_axis_off()
            ax.text(0.5, 0.5, "No loops", ha="center", va="center", color=_MUTED)
            return _render(fig, fmt)
        axes = fig.subplots(len(legs), 1, height_ratios=heights, squeeze=False, sharex=True)[:, 0]
        known = [a for ls in legs for _, _, a in ls if a is not None]
        top_usd = max(known) / 1e9 if known else 1.0
        stub = top_usd * 0.02  # an undisclosed leg: a short hatched bar, never a length
        for i, (ax, ls) in enumerate(zip(axes, legs, strict=True)):
            names = [p for p, _, _ in ls]
            ax.set_title(f"{i + 1}. " + _label(" → ".join([*names, names[0]] if names else []), 72),
                         fontsize=9.5)
            ys = list(range(len(ls)))[::-1]
            for y, (_, _, amount) in zip(ys, ls, strict=True):
                if amount is None:
                    ax.barh(y, stub, color="#eeeeee", edgecolor=_MUTED, hatch="///", height=0.6)
                    ax.text(stub, y, "  undisclosed", va="center", fontsize=8, color=_MUTED)
                else:
                    ax.barh(y, amount / 1e9, color=_INK, height=0.6)
                    ax.text(amount / 1e9, y, "  " + _usd_bn(amount / 1e9), va="center", fontsize=8)
            ax.set_yticks(ys, [f"{_label(p)} → {_label(q)}" for p, q, _ in ls])
            ax.tick_params(axis="y", length=0)
            ax.set_ylim(-0.6, len(ls) - 0.4)
            ax.spines["left"].set_visible(False)
            ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
            ax.set_axisbelow(True)
        axes[-1].xaxis.set_major_formatter(FuncFormatter(_usd_bn))
        axes[-1].set_xlim(0, top_usd * 1.2)
        fig.text(0.01, -0.01, "Bars: the disclosed amounts of each leg's deals, summed (USD billions). "
                              "Source: circfin.", fontsize=7.5, color=_MUTED, ha="left", va="top")
        return _render(fig, fmt)
