"""The field rules every input table shares: characters, ids, choices, URLs,
names, money and dates, each turning a raw cell into a value or a
``file:line: field`` error. ingest/validate.py (entities, deals) and
ingest/links.py (participants, sources, events, financials) both use them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from ..errors import RowError
from ..graph.model import date_bounds
from .readers import RawRow

__all__ = ["MAX_NAME", "MAX_TEXT", "MAX_USD", "forbidden_char", "parse_money"]

MAX_USD = Decimal(10) ** 15  # a quadrillion dollars: anything above is a typo
MAX_NAME = 500
MAX_TEXT = 10_000
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
_URL_RE = re.compile(r"https?://[^\s]{1,2000}")
_DATE_RE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_NUMBER_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_EPOCH = _dt.date(1970, 1, 1)
_MULTILINE = frozenset({"description"})  # the free-text fields that may hold \n and \t

# Characters no field may hold: C0 controls but tab and line feed, DEL, C1 controls,
# the bidirectional controls, line/paragraph separators and unpaired surrogates.
_NEVER = (r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
          r"\u2066-\u2069\ud800-\udfff")
_BAD_IN_LINE = re.compile(rf"[\t\n{_NEVER}]")
_BAD_IN_TEXT = re.compile(rf"[{_NEVER}]")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

def forbidden_char(text: str, *, multiline: bool = False) -> str | None:
    """What is wrong with a field's text, or None: see the module docstring.

    >>> forbidden_char("Nvidia") is None
    True
    >>> forbidden_char("https://x.org/a\\x00")
    'contains the control character U+0000 (character 16); remove it'
    >>> forbidden_char("two\\nlines"), forbidden_char("two\\nlines", multiline=True)
    ('contains a line break (U+000A, character 4); this field must be one line', None)
    """
    m = (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(text)
    if m is None:
        return None
    c, at = m.group(), m.start() + 1
    cp = f"U+{ord(c):04X}"
    if c == "\t":
        return f"contains a tab ({cp}, character {at}); this field must be one line"
    if c in "\n\r\u2028\u2029" or (c == "\x0b" or c == "\x0c"):
        if multiline and c == "\r":
            return (f"contains a carriage return ({cp}, character {at}) without a line feed; "
                    "end lines with LF or CRLF")
        return f"contains a line break ({cp}, character {at}); this field must be one line"
    if c in _BIDI:
        return (f"contains the invisible bidirectional control {cp} "
                f"({unicodedata.name(c, 'bidi control')}, character {at}), which makes text "
                "display differently from what it is; remove it")
    if "\ud800" <= c <= "\udfff":
        return f"contains an unpaired surrogate {cp} (character {at}); not valid Unicode text"
    return f"contains the control character {cp} (character {at}); remove it"


def parse_money(text: str, *, signed: bool = False) -> int | float:
    """A US dollar amount: ASCII digits, optional decimals or exponent.

    Amounts are not negative, except with ``signed`` (a company's book equity,
    which buy-backs or losses can take below zero).

    >>> parse_money("1500000000"), parse_money("1.5e9"), parse_money("12.50")
    (1500000000, 1500000000, 12.5)
    >>> parse_money("-1.5e9", signed=True)
    -1500000000
    """
    t = text.strip()
    if t.isdigit() and t.isascii() and len(t) <= 15:  # the common case: a whole number below 10^15
        return int(t)
    shown = repr(t if len(t) <= 40 else t[:37] + "...")
    if "," in t:
        raise ValueError(f"{shown}: write amounts without thousands separators")
    body = t[1:] if t[:1] == "-" else t
    if body.lower() in ("inf", "infinity", "nan", "snan", "+inf", "+infinity", "+nan"):
        raise ValueError(f"{shown} is not a finite number")
    if not _NUMBER_RE.fullmatch(body):
        if "_" in t:
            raise ValueError(f"{shown}: write amounts without '_' separators")
        if any(c.isdigit() and not c.isascii() for c in t):
            raise ValueError(f"{shown} is not a number: write digits as ASCII 0-9")
        raise ValueError(f"{shown} is not a number")
    try:
        d = Decimal(body)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{shown} is not a number") from None
    if body is not t and d != 0 and not signed:
        raise ValueError(f"{shown} is negative; amounts are what the payer pays, >= 0")
    if d > MAX_USD:
        raise ValueError(f"{shown} is above 10^15 USD; check the units")
    if body is not t:
        d = -d
    if d == d.to_integral_value():
        return int(d)
    return float(d)


@functools.lru_cache(maxsize=4096)  # a column of a few words, repeated on every row
def _norm_word(v: str) -> str:
    return re.sub(r"[\s\-]+", "_", v.strip().lower())


@functools.lru_cache(maxsize=65536)  # dates repeat across rows
def _first_day(date: str) -> _dt.date | str:
    """The first day a valid date means, or why it is not a date."""
    try:
        return date_bounds(date)[0]
    except ValueError as e:
        return str(e)


def _characters_ok(row: RawRow, errors: list[RowError]) -> bool:
    """Every field of the row is free of the characters no field may hold."""
    values = row.values
    # fast path: one search over all one-line fields, one over the free text
    line = " ".join([v if type(v) is str else " ".join(v)
                     for k, v in values.items() if v is not None and k not in _MULTILINE])
    if _BAD_IN_LINE.search(line) is None and not any(
            isinstance(v := values.get(k), str) and _BAD_IN_TEXT.search(v.replace("\r\n", "\n"))
            for k in _MULTILINE):
        return True
    ok = True
    for col, v in values.items():
        if v is None:
            continue
        multiline = col in _MULTILINE
        for text in (v if isinstance(v, list) else (v,)):
            if multiline:
                text = text.replace("\r\n", "\n")
            problem = forbidden_char(text, multiline=multiline)
            if problem is not None:
                errors.append(RowError(row.path, row.line, col, problem))
                ok = False
                break
    return ok


def _str(row: RawRow, col: str, errors: list[RowError]) -> str | None:
    v = row.values.get(col)
    if isinstance(v, list):
        errors.append(RowError(row.path, row.line, col, "must be a single value, not a list"))
        return None
    return v


def _id(row: RawRow, col: str, errors: list[RowError]) -> str | None:
    v = _str(row, col, errors)
    if v is None:
        errors.append(RowError(row.path, row.line, col, "is required"))
        return None
    if not _ID_RE.fullmatch(v):
        errors.append(RowError(row.path, row.line, col,
                               f"{v[:60]!r} is not a valid id: letters, digits and _ . : - only, "
                               "starting with a letter or digit, at most 128 characters"))
        return None
    return v


def _choice(row: RawRow, col: str, allowed: tuple[str, ...], errors: list[RowError],
            *, required: bool = True) -> str | None:
    v = _str(row, col, errors)
    if v is None:
        if required:
            errors.append(RowError(row.path, row.line, col, f"is required; one of {', '.join(allowed)}"))
        return None
    w = _norm_word(v)
    if w not in allowed:
        errors.append(RowError(row.path, row.line, col,
                               f"{v[:60]!r} is not one of {', '.join(allowed)}"))
        return None
    return w


def _url(row: RawRow, col: str, errors: list[RowError], *, required: bool) -> str | None:
    v = _str(row, col, errors)
    if v is None:
        if required:
            errors.append(RowError(row.path, row.line, col, "is required (where the fact comes from)"))
        return None
    if not _URL_RE.fullmatch(v):
        errors.append(RowError(row.path, row.line, col, f"{v[:60]!r} is not an http(s) URL"))
        return None
    return v


def _name(row: RawRow, col: str, errors: list[RowError], what: str) -> str | None:
    v = _str(row, col, errors)
    if v is None:
        errors.append(RowError(row.path, row.line, col, f"is required{what}"))
        return None
    if len(v) > MAX_NAME:
        errors.append(RowError(row.path, row.line, col, f"longer than {MAX_NAME} characters"))
        return None
    return v


def _money(row: RawRow, col: str, errors: list[RowError], *, signed: bool = False) -> int | float | None:
    v = _str(row, col, errors)
    if v is None:
        return None
    try:
        return parse_money(v, signed=signed)
    except ValueError as e:
        errors.append(RowError(row.path, row.line, col, str(e)))
        return None


def _date(row: RawRow, errors: list[RowError], col: str = "date", *,
          required: bool = True) -> tuple[str | None, int | None, str | None]:
    """(the date as written, day number of its first day, ISO first day)."""
    date = _str(row, col, errors)
    if date is None:
        if required:
            errors.append(RowError(row.path, row.line, col, "is required: YYYY-MM-DD, YYYY-MM or YYYY"))
        return None, None, None
    if not _DATE_RE.fullmatch(date):
        hint = ": write digits as ASCII 0-9" if any(c.isdigit() and not c.isascii() for c in date) else ""
        errors.append(RowError(row.path, row.line, col,
                               f"{date[:40]!r} is not a date{hint}; use YYYY-MM-DD, YYYY-MM or YYYY"))
        return None, None, None
    first = _first_day(date)
    if isinstance(first, str):
        errors.append(RowError(row.path, row.line, col, first))
        return None, None, None
    return date, (first - _EPOCH).days, first.isoformat()
