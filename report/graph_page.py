"""The interactive graph page: one self-contained HTML file, no network needed.

Entities are sized by disclosed deal volume and coloured by kind; every deal
is one directed edge coloured by deal type; loops are highlighted (one loop,
the loops through an entity, or the loops with a risk flag). Hovering or
clicking shows amounts, dates and source links; a panel filters by date
range and deal type.

Safety: the data travels as JSON inside ``<script type="application/json">``
with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, control and bidi characters
in its text shown as escapes (``\\x1b``, ``\\u202e``), and the page's script
sets every text through ``textContent``. A Content-Security-Policy allows
only the page's own scripts (by hash), so even markup that slipped in could
not run. Only http(s) URLs become links.

>>> "<" in _json_for_script({"name": "</script><script>alert(1)</script>"})
False
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from ..display import plain_number as _num
from ..errors import InputError
from ..graph.model import DEAL_TYPES, ENTITY_KINDS, Loop
from ..loops.from_store import DEFAULT_STATUSES, Snapshot, loops_from_store, resolve_entity, snapshot
from ..safe import json_safe, visible, visible_deep
from ..store.base import GraphStore

__all__ = ["KIND_COLOURS", "RISK_FLAGS", "TYPE_COLOURS", "build_graph_data", "checked_loops", "csp",
           "csp_hash", "graph_data", "graph_page", "loop_record", "page_policy", "render_graph_page",
           "safe_url"]

# The flags circfin.risk.flags defines; a page filters by one of them.
RISK_FLAGS: tuple[str, ...] = ("vendor_financing", "round_trip", "related_party", "paper_loop",
                               "contingent_loop")

# Distinct, print-safe colours (Tableau 20 order), one per kind and one per deal type.
_PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b", "#17becf", "#7f7f7f")
KIND_COLOURS: dict[str, str] = dict(zip(ENTITY_KINDS, _PALETTE, strict=False))
TYPE_COLOURS: dict[str, str] = dict(zip(DEAL_TYPES, _PALETTE, strict=False))

# A page lists at most this many loops (the highlighted ones always).
MAX_LISTED_LOOPS = 500
_CANVAS = 1000.0  # layout coordinates span about this many pixels


def safe_url(url: Any) -> str | None:
    """The URL if it is an absolute http(s) URL fit to be a link, else None.

    >>> safe_url("https://example.com/a?b=1"), safe_url("javascript:alert(1)")
    ('https://example.com/a?b=1', None)
    """
    if (not isinstance(url, str) or not url or any(c.isspace() for c in url)
            or visible(url) != url):  # no control or bidi character: a link shows what it is
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _json_for_script(obj: Any) -> str:
    """JSON that cannot end a <script> element or be read as markup."""
    text = json_safe(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")




def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)


def checked_loops(loops: Iterable[Loop]) -> list[Loop]:
    """Each loop once, after checking that its legs really go round its ids.

    A report stores per-key state, so a key seen twice with different legs, or
    legs that do not chain, would be recorded wrongly: that is a bug to show.
    """
    out: dict[str, Loop] = {}
    for lp in loops:
        n = len(lp.ids)
        chain = len(lp.legs) == n and all(
            lp.legs[i].payer_id == lp.ids[i] and lp.legs[i].payee_id == lp.ids[(i + 1) % n]
            for i in range(n))
        if not chain:
            raise RuntimeError(f"the loop engine returned loop {lp.key!r} whose legs do not go "
                               f"round its entities; try --engine cypher")
        if lp.key in out and out[lp.key] != lp:
            raise RuntimeError(f"the loop engine returned two different loops {lp.key!r}; "
                               f"try --engine cypher")
        out[lp.key] = lp
    return list(out.values())


def loop_record(loop: Loop) -> dict[str, Any]:
    """A loop as the page (and report.json) shows it."""
    d = loop.to_dict()
    d["bottleneck_usd"] = _num(d["bottleneck_usd"])
    for leg in d["legs"]:
        leg["amount_usd"] = _num(leg["amount_usd"])
    return d


def _layout(nodes: Sequence[str], edges: Iterable[tuple[str, str]],
            weight: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """Deterministic (seeded) positions: ForceAtlas2 with hubs pushed apart and node
    sizes kept from overlapping, from a spring-layout start, on the main component;
    the other components in rows below it. ``weight`` (0..1) is each node's size."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from((a, b) for a, b in edges if a != b)
    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c))
    pos: dict[str, tuple[float, float]] = {}
    if not comps:
        return pos
    big = comps[0]
    sub = g.subgraph(big)
    if len(big) == 1:
        raw = {big[0]: (0.0, 0.0)}
    else:
        start = nx.spring_layout(sub, seed=7, iterations=100)
        if hasattr(nx, "forceatlas2_layout"):  # networkx >= 3.4
            node_size = {n: 0.3 + 2.0 * math.sqrt(weight.get(n, 0.0)) for n in big}
            raw = nx.forceatlas2_layout(sub, pos=start, max_iter=300, seed=7, node_size=node_size,
                                        distributed_action=True, scaling_ratio=4.0, gravity=1.0)
        else:
            raw = start
    xs = [float(p[0]) for p in raw.values()]
    ys = [float(p[1]) for p in raw.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    for n, (x, y) in raw.items():
        pos[n] = ((float(x) - cx) / span * _CANVAS, (float(y) - cy) / span * _CANVAS)
    top = max((p[1] for p in pos.values()), default=0.0)
    # Smaller components on rows below the main one.
    x0, y0, row_h = -_CANVAS / 2, top + 120, 0.0
    x = x0
    for comp in comps[1:]:
        sub = g.subgraph(comp)
        size = 70.0 * math.sqrt(len(comp))
        raw = nx.circular_layout(sub) if len(comp) > 1 else {comp[0]: (0.0, 0.0)}
        if x + size > _CANVAS / 2:
            x, y0, row_h = x0, y0 + row_h + 80, 0.0
        for n, (px, py) in raw.items():
            pos[n] = (x + size / 2 + float(px) * size / 2, y0 + size / 2 + float(py) * size / 2)
        x += size + 80
        row_h = max(row_h, size)
    return pos


def _deal_rows(snap: Snapshot, status: Iterable[str] | None) -> list[dict[str, Any]]:
    frame = snap.deals
    wanted = None if status is None else set(status)
    out = []
    for r in frame.to_dict("records"):
        if wanted is not None and r.get("status") not in wanted:
            continue
        out.append({
            "id": str(r["deal_id"]), "payer": str(r["payer"]), "payee": str(r["payee"]),
            "type": _text(r.get("type")), "amount_usd": _num(r.get("amount_usd")),
            "amount_qualifier": _text(r.get("amount_qualifier")), "status": _text(r.get("status")),
            "date": _text(r.get("date")), "day": _num(r.get("day")),
            "description": _text(r.get("description")), "source_url": _text(r.get("source_url")),
            "link": safe_url(r.get("source_url")), "confidence": _text(r.get("confidence")),
        })
    return out


def build_graph_data(snap: Snapshot, loops: Sequence[Loop], *, highlight: Iterable[str] = (),
                     selection: Mapping[str, Any] | None = None,
                     status: Iterable[str] | None = DEFAULT_STATUSES,
                     title: str = "circfin: the financing web") -> dict[str, Any]:
    """The page's data from a snapshot and loops (the report uses this directly)."""
    deals = _deal_rows(snap, status)
    highlight = [k for k in dict.fromkeys(highlight)]
    known = {lp.key for lp in loops}
    missing = [k for k in highlight if k not in known]
    if missing:
        raise ValueError(f"highlighted loops not among the loops: {missing}")
    involved = {d["payer"] for d in deals} | {d["payee"] for d in deals}
    for lp in loops:
        involved.update(lp.ids)
    ents = {e["id"]: e for e in snap.entities}
    vol: dict[str, float] = {i: 0.0 for i in involved}
    n_deals: dict[str, int] = {i: 0 for i in involved}
    for d in deals:
        for side in ("payer", "payee"):
            n_deals[d[side]] += 1
            if d["amount_usd"] is not None:
                vol[d[side]] += float(d["amount_usd"])
    order = sorted(involved)
    top_vol = max(vol.values(), default=0.0) or 1.0
    pos = _layout(order, ((d["payer"], d["payee"]) for d in deals),
                  {i: vol[i] / top_vol for i in order})
    entities = []
    for i in order:
        e = ents.get(i, {})
        kind = e.get("kind") if e.get("kind") in KIND_COLOURS else "other"
        x, y = pos.get(i, (0.0, 0.0))
        entities.append({"id": i, "name": _text(e.get("name")) or i, "kind": kind,
                         "volume_usd": _num(vol[i]), "deals": n_deals[i],
                         "source_url": _text(e.get("source_url")), "link": safe_url(e.get("source_url")),
                         "x": round(x, 1), "y": round(y, 1)})
    hl = set(highlight)
    listed = [lp for lp in loops if lp.key in hl]
    listed += [lp for lp in loops if lp.key not in hl][:max(0, MAX_LISTED_LOOPS - len(listed))]
    return {
        "title": title,
        "selection": dict(selection or {"kind": None, "value": None}),
        "entities": entities,
        "deals": deals,
        "loops": [loop_record(lp) for lp in listed],
        "loops_total": len(loops),
        "highlight": highlight,
        "as_of": snap.as_of,
        "kind_colours": KIND_COLOURS,
        "type_colours": TYPE_COLOURS,
    }


def _flagged(store: GraphStore, loops: list[Loop], flag: str, as_of: str | None = None) -> list[Loop]:
    """The loops that circfin.risk.flags marks with ``flag``."""
    try:
        from ..risk import flags as risk_flags
    except ImportError:
        raise InputError("risk flags are not available yet") from None
    known = tuple(getattr(risk_flags, "FLAGS", RISK_FLAGS))
    if flag not in known:
        raise InputError(f"unknown flag {flag!r}; expected one of: {', '.join(known)}")
    marked = risk_flags.flag_loops(store, loops, as_of=as_of)
    hits: set[str] = set()
    items = marked.items() if isinstance(marked, Mapping) else (
        (getattr(m, "key", None) or m["key"], getattr(m, "flags", None) or m["flags"]) for m in marked)
    for key, fl in items:
        names = {getattr(f, "name", f) for f in fl}
        if flag in names:
            hits.add(key)
    return [lp for lp in loops if lp.key in hits]


def graph_data(store: GraphStore, *, loop_key: str | None = None, entity: str | None = None,
               flag: str | None = None, max_len: int = 6,
               status: Iterable[str] | None = DEFAULT_STATUSES,
               engine: str = "auto", budget: Any = None,
               as_of: str | _dt.date | None = None,
               confidences: Iterable[str] | None = None) -> dict[str, Any]:
    """What :func:`graph_page` shows, as plain data. ``budget``: a
    :class:`circfin.loops.from_store.Budget` (default: its default limits); when it
    cuts the loops, ``selection["note"]`` says so. ``as_of`` (a date; None: everything):
    the web as of that day (see :func:`circfin.loops.from_store.snapshot`).
    ``confidences`` (None: all): only deals of these confidences are drawn and counted."""
    chosen = [n for n, v in (("loop", loop_key), ("entity", entity), ("flag", flag)) if v]
    if len(chosen) > 1:
        raise InputError(f"choose one of --loop, --entity and --flag (got {', '.join(chosen)})")
    status = None if status is None else list(status)
    if loop_key:
        n = len(loop_key.split(">"))
        if not 2 <= n <= 12:
            raise InputError(f"{loop_key!r} is not a loop key (like 'nvidia>openai>oracle')")
        max_len = max(max_len, n)
    snap = snapshot(store, as_of=as_of, confidences=confidences)
    eid = resolve_entity(entity, snap.entities) if entity else None
    loops, complete, note = loops_from_store(store, max_len=max_len, status=status, engine=engine,
                                             budget=budget, snap=snap, reserve_per_loop=3e-4)
    loops = checked_loops(loops)
    names = snap.names
    if loop_key:
        hits = [lp for lp in loops if lp.key == loop_key]
        if not hits:
            raise InputError(f"no loop {loop_key!r} with the deals that count; "
                             f"'circfin loops' lists the loop keys"
                             + ("" if complete else f" (the search was cut short: {note})"))
        highlight = [loop_key]
        label = " → ".join(hits[0].entities + hits[0].entities[:1])
        selection: dict[str, str | None] = {"kind": "loop", "value": loop_key, "label": label}
    elif eid:
        highlight = [lp.key for lp in loops if eid in lp.ids]
        selection = {"kind": "entity", "value": eid, "label": names.get(eid, eid)}
    elif flag:
        highlight = [lp.key for lp in _flagged(store, loops, flag, snap.as_of)]
        selection = {"kind": "flag", "value": flag, "label": flag}
    else:
        highlight, selection = [], {"kind": None, "value": None, "label": None}
    if not complete:
        selection["note"] = note
    title = "circfin: the financing web"
    if selection["kind"] == "loop":
        title = f"circfin: loop {selection['label']}"
    elif selection["kind"] == "entity":
        title = f"circfin: loops through {selection['label']}"
    elif selection["kind"] == "flag":
        title = f"circfin: loops flagged {flag}"
    if snap.as_of:
        title += f" (as of {snap.as_of})"
    return build_graph_data(snap, loops, highlight=highlight, selection=selection, status=status,
                            title=title)


@cache
def _asset(name: str) -> str:
    return (files("circfin.report") / name).read_text(encoding="utf-8")


def _library() -> str:
    js = _asset("assets/cytoscape.min.js")
    low = js.lower()
    if "</script" in low or "<!--" in low:  # it is inlined in a <script> element
        raise RuntimeError("report/assets/cytoscape.min.js cannot be inlined: it contains </script or <!--")
    return js


def csp_hash(text: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


# Cytoscape adds this stylesheet unless an element with its id exists: shipping it
# keeps every style in the page covered by the Content-Security-Policy hashes.
_CY_STYLE = ".__________cytoscape_container { position: relative; }"


def page_policy() -> tuple[list[str], list[str]]:
    """The CSP hashes of the graph page's scripts and styles (the report's iframe inherits them)."""
    return ([csp_hash(_library()), csp_hash(_asset("graph_page.js"))],
            [csp_hash(_asset("graph_page.css")), csp_hash(_CY_STYLE)])


def csp(scripts: Sequence[str], styles: Sequence[str]) -> str:
    """A policy that loads nothing and runs only the given scripts and styles."""
    return ("default-src 'none'; script-src " + " ".join(scripts) + "; style-src " + " ".join(styles)
            + "; img-src data:; base-uri 'none'; form-action 'none'")


def render_graph_page(data: Mapping[str, Any]) -> str:
    """The HTML page for :func:`graph_data`'s data; no text from the data outside the JSON."""
    scripts, styles = page_policy()
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"", csp(scripts, styles), "\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"generator\" content=\"circfin\">\n<title>circfin graph</title>\n",
        "<style id=\"__________cytoscape_stylesheet\">", _CY_STYLE, "</style>\n",
        "<style>", _asset("graph_page.css"), "</style>\n</head>\n<body>\n",
        "<header><h1 id=\"title\">circfin</h1><p id=\"subtitle\"></p></header>\n",
        "<main><div id=\"cy\" aria-label=\"financing graph\"></div>\n",
        "<aside id=\"panel\">\n",
        "<section id=\"details\"><h2>Details</h2><div id=\"details-body\">"
        "<p class=\"hint\">Hover or click an entity or a deal.</p></div></section>\n",
        "<section id=\"loops\"><h2 id=\"loops-title\">Loops</h2><div id=\"loops-body\"></div></section>\n",
        "<section id=\"filters\"><h2>Filter</h2><div id=\"filters-body\"></div></section>\n",
        "<section id=\"legend\"><h2>Legend</h2><div id=\"legend-body\"></div></section>\n",
        "</aside></main>\n",
        # Every string as people will see it: control and bidi characters shown escaped.
        "<script type=\"application/json\" id=\"circfin-data\">", _json_for_script(visible_deep(dict(data))),
        "</script>\n",
        "<script>", _library(), "</script>\n",
        "<script>", _asset("graph_page.js"), "</script>\n",
        "</body>\n</html>\n",
    ])


def graph_page(store: GraphStore, *, loop_key: str | None = None, entity: str | None = None,
               flag: str | None = None, max_len: int = 6,
               status: Iterable[str] | None = DEFAULT_STATUSES, engine: str = "auto",
               as_of: str | _dt.date | None = None, confidences: Iterable[str] | None = None) -> str:
    """A self-contained interactive HTML page of the store's financing web.

    Highlights one loop (``loop_key``, e.g. ``"nvidia>openai>oracle"``), every
    loop through an entity (id, name or alias), or the loops with a risk
    ``flag``; at most one of the three. Loops have up to ``max_len`` entities;
    deals with a status outside ``status`` are neither drawn nor counted.
    ``as_of``: the web as of that date (None: everything the graph holds);
    ``confidences`` (None: all): only deals of these confidences are drawn and counted.

    Example: ``Path("g.html").write_text(graph_page(store, entity="Nvidia"))``
    """
    return render_graph_page(graph_data(store, loop_key=loop_key, entity=entity, flag=flag,
                                        max_len=max_len, status=status, engine=engine,
                                        as_of=as_of, confidences=confidences))
