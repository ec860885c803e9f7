"""report.md and report.html from the report's data (report.json).

Text from the data is escaped everywhere: in Markdown, HTML's ``& < >`` become
entities and Markdown's own markup characters are backslashed, so a name like
``<script>`` or ``*x*`` shows as written; in HTML, everything goes through
:func:`html.escape`. Only http(s) URLs become links. The graph page sits in a
sandboxed ``<iframe srcdoc>``, whose scripts the page's Content-Security-Policy
allows by hash and nothing else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..display import money
from ..safe import visible
from .graph_page import csp, csp_hash, page_policy, safe_url

__all__ = ["brief_html", "brief_markdown", "charts_html", "charts_markdown", "md_escape", "money", "report_html",
           "report_markdown"]

_MD_MARKUP = re.compile(r"([\\`*_\[\]|#~]|\$(?!\d))")
# What a Markdown renderer may turn into a link by itself: GFM's extended autolinks
# (http://, https://, www., e-mail addresses, mailto:, xmpp:) and linkify's bare
# domains (evil.com, evil.io: its top-level domains and every two-letter one). A word
# with any of them goes in a code span, which no renderer links; only the deal sources
# we check (safe_url) become links.
_LINKISH = re.compile(r"(?i)(://|www\.|@|mailto:|xmpp:|[a-z0-9-]\.(?:[a-z]{2}|biz|com|edu|gov|net|"
                      r"org|pro|web|xxx|aero|asia|coop|info|museum|name|shop|рф)(?![a-z0-9-]))")
_SPACES = "\n\t\r "


def _md_word(word: str) -> str:
    if _LINKISH.search(word):
        return md_code(word)
    return _MD_MARKUP.sub(r"\\\1", html.escape(word, quote=False))


def md_escape(text: Any) -> str:
    """Text safe inside Markdown: no HTML, no emphasis, no table breaks, no links, no
    terminal escapes or bidi controls (shown escaped), one line.

    >>> md_escape("<b>A|B</b> *x*")
    '&lt;b&gt;A\\\\|B&lt;/b&gt; \\\\*x\\\\*'
    >>> print(md_escape("Evil https://evil.example \\u202eAcme"))
    Evil `https://evil.example` \\\\u202eAcme
    """
    return " ".join(_md_word(w) for w in visible(text, keep=_SPACES).split())


def md_code(text: Any) -> str:
    """An inline code span: shown literally by Markdown (never a link), so only backticks
    (the fence grows past them), pipes (which would end a table cell) and line breaks need
    handling; control and bidi characters are shown escaped.

    >>> md_code("nvidia>openai>oracle"), md_code("a`b")
    ('`nvidia>openai>oracle`', '``a`b``')
    """
    t = " ".join(visible(text, keep=_SPACES).split()).replace("|", "\\|")
    fence = "`" * (1 + max((len(m) for m in re.findall(r"`+", t)), default=0))
    pad = " " if t[:1] == "`" or t[-1:] == "`" else ""
    return f"{fence}{pad}{t}{pad}{fence}"


def _md_url(url: Any) -> str | None:
    u = safe_url(url)
    if u is None:
        return None
    for ch, enc in (("\\", "%5C"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"),
                    ('"', "%22"), ("`", "%60"), (" ", "%20")):
        u = u.replace(ch, enc)
    return u


def _md_source(url: Any) -> str:
    u = _md_url(url)
    if u:
        return f"[source]({u})"
    return f"source not a web link: {md_escape(url)}" if url else "no source"


def _path(names: Sequence[str]) -> str:
    return " → ".join([*names, names[0]]) if names else ""


def _deal_text(d: Mapping[str, Any]) -> str:
    if d.get("missing"):
        return f"{d['id']}: no longer in the graph"
    amount = money(d.get("amount_usd"))
    if d.get("amount_usd") is None:
        amount = "amount undisclosed"
    elif d.get("amount_qualifier") not in (None, "exact"):
        amount += f" ({str(d['amount_qualifier']).replace('_', ' ')})"
    return (f"{d['id']}: {d['payer']} → {d['payee']}, {str(d.get('type') or '?').replace('_', ' ')}, "
            f"{amount}, {d.get('date') or 'undated'}, {d.get('status')}, confidence {d.get('confidence')}")


_CANDIDATES_NOTE = ("Agreements found in the tracked entities' 8-K filings (circfin sec filings). They count in "
                    "no analysis until accepted (circfin review accept ID --type T) or dropped (circfin review "
                    "reject ID).")
_CAND_HEAD = ("id", "filed", "filer", "counterparty", "amount", "new", "source")


def _cand_rows(cands: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [(c["id"], c["filed"], c["filer"], c["counterparty"], money(c.get("amount_usd")),
             "new" if c["new"] else "", c["source_url"]) for c in cands]


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _md_deals(deals: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"- {md_escape(_deal_text(d))}: {_md_source(d.get('source_url'))}" for d in deals]


def _intro(data: Mapping[str, Any]) -> list[str]:
    since = data["since"]
    p = data["params"]
    lines = [f"Generated {data['generated_at']} from the {data['store']} store."]
    if data.get("as_of"):
        lines.append(f"The web as of {data['as_of']}: only deals dated on or before it, each with its "
                     f"status on that day, and each entity's latest financials on or before it.")
    if since["last_report"]:
        lines.append(f"Compared with report {since['last_report']['id']} of {since['last_report']['at']}.")
    else:
        lines.append("The first report recorded in this graph: every loop counts as new.")
    if since["date"]:
        lines.append(f"Also listed as new: every loop with a deal dated on or after {since['date']}.")
    st = "any status" if p["statuses"] is None else ", ".join(p["statuses"])
    conf = p.get("confidences")
    at = "" if not conf else f" and confidence {', '.join(conf)}"
    lines.append(f"Loops of 2 to {p['max_len']} entities; a deal counts with status {st}{at}.")
    return lines


def _summary_rows(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, count, why it may differ from another count) rows: every count in the report
    agrees with the others (the graph, the brief) or says why it differs."""
    s = data["summary"]
    p = data["params"]
    st = "any status" if p["statuses"] is None else "status " + ", ".join(p["statuses"])
    not_counted = s.get("deals_not_counted") or {}
    nc = sum(not_counted.values())
    rows = [("loops found", str(s["loops"]), f"2 to {p['max_len']} entities; the brief's count"),
            ("new", str(s["new"]), "not in the last report" + (
                f", or with a deal dated on or after {data['since']['date']}" if data["since"]["date"] else "")),
            ("changed (grew, shrank)", str(s["changed"] - s["gone"]), ""),
            ("gone or cancelled", str(s["gone"]), ""),
            ("deals that count", str(s["deals"]), f"{st}; as in the graph and the brief"),
            ("entities with a deal that counts", str(s["entities"]), "as in the graph")]
    if nc:
        why = ", ".join(f"{n} {k}" for k, n in not_counted.items())
        rows.append(("deals that do not count", str(nc), f"{why}: left out of every count above"))
    if s.get("entities_without_deals"):
        rows.append(("entities without a deal that counts", str(s["entities_without_deals"]),
                     "in the data (a parent, a syndicate member, or only deals that do not count), "
                     "not in the graph"))
    return rows


def _leg_rows(loop: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(f"{leg['payer']} → {leg['payee']}", money(leg["amount_usd"]), ", ".join(leg["deal_ids"]))
            for leg in loop["legs"]]


def _change_rows(c: Mapping[str, Any]) -> list[tuple[str, ...]]:
    legs = c.get("legs_changed") or c["legs"]
    return [(f"{leg['payer']} → {leg['payee']}", money(leg["amount_before"]), money(leg["amount_now"]),
             ", ".join(leg["added"]) or "-", ", ".join(leg["removed"]) or "-") for leg in legs]


_CHANGE_WORDS = {"grew": "grew", "shrank": "shrank", "changed": "changed (some legs up, some down)",
                 "cancelled": "broken: a deal was cancelled", "gone": "no longer found"}


def _conc_rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [(str(r["name"] or r["id"]), "in (paid by)" if r["direction"] == "in" else "out (pays)",
             money(r["total_usd"]), str(r["counterparties"]), str(r["top_counterparty"]),
             f"{100 * r['top_share']:.0f}%", f"{r['hhi']:.2f}") for r in rows]


_CONC_HEAD = ("entity", "flow", "total", "parties", "top party", "top share", "HHI")
_OWN_HEAD = ("entity", "inflows", "from entities it funded", "share", "funded payers")


def _own_rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [(str(r["name"] or r["id"]), money(r["inflow_usd"]), money(r["self_funded_usd"]),
             f"{100 * r['share']:.0f}%", ", ".join(r["funded_payers"])) for r in rows]


def _shock_table(shock: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows = shock.get("rows") or []
    head = list(dict.fromkeys(k for r in rows for k in r))
    return head, [[money(r.get(k)) if k.endswith("_usd") else str(r.get(k, "")) for k in head]
                  for r in rows]


_METHOD = ("A loop is a simple directed cycle of entities, each paying the next through at least "
           "one deal that counts. A loop is new when the last report did not list it. A loop "
           "grew or shrank when a leg gained or lost deals or its disclosed total rose or fell. "
           "The bottleneck is the smallest leg total: it caps how much money can have gone all the "
           "way round; n/d means some leg's amount is undisclosed. Concentration: the top "
           "counterparty's share of an entity's disclosed inflows or outflows and the "
           "Herfindahl-Hirschman index. Self-funded demand: the share of an entity's inflows paid "
           "by entities it funded. Every deal cites its source.")


def _rank_name(data: Mapping[str, Any]) -> str:
    """The ranking's name for people: "risk score", not "risk_score"."""
    return str(data["params"]["rank"]).replace("_", " ")


def _new_note(data: Mapping[str, Any]) -> str:
    n = len(data["new_loops"])
    if not n:
        return "No new loops."
    why = ("every loop is new in the first report" if data["since"]["last_report"] is None
           else "not in the last report" + (f", or with a deal dated on or after {data['since']['date']}"
                                            if data["since"]["date"] else ""))
    return f"{n} new loop{'s' if n != 1 else ''} ({why}): each with its legs and deals in appendix A."


def _compact_rows(loops: Sequence[Mapping[str, Any]], *, change: bool = False) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for lp in loops:
        last = (lp.get("date_span") or [None, None])[1]
        rows.append((_path(lp["entities"]),
                     _CHANGE_WORDS[lp["change"]] if change else money(lp.get("bottleneck_usd")),
                     str(last or lp.get("last_seen") or "?")))
    return rows


def charts_markdown(charts: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown lines linking the chart files written beside report.md (``data["charts"]``)."""
    out: list[str] = []
    for c in charts:
        out += [f"![{md_escape(c['title'])}]({_md_url_path(c['file'])})", ""]
    return out


def _md_url_path(name: str) -> str:
    """A file name beside report.md, as a relative Markdown link target."""
    return "".join(ch if ch.isalnum() or ch in "-_." else f"%{ord(ch):02X}" for ch in str(name))


def _sensitivity(data: Mapping[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """The significance sensitivity table (``data["sensitivity"]``: rows of plain records), if any."""
    rows = data.get("sensitivity") or []
    if not rows:
        return None
    head = list(dict.fromkeys(k for r in rows for k in r))
    return head, [[str(r.get(k, "")) for k in head] for r in rows]


def brief_markdown(brief: Any, *, level: int = 1) -> str:
    """The brief as Markdown, every piece of data escaped; ``level`` of its heading."""
    from .brief import headline_rows, since_lines, title

    e = md_escape
    h = "#" * level
    out = [f"{h} {e(title(brief))}", ""]
    out += _md_table(("measure", "now", brief.quarter_ago, "change"),
                     [tuple(map(e, r)) for r in headline_rows(brief)]) + [""]
    out += [f"{h}# Top loops by risk score", ""]
    if not brief.top_loops:
        out += ["No loops.", ""]
    for i, lp in enumerate(brief.top_loops, 1):
        out.append(f"{i}. {e(lp['sentence'])} (score {lp['score']:.2f}, bottleneck "
                   f"{e(money(lp['bottleneck_usd']))})")
    out += ["", f"{h}# Most self-funded", "",
            "The share of a dollar passing through an entity that comes back to it, through any chain.", ""]
    if brief.self_funded:
        out += _md_table(("entity", "return share", "throughflow"),
                         [(e(r["name"]), f"{100 * float(r['return_share']):.1f}%", e(money(r["throughflow_usd"])))
                          for r in brief.self_funded])
    else:
        out += ["No entity gets money back." if brief.headline["fci"]["now"] is not None
                else "Not available."]
    out += ["", f"{h}# Since the last report", ""]
    out += [f"- {e(x)}" for x in since_lines(brief)]
    for n in brief.notes:
        out += ["", f"Note: {e(n)}."]
    return "\n".join(out) + "\n"


def report_markdown(data: Mapping[str, Any]) -> str:
    """report.md: the brief first, then the summary and the findings in short, then the full
    lists of loops and deals in appendices; every piece of data escaped for Markdown."""
    from .brief import Brief

    e = md_escape
    out = [f"# circfin report {data['run']}" + (f", as of {e(data['as_of'])}" if data.get("as_of") else ""),
           ""]
    for line in _intro(data):
        out += [e(line), ""]
    if data.get("brief"):
        out += [brief_markdown(Brief.from_dict(data["brief"]), level=2)]
    out += ["## Summary", "", *_md_table(("measure", "count", "counted how"),
                                         [tuple(map(e, r)) for r in _summary_rows(data)]), ""]
    if data.get("charts"):
        out += ["## Charts", "", *charts_markdown(data["charts"])]
    sens = _sensitivity(data)
    if sens:
        out += ["## Significance across null models", "",
                *_md_table([e(h) for h in sens[0]], [[e(c) for c in r] for r in sens[1]]), ""]
    out += [f"## Top loops by {e(_rank_name(data))}", ""]
    if not data["top_loops"]:
        out += ["No loops.", ""]
    else:
        out += _md_table(("#", "loop", "key", "bottleneck", "flags"),
                         [(str(i), e(_path(lp["entities"])), md_code(lp['key']), money(lp["bottleneck_usd"]),
                           e(", ".join(dict.fromkeys(f["name"] for f in lp.get("flags", []))) or "-"))
                          for i, lp in enumerate(data["top_loops"], 1)])
        out += ["", "Their legs, flags and deals are in appendix C.", ""]
    out += [f"## New loops ({len(data['new_loops'])})", "", e(_new_note(data)), ""]
    out += [f"## Changed loops ({len(data['changed_loops'])})", ""]
    if not data["changed_loops"]:
        out += ["No loop grew, shrank or went away.", ""]
    else:
        out += _md_table(("loop", "change", "last reported"),
                         [tuple(map(e, r)) for r in _compact_rows(data["changed_loops"], change=True)])
        out += ["", "Their legs before and after, and their deals, are in appendix B.", ""]
    cands = data.get("candidates") or []
    out += [f"## Deal candidates from filings ({len(cands)} open, {sum(c['new'] for c in cands)} new)", "",
            e(_CANDIDATES_NOTE), ""]
    if cands:
        out += _md_table(_CAND_HEAD, [tuple(map(e, r)) for r in _cand_rows(cands)]) + [""]
    out += ["## Concentration", "", "Entities with more than one counterparty, most concentrated first.", ""]
    out += _md_table(_CONC_HEAD, [tuple(map(e, r)) for r in _conc_rows(data["concentration"])]) + [""]
    out += ["## Self-funded demand", "", "Inflows paid by entities the payee funded.", ""]
    out += _md_table(_OWN_HEAD, [tuple(map(e, r)) for r in _own_rows(data["self_funded_demand"])]) + [""]
    out += ["## Shock summary", ""]
    if data["shock"]["available"]:
        head, rows = _shock_table(data["shock"])
        out += _md_table([e(h) for h in head], [[e(c) for c in r] for r in rows]) + [""]
    else:
        out += [f"Shock summary {e(data['shock']['note'])}.", ""]
    out += ["## How to read this", "", e(_METHOD), ""]

    out += [f"## Appendix A: new loops ({len(data['new_loops'])})", ""]
    if not data["new_loops"]:
        out += ["No new loops.", ""]
    for i, lp in enumerate(data["new_loops"], 1):
        first, last = lp["date_span"]
        out += [f"### A{i}. {e(_path(lp['entities']))}", "",
                f"{md_code(lp['key'])} · why: {e('; '.join(lp['reasons']))} · bottleneck "
                f"{money(lp['bottleneck_usd'])} · dates {e(first or '?')} … {e(last or '?')}", ""]
        out += _md_table(("leg", "total", "deals"), [tuple(map(e, r)) for r in _leg_rows(lp)])
        out += ["", "Deals:", "", *_md_deals(lp["deals"]), ""]
    out += [f"## Appendix B: changed loops ({len(data['changed_loops'])})", ""]
    if not data["changed_loops"]:
        out += ["No loop grew, shrank or went away.", ""]
    for c in data["changed_loops"]:
        out += [f"### {e(_path(c['entities']))}: {e(_CHANGE_WORDS[c['change']])}", "",
                f"{md_code(c['key'])} · last reported {e(c.get('last_seen') or '?')}", ""]
        out += _md_table(("leg", "before", "now", "deals added", "deals removed"),
                         [tuple(map(e, r)) for r in _change_rows(c)])
        if c.get("reasons"):
            out += ["", *(f"- {e(r['deal_id'])}: {e(r['reason'])}" for r in c["reasons"])]
        out += ["", "Deals:", "", *_md_deals(c["deals"]), ""]
    out += [f"## Appendix C: top loops by {e(_rank_name(data))}", ""]
    if not data["top_loops"]:
        out += ["No loops.", ""]
    for i, lp in enumerate(data["top_loops"], 1):
        out += [f"### C{i}. {e(_path(lp['entities']))}", "",
                f"{md_code(lp['key'])} · bottleneck {money(lp['bottleneck_usd'])}", ""]
        out += _md_table(("leg", "total", "deals"), [tuple(map(e, r)) for r in _leg_rows(lp)]) + [""]
        out += [f"- flag **{e(f['name'])}** ({e(', '.join(f['deal_ids']))}): {e(f['why'])}"
                for f in lp.get("flags", [])]
        out += ["", "Deals:", "", *_md_deals(lp["deals"]), ""]
    return "\n".join(out)


# ---- HTML --------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2330; margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; }
h1 { font-size: 24px; margin: 8px 0; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #dde1e8; }
h3 { font-size: 15px; margin: 18px 0 4px; }
table { border-collapse: collapse; margin: 6px 0 10px; } th, td { border: 1px solid #dde1e8; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f6f9; } td.n { text-align: right; white-space: nowrap; }
code { background: #f4f6f9; padding: 0 3px; border-radius: 3px; }
.muted { color: #5a6272; } ul.deals { margin: 4px 0 8px; padding-left: 20px; } ul.deals li { overflow-wrap: anywhere; }
iframe { width: 100%; height: 760px; border: 1px solid #dde1e8; }
figure { margin: 8px 0 16px; } figure img { max-width: 100%; height: auto; } figcaption { color: #5a6272; }
""".strip()


def _h(text: Any) -> str:
    """Data as HTML text: escaped, with control and bidi characters shown as escapes."""
    return html.escape(visible(text), quote=True)


def _h_source(url: Any) -> str:
    u = safe_url(url)
    if u:
        return f'<a href="{_h(u)}" rel="noopener noreferrer">source</a>'
    return f"source not a web link: {_h(url)}" if url else "no source"


_TD_NUM = '<td class="n">'


def _h_table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    num = set(numeric)
    out = ["<table><thead><tr>", *(f"<th>{_h(x)}</th>" for x in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join((_TD_NUM if i in num else "<td>") + f"{_h(c)}</td>"
                                    for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _h_deals(deals: Sequence[Mapping[str, Any]]) -> str:
    return ('<ul class="deals">' + "".join(f"<li>{_h(_deal_text(d))}: {_h_source(d.get('source_url'))}</li>"
                                           for d in deals) + "</ul>")


def brief_html(brief: Any) -> str:
    """The brief (a :class:`circfin.report.brief.Brief`) as HTML, every piece of data escaped."""
    from .brief import headline_rows, since_lines, title

    b = [f"<h2>{_h(title(brief))}</h2>",
         _h_table(("measure", "now", brief.quarter_ago, "change"), headline_rows(brief), numeric=[1, 2, 3]),
         "<h3>Top loops by risk score</h3>"]
    if brief.top_loops:
        b.append("<ol>" + "".join(f"<li>{_h(lp['sentence'])} <span class=\"muted\">(score "
                                  f"{lp['score']:.2f}, bottleneck {_h(money(lp['bottleneck_usd']))})</span></li>"
                                  for lp in brief.top_loops) + "</ol>")
    else:
        b.append("<p>No loops.</p>")
    b.append("<h3>Most self-funded</h3><p class=\"muted\">The share of a dollar passing through an "
             "entity that comes back to it, through any chain.</p>")
    if brief.self_funded:
        b.append(_h_table(("entity", "return share", "throughflow"),
                          [(str(r["name"]), f"{100 * float(r['return_share']):.1f}%",
                            money(r["throughflow_usd"])) for r in brief.self_funded], numeric=[1, 2]))
    else:
        b.append("<p>No entity gets money back.</p>" if brief.headline["fci"]["now"] is not None
                 else "<p>Not available.</p>")
    b.append("<h3>Since the last report</h3><ul>" + "".join(f"<li>{_h(x)}</li>" for x in since_lines(brief))
             + "</ul>")
    b += [f"<p class=\"muted\">Note: {_h(n)}.</p>" for n in brief.notes]
    return "".join(b)


def charts_html(charts: Sequence[tuple[str, bytes]]) -> str:
    """Charts as images inside the page: each SVG (``(title, svg bytes)``) as a data: URL of an
    ``<img>``, so the page still works offline, and an SVG runs no script and loads nothing
    (a browser shows an SVG image in its secure static mode; the page's policy allows data: images)."""
    import base64

    out = []
    for title, svg in charts:
        src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        out.append(f'<figure><img src="{src}" alt="{_h(title)}"><figcaption>{_h(title)}</figcaption></figure>')
    return "".join(out)


def report_html(data: Mapping[str, Any], graph_page_html: str,
                charts: Sequence[tuple[str, bytes]] = ()) -> str:
    """report.html: the brief, the summary, the charts (``(title, svg bytes)``), the graph page in
    a sandboxed iframe (no scripts of its own), the findings in short, then the appendices."""
    from .brief import Brief

    scripts, styles = page_policy()
    policy = csp(scripts, [*styles, csp_hash(_CSS)]) + "; frame-src 'self'"
    as_of = f", as of {_h(data['as_of'])}" if data.get("as_of") else ""
    b = [f"<h1>circfin report {_h(data['run'])}{as_of}</h1>",
         *(f'<p class="muted">{_h(x)}</p>' for x in _intro(data))]
    if data.get("brief"):
        b.append(brief_html(Brief.from_dict(data["brief"])))
    b += ["<h2>Summary</h2>", _h_table(("measure", "count", "counted how"), _summary_rows(data), numeric=[1])]
    if charts:
        b += ["<h2>Charts</h2>", charts_html(charts)]
    sens = _sensitivity(data)
    if sens:
        b += ["<h2>Significance across null models</h2>", _h_table(sens[0], sens[1])]
    b += ["<h2>Graph</h2>",
          '<p class="muted">New loops are highlighted. Hover or click for deals, amounts, dates and '
          'sources; filter by date and deal type on the right. The same page is in graph.html.</p>',
          f'<iframe title="financing graph" sandbox="allow-scripts allow-popups '
          f'allow-popups-to-escape-sandbox" srcdoc="{html.escape(graph_page_html, quote=True)}"></iframe>',
          f"<h2>Top loops by {_h(_rank_name(data))}</h2>"]
    if data["top_loops"]:
        b += [_h_table(("#", "loop", "key", "bottleneck", "flags"),
                       [(str(i), _path(lp["entities"]), lp["key"], money(lp["bottleneck_usd"]),
                         ", ".join(dict.fromkeys(f["name"] for f in lp.get("flags", []))) or "-")
                        for i, lp in enumerate(data["top_loops"], 1)], numeric=[0, 3]),
              '<p class="muted">Their legs, flags and deals are in appendix C.</p>']
    else:
        b.append("<p>No loops.</p>")
    b += [f"<h2>New loops ({len(data['new_loops'])})</h2>", f"<p>{_h(_new_note(data))}</p>",
          f"<h2>Changed loops ({len(data['changed_loops'])})</h2>"]
    if not data["changed_loops"]:
        b.append("<p>No loop grew, shrank or went away.</p>")
    else:
        b += [_h_table(("loop", "change", "last reported"), _compact_rows(data["changed_loops"], change=True)),
              '<p class="muted">Their legs before and after, and their deals, are in appendix B.</p>']
    cands = data.get("candidates") or []
    b += [f"<h2>Deal candidates from filings ({len(cands)} open, {sum(c['new'] for c in cands)} new)</h2>",
          f'<p class="muted">{_h(_CANDIDATES_NOTE)}</p>']
    if cands:
        b.append(_h_table(_CAND_HEAD, _cand_rows(cands), numeric=[4]))
    b += ["<h2>Concentration</h2>",
          '<p class="muted">Entities with more than one counterparty, most concentrated first.</p>',
          _h_table(_CONC_HEAD, _conc_rows(data["concentration"]), numeric=[2, 3, 5, 6]),
          "<h2>Self-funded demand</h2>", '<p class="muted">Inflows paid by entities the payee funded.</p>',
          _h_table(_OWN_HEAD, _own_rows(data["self_funded_demand"]), numeric=[1, 2, 3]),
          "<h2>Shock summary</h2>"]
    if data["shock"]["available"]:
        head, rows = _shock_table(data["shock"])
        b.append(_h_table(head, rows))
    else:
        b.append(f"<p>Shock summary {_h(data['shock']['note'])}.</p>")
    b += ["<h2>How to read this</h2>", f"<p>{_h(_METHOD)}</p>",
          f"<h2>Appendix A: new loops ({len(data['new_loops'])})</h2>"]
    if not data["new_loops"]:
        b.append("<p>No new loops.</p>")
    for i, lp in enumerate(data["new_loops"], 1):
        first, last = lp["date_span"]
        b += [f"<h3>A{i}. {_h(_path(lp['entities']))}</h3>",
              f"<p><code>{_h(lp['key'])}</code> · why: {_h('; '.join(lp['reasons']))} · bottleneck "
              f"{_h(money(lp['bottleneck_usd']))} · dates {_h(first or '?')} … {_h(last or '?')}</p>",
              _h_table(("leg", "total", "deals"), _leg_rows(lp), numeric=[1]), _h_deals(lp["deals"])]
    b.append(f"<h2>Appendix B: changed loops ({len(data['changed_loops'])})</h2>")
    if not data["changed_loops"]:
        b.append("<p>No loop grew, shrank or went away.</p>")
    for c in data["changed_loops"]:
        b += [f"<h3>{_h(_path(c['entities']))}: {_h(_CHANGE_WORDS[c['change']])}</h3>",
              f"<p><code>{_h(c['key'])}</code> · last reported {_h(c.get('last_seen') or '?')}</p>",
              _h_table(("leg", "before", "now", "deals added", "deals removed"), _change_rows(c),
                       numeric=[1, 2])]
        if c.get("reasons"):
            b.append("<ul>" + "".join(f"<li>{_h(r['deal_id'])}: {_h(r['reason'])}</li>"
                                      for r in c["reasons"]) + "</ul>")
        b.append(_h_deals(c["deals"]))
    b.append(f"<h2>Appendix C: top loops by {_h(_rank_name(data))}</h2>")
    for i, lp in enumerate(data["top_loops"], 1):
        b += [f"<h3>C{i}. {_h(_path(lp['entities']))}: {_h(money(lp['bottleneck_usd']))}</h3>",
              f"<p><code>{_h(lp['key'])}</code></p>",
              "".join(f"<p class=\"flag\"><strong>{_h(f['name'])}</strong> "
                      f"({_h(', '.join(f['deal_ids']))}): {_h(f['why'])}</p>"
                      for f in lp.get("flags", [])),
              _h_table(("leg", "total", "deals"), _leg_rows(lp), numeric=[1]), _h_deals(lp["deals"])]
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f'<meta http-equiv="Content-Security-Policy" content="{_h(policy)}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>circfin report {_h(data['run'])}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        "\n".join(b), "\n</body>\n</html>\n",
    ])
