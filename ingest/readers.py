"""Read circfin's input tables from CSV, JSON and YAML files.

The tables (graph.model.TABLES) are told apart by their columns: deals,
entities, participants, sources, events, financials, holdings and assets.

Readers check structure only (encoding, header, shape) and keep every row's
line number as an editor shows it (a CSV header is line 1), so validation
can point at the exact file, line and field. Values come out as stripped
strings, or None for empty cells; in JSON and YAML an ``aliases`` list stays a
list (each item one alias, kept whole), only a string is split on ``;`` later.

A key given twice in one JSON object or YAML mapping is refused (the last value
would silently win), and so is a file with a header but no rows.

JSON and YAML files hold either a list of row objects (one table, told apart
by its columns) or an object of tables ``{"entities": [...], "deals": [...], ...}``.
YAML anchors and aliases are refused: they are how "billion laughs" bombs
expand a small file into gigabytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from ..errors import RowError
from ..graph.model import TABLES

# The columns a JSON or YAML row may give as a list of strings (CSV: ';'-separated).
_LIST_COLUMNS = frozenset({"aliases", "tickers", "cusips"})

__all__ = ["MAX_FIELD_CHARS", "MAX_FILE_BYTES", "RawRow", "RawTable", "SUFFIXES", "read_file"]

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_FIELD_CHARS = 100_000
SUFFIXES = (".csv", ".json", ".yaml", ".yml")

TABLE_COLUMNS = dict(TABLES)
# Columns a file must have; the rest may be left out.
REQUIRED = {
    "deals": ("deal_id", "date", "payer", "payee", "type", "amount_usd", "status",
              "source_url", "confidence"),
    "entities": ("entity_id", "name", "kind"),
    "participants": ("deal_id", "side", "member"),
    "sources": ("deal_id", "url"),
    "events": ("deal_id", "date", "status"),
    "financials": ("entity_id", "as_of"),
    "holdings": ("holder", "asset", "as_of", "value_usd", "source_url"),
    "assets": ("asset_id", "name", "class"),
}
# How a table is told from the others by its columns: the first rule that holds.
_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("deals", frozenset({"deal_id", "payer"})),
    ("participants", frozenset({"deal_id", "member"})),
    ("sources", frozenset({"deal_id", "url"})),
    ("events", frozenset({"deal_id", "status"})),
    ("entities", frozenset({"entity_id", "name"})),
    ("financials", frozenset({"entity_id", "as_of"})),
    ("holdings", frozenset({"holder", "asset"})),
    ("assets", frozenset({"asset_id", "class"})),
)
_KEYS = ", ".join(f"'{k}'" for k in TABLE_COLUMNS)
_TABLE_HINT = ("a table is told by its columns: deals (deal_id, payer, ...), participants "
               "(deal_id, member, ...), sources (deal_id, url, ...), events (deal_id, status, ...), "
               "entities (entity_id, name, ...), financials (entity_id, as_of, ...), holdings (holder, "
               "asset, ...), assets (asset_id, class, ...)")


@dataclass
class RawRow:
    path: str
    line: int
    values: dict[str, str | list[str] | None]  # a list only for aliases given as a list


@dataclass
class RawTable:
    path: str
    kind: str  # a key of graph.model.TABLES: "deals", "entities", "participants", ...
    rows: list[RawRow] = field(default_factory=list)


class _FileProblems(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors


def _text(path: Path) -> str:
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise _FileProblems([RowError(name, None, None, f"cannot read: {e.strerror}")]) from e
    if size > MAX_FILE_BYTES:
        raise _FileProblems([RowError(name, None, None, f"file is {size / 2**20:.0f} MiB; "
                                      f"the limit is {MAX_FILE_BYTES // 2**20} MiB, split it")])
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _FileProblems([RowError(name, 1, None, "file is UTF-16; save it as UTF-8")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark, as spreadsheet programs write
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _FileProblems([RowError(name, line, None, "contains a NUL byte; not a text file")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise _FileProblems([RowError(name, line, None,
                                      f"not UTF-8 (byte 0x{data[e.start]:02x}); save the file as UTF-8")]) from e


# What surrounding whitespace is stripped: spaces, tabs, line ends and Unicode space
# separators. Not str.strip()'s whole set, which also takes the C0 separators
# U+001C-U+001F and U+0085 (controls): those stay, and validation refuses them.
_EDGE_SPACE = (" \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
               "\u2009\u200a\u202f\u205f\u3000")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip(_EDGE_SPACE)
    return s or None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook: a JSON object with a key twice is refused, not last-wins."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _duplicate_line(text: str, pos: int, key: str, default: int) -> int:
    """The line of the second ``"key":`` at or after pos (best effort: a key written
    with escapes is not found, and the row's first line is named instead)."""
    pat = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"[ \t\n\r]*:")
    hits = pat.finditer(text, pos)
    next(hits, None)
    second = next(hits, None)
    return text.count("\n", 0, second.start()) + 1 if second else default


def _kind_of(path: str, line: int, columns: list[str]) -> str:
    has = set(columns)
    if not ("deal_id" in has and "entity_id" in has):
        for kind, needs in _SIGNATURES:
            if needs <= has:
                return kind
    raise _FileProblems([RowError(path, line, None, f"cannot tell which table this is: {_TABLE_HINT}")])


def _check_columns(path: str, line: int, kind: str, columns: list[str]) -> list[RowError]:
    errs: list[RowError] = []
    seen: set[str] = set()
    allowed = TABLE_COLUMNS[kind]
    for c in columns:
        if c in seen:
            errs.append(RowError(path, line, c, "column appears twice"))
        seen.add(c)
        if c not in allowed:
            errs.append(RowError(path, line, c, f"unknown {kind} column; expected: {', '.join(allowed)}"))
    for c in REQUIRED[kind]:
        if c not in seen:
            errs.append(RowError(path, line, c, f"missing required {kind} column"))
    return errs


def _read_csv(path: Path) -> list[RawTable]:
    name = str(path)
    text = _text(path)
    if not text.strip():
        raise _FileProblems([RowError(name, None, None, "file is empty")])
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise _FileProblems([RowError(name, 1, None, f"bad CSV header: {e}")]) from e
    columns = [c.strip() for c in header]
    kind = _kind_of(name, 1, columns)
    errs = _check_columns(name, 1, kind, columns)
    if errs:
        raise _FileProblems(errs)
    table = RawTable(name, kind)
    row_errors: list[RowError] = []
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            msg = str(e)
            if "field larger than field limit" in msg:
                msg = f"a field is longer than {MAX_FIELD_CHARS} characters"
            row_errors.append(RowError(name, start, None, f"bad CSV: {msg}"))
            break  # the reader cannot resynchronise after a broken row
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) != len(columns):
            row_errors.append(RowError(name, line, None,
                                       f"has {len(row)} fields, the header has {len(columns)}"))
            continue
        # _clean of each cell (a CSV cell is always text)
        table.rows.append(RawRow(name, line, dict(zip(columns, [v.strip(_EDGE_SPACE) or None for v in row],
                                                      strict=True))))
    if row_errors:
        raise _FileProblems(row_errors)
    if not table.rows:
        raise _FileProblems([RowError(name, None, None,
                                      "has a header but no rows; a data file must hold at least one row")])
    return [table]


def _scalar_json(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _json_rows(name: str, text: str, pos: int, decoder: json.JSONDecoder,
               key: str | None) -> tuple[list[tuple[int, Any]], int]:
    """Decode the array starting at text[pos] == '[' element by element,
    remembering the line each element starts on."""
    items: list[tuple[int, Any]] = []
    pos += 1
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text, pos).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return items, pos + 1
    while True:
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except RecursionError as e:
            raise _FileProblems([RowError(name, line, key, "JSON nested too deeply")]) from e
        except json.JSONDecodeError as e:
            raise _FileProblems([RowError(name, e.lineno, key, f"bad JSON: {e.msg}")]) from e
        except _DuplicateKey as e:
            raise _FileProblems([RowError(name, _duplicate_line(text, pos, e.key, line), e.key[:80],
                                          "appears twice in one object; the first value would be "
                                          "silently lost, so give each key once")]) from e
        except ValueError as e:  # e.g. an integer past Python's digit limit
            raise _FileProblems([RowError(name, line, key, f"bad JSON: {e}")]) from e
        items.append((line, value))
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("]", pos):
            return items, pos + 1
        line = text.count("\n", 0, pos) + 1
        raise _FileProblems([RowError(name, line, key, "bad JSON: expected ',' or ']'")])


def _read_json(path: Path) -> list[RawTable]:
    name = str(path)
    text = _text(path)
    if not text.strip():
        raise _FileProblems([RowError(name, None, None, "file is empty")])
    # Numbers stay as written (exact decimals, no float rounding, no digit limits);
    # validation parses them like CSV text.
    decoder = json.JSONDecoder(parse_constant=lambda c: math.nan, parse_int=str, parse_float=str,
                               object_pairs_hook=_unique_pairs)
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text).end()  # type: ignore[union-attr]
    sections: list[tuple[str | None, list[tuple[int, Any]]]] = []
    if text.startswith("[", pos):
        items, pos = _json_rows(name, text, pos, decoder, None)
        sections.append((None, items))
    elif text.startswith("{", pos):
        pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
        while not text.startswith("}", pos):
            line = text.count("\n", 0, pos) + 1
            try:
                key, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                raise _FileProblems([RowError(name, e.lineno, None, f"bad JSON: {e.msg}")]) from e
            if key not in TABLE_COLUMNS:
                raise _FileProblems([RowError(name, line, str(key)[:80],
                                              f"unknown key; a JSON object may hold {_KEYS}")])
            if any(k == key for k, _ in sections):
                raise _FileProblems([RowError(name, line, key, "appears twice in the object; "
                                              f"give each of {_KEYS} once")])
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if not text.startswith(":", pos):
                raise _FileProblems([RowError(name, line, key, "bad JSON: expected ':'")])
            pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
            if not text.startswith("[", pos):
                raise _FileProblems([RowError(name, text.count("\n", 0, pos) + 1, key,
                                              f"'{key}' must be a list of objects")])
            items, pos = _json_rows(name, text, pos, decoder, key)
            sections.append((key, items))
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
        pos += 1
    else:
        raise _FileProblems([RowError(name, text.count("\n", 0, pos) + 1, None,
                                      "JSON must be a list of rows or an object of tables ('entities', 'deals', ...)")])
    pos = ws.match(text, pos).end()  # type: ignore[union-attr]
    if text[pos:].strip():
        raise _FileProblems([RowError(name, text.count("\n", 0, pos) + 1, None,
                                      "bad JSON: extra data after the end")])
    return _tables(name, [_table_from_items(name, kind, items, "JSON") for kind, items in sections])


def _tables(name: str, tables: list[RawTable]) -> list[RawTable]:
    if not any(t.rows for t in tables):
        raise _FileProblems([RowError(name, None, None, "file holds no rows")])
    return tables


def _table_from_items(name: str, kind: str | None, items: list[tuple[int, Any]],
                      fmt: str) -> RawTable:
    errs: list[RowError] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, item in items:
        if not isinstance(item, dict):
            errs.append(RowError(name, line, None, f"each row must be a {fmt} object"))
            continue
        rows.append((line, item))
    if errs:
        raise _FileProblems(errs)
    if kind is None:
        if not rows:
            raise _FileProblems([RowError(name, None, None, "file holds no rows")])
        kind = _kind_of(name, rows[0][0], list(rows[0][1]))
    table = RawTable(name, kind)
    for line, item in rows:
        keys = [str(k) for k in item]
        errs.extend(e for e in _check_columns(name, line, kind, keys)
                    if not (e.message.startswith("missing") and e.field not in REQUIRED[kind]))
        values: dict[str, str | list[str] | None] = {c: None for c in TABLE_COLUMNS[kind]}
        for k, v in item.items():
            k = str(k)
            if k in _LIST_COLUMNS and isinstance(v, list):
                if not all(isinstance(a, str) or a is None for a in v):
                    errs.append(RowError(name, line, k, "must be a string or a list of strings"))
                elif any(a is not None and len(a) > MAX_FIELD_CHARS for a in v):
                    errs.append(RowError(name, line, k, f"longer than {MAX_FIELD_CHARS} characters"))
                else:
                    values[k] = [_clean(a) or "" for a in v]  # each item one alias, kept whole
                continue
            if not _scalar_json(v):
                errs.append(RowError(name, line, k, "must be a single value, not a list or object"))
                continue
            if isinstance(v, bool):
                errs.append(RowError(name, line, k, "must not be true/false"))
                continue
            if isinstance(v, float) and not math.isfinite(v):
                errs.append(RowError(name, line, k, "must be a finite number"))
                continue
            if isinstance(v, str) and len(v) > MAX_FIELD_CHARS:
                errs.append(RowError(name, line, k, f"longer than {MAX_FIELD_CHARS} characters"))
                continue
            values[k] = _clean(v)
        table.rows.append(RawRow(name, line, values))
    if errs:
        raise _FileProblems(errs)
    return table


# PyYAML's stubs leave Parser.peek_event untyped; it returns the next event without consuming it.
_peek_event: Callable[[yaml.SafeLoader], yaml.events.Event] = yaml.SafeLoader.peek_event


def _start_mark(event: yaml.events.Event) -> yaml.error.Mark | None:
    """Where the event starts. The pure-Python SafeLoader only makes yaml.error.Mark; the
    stubs also allow libyaml's Mark there, which ComposerError's stub does not accept."""
    return cast("yaml.error.Mark | None", event.start_mark)


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = _peek_event(self)
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed",
                                              _start_mark(event))
        event = _peek_event(self)
        if getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(None, None, "YAML anchors are not allowed",
                                              _start_mark(event))
        return super().compose_node(parent, index)


def _yaml_value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.style is None and node.value in ("", "~", "null", "Null", "NULL"):
            return None
        return node.value  # as written: YAML's type guessing would turn 2024-01-02 into a date
    if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.ScalarNode) for n in node.value):
        return [_yaml_value(n) for n in node.value]
    return node  # nested structure: rejected by the caller


def _read_yaml(path: Path) -> list[RawTable]:
    name = str(path)
    text = _text(path)
    if not text.strip():
        raise _FileProblems([RowError(name, None, None, "file is empty")])
    try:
        root = yaml.compose(text, Loader=_NoAliasLoader)
    except RecursionError as e:
        raise _FileProblems([RowError(name, None, None, "YAML nested too deeply")]) from e
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise _FileProblems([RowError(name, line, None, f"bad YAML: {e.problem}")]) from e
    except yaml.YAMLError as e:
        raise _FileProblems([RowError(name, None, None, f"bad YAML: {e}")]) from e
    if root is None:
        raise _FileProblems([RowError(name, None, None, "file is empty")])

    def items_of(seq: yaml.Node, key: str | None) -> list[tuple[int, Any]]:
        if not isinstance(seq, yaml.SequenceNode):
            raise _FileProblems([RowError(name, seq.start_mark.line + 1, key,
                                          "must be a list of rows")])
        out: list[tuple[int, Any]] = []
        for item in seq.value:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                out.append((line, None))
                continue
            row: dict[str, Any] = {}
            for k, v in item.value:
                if not isinstance(k, yaml.ScalarNode):
                    raise _FileProblems([RowError(name, k.start_mark.line + 1, None,
                                                  "keys must be plain names")])
                if k.value in row:
                    raise _FileProblems([RowError(name, k.start_mark.line + 1, k.value[:80],
                                                  "appears twice in one mapping; the first value would "
                                                  "be silently lost, so give each key once")])
                val = _yaml_value(v)
                if isinstance(val, yaml.Node):
                    raise _FileProblems([RowError(name, v.start_mark.line + 1, k.value,
                                                  "must be a single value, not a list or mapping")])
                row[k.value] = val
            out.append((line, row))
        return out

    if isinstance(root, yaml.SequenceNode):
        return _tables(name, [_table_from_items(name, None, items_of(root, None), "YAML")])
    if isinstance(root, yaml.MappingNode):
        tables: list[RawTable] = []
        for k, v in root.value:
            key = getattr(k, "value", None)
            if key not in TABLE_COLUMNS:
                raise _FileProblems([RowError(name, k.start_mark.line + 1, str(key)[:80],
                                              f"unknown key; a YAML mapping may hold {_KEYS}")])
            if any(t.kind == key for t in tables):
                raise _FileProblems([RowError(name, k.start_mark.line + 1, key, "appears twice in the "
                                              f"mapping; give each of {_KEYS} once")])
            tables.append(_table_from_items(name, key, items_of(v, key), "YAML"))
        return _tables(name, tables)
    raise _FileProblems([RowError(name, root.start_mark.line + 1, None,
                                  "YAML must be a list of rows or a mapping of tables ('entities', 'deals', ...)")])


def read_file(path: Path | str) -> tuple[list[RawTable], list[RowError]]:
    """The tables in one file, or the structural problems that stop it being read."""
    path = Path(path)
    suffix = path.suffix.lower()
    readers = {".csv": _read_csv, ".json": _read_json, ".yaml": _read_yaml, ".yml": _read_yaml}
    reader = readers.get(suffix)
    if reader is None:
        return [], [RowError(str(path), None, None,
                             f"unknown file type {suffix or '(none)'}; use .csv, .json, .yaml or .yml")]
    try:
        return reader(path), []
    except _FileProblems as e:
        return [], e.errors
