"""A Neo4j Browser kit: a style sheet, the query catalogue as favourites and a guide.

``browser_kit(out_dir, store_spec)`` writes::

    circfin.grass            Graph Style Sheet: drag it onto Browser (or `:style` it)
    favorites/*.cypher       one favourite per read-only catalogue query, :param lines first
    circfin-favorites.zip    the same, for Favorites -> Import in one go
    guide.html               a Browser guide (`:play <url>`) with every query runnable
    README.md                how to use the kit

and returns where Neo4j Browser is for that store. Browser styles by label
and relationship type only, never by property value, so entity *kinds* (a
property) cannot be coloured in Browser; the kit colours circfin's labels and
captions entities with their name and PAYS with the deal amount. The embedded
FalkorDB has no Neo4j Browser: the kit says so, and points at the graph page.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .. import queries
from ..analytics.measures import FUNDING_TYPES, PURCHASE_TYPES
from ..errors import InputError
from ..graph.model import DEAL_STATUSES
from ..safe import atomic_write_many, check_folder, visible
from ..store.base import FALKOR_SCHEMES, NEO4J_SCHEMES, redact
from .graph_page import KIND_COLOURS

__all__ = ["BrowserKit", "PARAM_EXAMPLES", "browser_kit", "browser_url", "cypher_literal",
           "read_only_queries"]

# Example values for the catalogue's parameters, from the seed dataset.
PARAM_EXAMPLES: dict[str, Any] = {
    "entity": "nvidia",
    "key": "nvidia>openai>oracle",
    "statuses": [s for s in DEAL_STATUSES if s != "cancelled"],
    "confidences": None,  # e.g. ['high', 'medium'] (--min-confidence medium); null: every deal
    "types": None,
    "min_amount": None,
    "since": None,
    "until": None,
    "within": None,
    "ordered": False,
    "as_of": None,  # a day number (days since 1970-01-01); null: every deal, current statuses
    "funding_types": list(FUNDING_TYPES),
    "purchase_types": list(PURCHASE_TYPES),
    "ids": ["D068"],
    "keys": ["nvidia>openai>oracle"],
    "limit": 300,
}

_WRITES = re.compile(r"\b(CREATE|MERGE|DELETE|DETACH|SET|REMOVE|FOREACH|LOAD\s+CSV|CALL)\b", re.I)


@dataclass(frozen=True)
class BrowserKit:
    """What :func:`browser_kit` wrote, and where Neo4j Browser is (None without Neo4j)."""

    url: str | None
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "out_dir": str(self.out_dir),
                "files": [str(f) for f in self.files], "note": self.note}


def cypher_literal(v: Any) -> str:
    """A Python value as a Cypher literal for a ``:param`` line.

    >>> cypher_literal(["a'b", None, 3, True])
    "['a\\\\'b', null, 3, true]"
    """
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(cypher_literal(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"`{k}`: {cypher_literal(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no Cypher literal for {type(v).__name__}")


def _body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def read_only_queries() -> list[queries.Query]:
    """The catalogue queries that only read: the ones worth a Browser favourite."""
    return [q for q in map(queries.load, queries.names()) if not _WRITES.search(_body(q.text))]


def browser_url(store_spec: str | None) -> tuple[str | None, str]:
    """Neo4j Browser's URL for a store spec, and a note for people; never with a password."""
    spec = (store_spec or "embedded").strip()
    if spec == "embedded":
        return None, ("The embedded FalkorDB has no Neo4j Browser: Browser talks only to Neo4j. "
                      "Load the same data into Neo4j (circfin --store bolt://host:7687 seed) to use "
                      "this kit there, or explore here with `circfin graph --out graph.html`; the "
                      "catalogue queries also run as they are on FalkorDB (redis-cli GRAPH.RO_QUERY).")
    parts = urlsplit(spec)
    scheme = parts.scheme.lower()
    if scheme in FALKOR_SCHEMES:
        return None, (f"{redact(spec)} is a FalkorDB server: Neo4j Browser needs a Neo4j store. "
                      "Use `circfin graph --out graph.html`, or FalkorDB's own tools, with the "
                      "same catalogue queries.")
    if scheme not in NEO4J_SCHEMES:
        raise InputError(f"unknown store {redact(spec)!r}: use 'embedded', a Neo4j URI or a FalkorDB URI")
    host = parts.hostname or "localhost"
    netloc = f"[{host}]" if ":" in host else host
    bolt = f"{scheme}://{netloc}" + (f":{parts.port}" if parts.port else "")
    if host.endswith(".databases.neo4j.io"):  # Aura: Browser is hosted, not on the database host
        return (f"https://browser.neo4j.io/?dbms={quote(bolt, safe='')}",
                "Neo4j Aura: open Browser (or the Aura console's Query tool) and log in.")
    secure = scheme.endswith("+s") or scheme.endswith("+ssc")
    web = f"{'https' if secure else 'http'}://{netloc}:{7473 if secure else 7474}/browser/"
    return (f"{web}?dbms={quote(bolt, safe='')}",
            "Neo4j Browser on the server's default HTTP port; if it is elsewhere, use your "
            "server's `server.http.listen_address`.")


def _grass() -> str:
    lines = [
        "/* circfin's Graph Style Sheet for Neo4j Browser: drag this file onto Browser.",
        "   Browser styles by label and relationship type only (not by property), so an",
        "   entity's kind shows in its properties, not its colour; the graph page",
        "   (`circfin graph`) colours by kind. */",
        "node { diameter: 50px; color: #A5ABB6; border-color: #9AA1AC; border-width: 2px;",
        "  text-color-internal: #FFFFFF; font-size: 10px; }",
        "relationship { color: #A5ABB6; shaft-width: 1px; font-size: 8px; padding: 3px;",
        "  text-color-external: #000000; text-color-internal: #FFFFFF; caption: '<type>'; }",
        "node.Entity { color: #4e79a7; border-color: #3b6190; text-color-internal: #FFFFFF;",
        "  diameter: 65px; caption: '{name}'; }",
        "node.Deal { color: #edc948; border-color: #c9a92f; text-color-internal: #1d2330;",
        "  diameter: 40px; caption: '{id}'; }",
        "node.Loop { color: #e15759; border-color: #b94446; text-color-internal: #FFFFFF;",
        "  diameter: 55px; caption: '{key}'; }",
        "node.ReportRun { color: #bab0ac; border-color: #9a918d; text-color-internal: #1d2330;",
        "  diameter: 45px; caption: '{at}'; }",
        "relationship.PAYS { color: #e15759; shaft-width: 3px; caption: '{amount_usd}'; }",
        "relationship.MADE { color: #9c755f; shaft-width: 1px; caption: '<type>'; }",
        "relationship.TO { color: #9c755f; shaft-width: 1px; caption: '<type>'; }",
        "relationship.PART_OF { color: #76b7b2; shaft-width: 2px; caption: '<type>'; }",
        "relationship.THROUGH { color: #f28e2b; shaft-width: 2px; caption: '{amount_usd}'; }",
        "relationship.HAS_DEAL { color: #bab0ac; shaft-width: 1px; caption: '<type>'; }",
    ]
    return "\n".join(lines) + "\n"


def _favorite(q: queries.Query) -> str:
    lines = [f"// circfin: {q.name}", f"// {q.description}"]
    if q.has_bounds:
        lines.append("// The *min..max path-length bound is a literal: edit it in the query.")
    for p in q.params:
        lines.append(f":param {p} => {cypher_literal(PARAM_EXAMPLES.get(p))};")
    body = _body(q.text).strip()
    lines += [body if body.endswith(";") else body + ";"]
    return "\n".join(lines) + "\n"


def _guide(qs: list[queries.Query], url: str | None) -> str:
    def slide(title: str, lead: str, inner: str) -> str:
        return ('<slide class="row-fluid">\n<div class="col-sm-3">\n'
                f"<h3>{html.escape(title)}</h3>\n<p class=\"lead\">{html.escape(lead)}</p>\n</div>\n"
                f'<div class="col-sm-9">\n{inner}\n</div>\n</slide>\n')

    kinds = ", ".join(f"{k}" for k in KIND_COLOURS)
    intro = (
        "<p>Every deal is stored twice: <code>(:Entity)-[:PAYS]-&gt;(:Entity)</code> for the money "
        "flow, and <code>(:Entity)-[:MADE]-&gt;(:Deal)-[:TO]-&gt;(:Entity)</code> with the source "
        "URL, confidence and description. Reports record <code>(:ReportRun)</code> and "
        "<code>(:Loop)-[:THROUGH]-&gt;(:Entity)</code>.</p>"
        "<p>Drag <code>circfin.grass</code> onto Browser for circfin's colours and captions. Entity "
        f"kinds ({html.escape(kinds)}) are a property: Browser colours by label only.</p>"
        "<p>Each query below has its parameters first: click a block to put it in the editor.</p>")
    if url:
        intro += f"<p>This store's Browser: <code>{html.escape(url)}</code></p>"
    slides = [slide("circfin", "Circular financing in the AI build-out", intro)]
    for q in qs:
        params = "".join(f"<pre class=\"pre-scrollable code runnable\">:param {html.escape(p)} =&gt; "
                         f"{html.escape(cypher_literal(PARAM_EXAMPLES.get(p)))}</pre>\n" for p in q.params)
        inner = (f"<p>{html.escape(q.description)}</p>\n{params}"
                 f"<pre class=\"pre-scrollable code runnable\">{html.escape(_body(q.text).strip())}</pre>\n"
                 f"<p>Returns: {html.escape(', '.join(q.returns))}</p>")
        slides.append(slide(q.name, q.name.replace("_", " "), inner))
    return ('<article class="guide">\n<carousel class="deck container-fluid">\n'
            + "".join(slides) + "</carousel>\n</article>\n")


def _readme(url: str | None, note: str) -> str:
    where = f"Neo4j Browser for this store: {url}\n\n" if url else ""
    return f"""# circfin's Neo4j Browser kit

{where}{note}

- **Style**: drag `circfin.grass` onto the Browser window (or run `:style` and paste it).
  Entities show their name, PAYS relationships the deal amount in USD. Browser colours by
  label, not by property, so entity kinds are not colours here (the graph page from
  `circfin graph` colours them).
- **Favourites**: in the Favorites drawer, *Import* `circfin-favorites.zip` (or single files
  from `favorites/`). Each favourite sets its parameters with `:param` lines and then runs its
  query; path-length bounds such as `*2..6` are literals to edit in place.
- **Guide**: serve this folder (`python3 -m http.server 8001 --directory .`), add `localhost`
  to the server's `browser.remote_content_hostname_allowlist`, then in Browser run
  `:play http://localhost:8001/guide.html`.

Good first queries: `browser_web` (the whole web), `browser_loop` with
`:param key => 'nvidia>openai>oracle'` (one loop), `loops_through` with
`:param entity => 'nvidia'` (RETURN p draws every loop through Nvidia), `browser_loop_deals`
(click through company, deal, company to the source URLs), `browser_new_loops` (what the
latest `circfin report` found).
"""


def browser_kit(out_dir: Path | str, store_spec: str | None = None) -> BrowserKit:
    """Write the Browser kit into ``out_dir`` and say where Browser is for ``store_spec``.

    Example: ``browser_kit("kit/", "bolt://localhost:7687").url``
    """
    url, note = browser_url(store_spec)
    out = Path(out_dir)
    qs = read_only_queries()
    favs = [(f"favorites/{q.name}.cypher", _favorite(q)) for q in qs]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, text in favs:
            z.writestr(rel.split("/", 1)[1], text)
    files: dict[Path | str, str | bytes] = {out / "circfin.grass": _grass()}
    files.update((out / rel, text) for rel, text in favs)
    files[out / "circfin-favorites.zip"] = zipped.getvalue()
    files[out / "guide.html"] = _guide(qs, url)
    files[out / "README.md"] = _readme(url, note)
    # Refuse a symlink, device or folder where a file goes; write each file whole.
    check_folder(out, "--out", doing="write the Browser kit into")
    check_folder(out / "favorites", "--out", doing="write the Browser kit into")
    try:
        (out / "favorites").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write the Browser kit into {visible(out)}: {e.strerror or e}; "
                         f"choose another --out") from None
    written = atomic_write_many(files, "--out")
    return BrowserKit(url=url, out_dir=out, files=written, note=note)
