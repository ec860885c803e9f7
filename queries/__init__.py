"""The Cypher catalogue: one query per .cypher file, loaded by name.

Every file opens with a comment header::

    // name: loops
    // description: what it answers
    // params: $a (...), $b (...)      or  (none)
    // bounds: *2..6 is replaced by ...   (only where a path-length bound varies)
    // returns: col1, col2, ...

The same text runs on Neo4j and FalkorDB, and a Neo4j Browser user can paste
it as it is (parameters set with ``:param``). Values always travel as
parameters; the one thing spliced into the text is a path-length bound,
which Cypher does not accept as a parameter, and only as checked integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = ["Query", "load", "names", "rollup_statements"]

_HEADER = re.compile(r"^//\s*(\w+):\s*(.*)$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_BOUND = re.compile(r"\*(\d+)\.\.(\d+)")


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    description: str
    params: tuple[str, ...]
    returns: tuple[str, ...]
    has_bounds: bool

    def bounded(self, min_len: int, max_len: int) -> str:
        """The text with its path-length bound set to min_len..max_len relationships."""
        if not self.has_bounds:
            raise ValueError(f"query {self.name!r} has no path-length bound")
        if not (isinstance(min_len, int) and isinstance(max_len, int)) \
                or isinstance(min_len, bool) or isinstance(max_len, bool):
            raise TypeError("path-length bounds must be integers")
        if not 1 <= min_len <= max_len <= 12:
            raise ValueError(f"path-length bounds {min_len}..{max_len} outside 1..12")
        lines = self.text.splitlines(keepends=True)
        hits = [i for i, line in enumerate(lines)
                if not line.lstrip().startswith("//") and _BOUND.search(line)]
        if len(hits) != 1:
            raise ValueError(f"query {self.name!r} must have exactly one *min..max bound")
        i = hits[0]
        lines[i] = _BOUND.sub(f"*{min_len}..{max_len}", lines[i], count=1)
        return "".join(lines)


    def on_relationship(self, text: str, rel: str) -> str:
        """``text`` walking ``rel`` instead of PAYS (e.g. PAYS_TOP for roll-ups); ``rel``
        must be a whitelisted relationship type."""
        from ..graph.schema import rel_type

        rel_type(rel)  # refuses anything not whitelisted
        out = []
        for line in text.splitlines(keepends=True):
            if not line.lstrip().startswith("//"):
                line = _PAYS.sub(f":{rel}", line)
            out.append(line)
        return "".join(out)


_PAYS = re.compile(r":PAYS(?=[\]*\s{])")


def _parse(name: str, text: str) -> Query:
    meta: dict[str, str] = {}
    for line in text.splitlines():
        m = _HEADER.match(line.strip())
        if not m:
            break
        meta[m.group(1)] = m.group(2).strip()
    if meta.get("name") != name:
        raise ValueError(f"{name}.cypher: header 'name:' must be {name!r}")
    for key in ("description", "params", "returns"):
        if key not in meta:
            raise ValueError(f"{name}.cypher: header lacks '{key}:'")
    declared = tuple(dict.fromkeys(_PARAM.findall(meta["params"])))
    returns = tuple(c.strip() for c in meta["returns"].split(",") if c.strip())
    return Query(name=name, text=text, description=meta["description"], params=declared,
                 returns=returns, has_bounds="bounds" in meta)


@cache
def load(name: str) -> Query:
    """The catalogue query called ``name`` (a .cypher file in this package)."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"bad query name {name!r}")
    path = files(__package__) / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no query {name!r}; known: {', '.join(names())}")
    return _parse(name, path.read_text(encoding="utf-8"))


def names() -> list[str]:
    """Every query in the catalogue, sorted."""
    return sorted(p.name[: -len(".cypher")] for p in files(__package__).iterdir()
                  if p.name.endswith(".cypher"))


def rollup_statements(deal_ids: list[str] | None = None, *,
                      batch_size: int = 2000) -> list[tuple[str, dict[str, object]]]:
    """Keep the derived PAYS_TOP relationships (loops with roll-up) current: written
    last in the same atomic write as every ingest and delete.

    ``deal_ids`` None: rebuild all of them (a parent link changed, or the graph
    has none yet). Else only those deals' (the deals the write adds, changes or
    deletes): each loses its PAYS_TOP and gets it again from the graph as the
    write leaves it, which is what a whole rebuild gives when no parent link
    changed (each PAYS_TOP hangs on one deal and the parent links alone).

    >>> [q.split()[2] for q, _ in rollup_statements(["d1", "d2", "d3"], batch_size=2)]
    ['clear_rollup_deals', 'build_rollup_deals', 'clear_rollup_deals', 'build_rollup_deals']
    """
    if deal_ids is None:
        return [(load("clear_rollup").text, {}), (load("build_rollup").text, {})]
    ids = sorted(set(deal_ids))
    out: list[tuple[str, dict[str, object]]] = []
    for i in range(0, len(ids), batch_size):
        chunk = ids[i:i + batch_size]
        out += [(load("clear_rollup_deals").text, {"ids": chunk}),
                (load("build_rollup_deals").text, {"ids": chunk})]
    return out
