"""Data is never markup, a formula or a terminal escape; a file is written whole or not at all.

One place for the rules every output of circfin follows:

* :func:`visible` shows control characters (C0, DEL, C1 incl. ESC and CSI) and
  bidirectional controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C) and the
  line/paragraph separators as escapes (``\\x1b``, ``\\u202e``), so text from the
  data can neither drive a terminal nor reorder a line, and a reader still sees
  that something odd is there.
* :func:`json_safe` makes JSON text keep those characters as ``\\u`` escapes
  (valid JSON: raw they can only stand inside strings, where the escape means
  the same character), so JSON stays faithful and still cannot drive a terminal.
* :func:`csv_cell` and :func:`csv_text` neutralise spreadsheet formulas: a text
  cell that starts with ``= + - @``, TAB or CR gets a leading ``'`` (OWASP's
  advice); numbers stay numbers.
* :func:`check_target` refuses to write over anything but a regular file (a
  symlink, a device, a FIFO, a folder), and :func:`atomic_write` /
  :func:`atomic_write_many` write through an unpredictable temporary file in the
  target's folder (:func:`tempfile.mkstemp`), then rename it into place.

>>> visible("Acme\\x1b[2J\\u202eevil")
'Acme\\\\x1b[2J\\\\u202eevil'
>>> csv_cell("=HYPERLINK(1)"), csv_cell(-0.5), csv_cell("-5")
("'=HYPERLINK(1)", -0.5, "'-5")
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["atomic_write", "atomic_write_many", "check_folder", "check_target", "csv_cell", "csv_text",
           "json_dumps", "json_safe", "visible", "visible_deep"]

# Bidirectional controls and the two Unicode line breaks a terminal or renderer may act on.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
# Everything visible() escapes, as a character class (C0, DEL, C1, bidi, separators).
_UNSAFE_CLASS = "\x00-\x1f\x7f-\x9f" + _BIDI
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
# What JSON keeps raw with ensure_ascii=False: all of the above but C0 (which json escapes).
_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI}]")


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def visible(text: Any, keep: str = "") -> str:
    """``text`` (str() of it) with control and bidi characters shown as escapes.

    ``keep``: control characters to leave as they are (e.g. ``"\\n"`` for a
    message of several lines). None becomes "".

    >>> visible("a\\tb\\nc"), visible("a\\nb", keep="\\n"), visible(None)
    ('a\\\\tb\\\\nc', 'a\\nb', '')
    """
    t = "" if text is None else str(text)
    if t.isprintable() or not _UNSAFE.search(t):  # isprintable: fast, and False for all we escape
        return t
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m.group()), t)


def visible_deep(obj: Any) -> Any:
    """Every string in nested dicts, lists and tuples (keys too) through :func:`visible`."""
    if isinstance(obj, str):
        return visible(obj)
    if isinstance(obj, Mapping):
        return {visible_deep(k): visible_deep(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [visible_deep(v) for v in obj]
    return obj


def json_safe(text: str) -> str:
    """JSON text with DEL, C1, bidi controls and U+2028/2029 as ``\\u`` escapes.

    Only valid for JSON text (where those characters can only occur inside strings).

    >>> json_safe(json.dumps({"n": "a\\u202eb\\x9b"}, ensure_ascii=False))
    '{"n": "a\\\\u202eb\\\\u009b"}'
    """
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_dumps(obj: Any, **kw: Any) -> str:
    """:func:`json.dumps` with ``ensure_ascii=False`` (readable names) and :func:`json_safe`."""
    kw.setdefault("ensure_ascii", False)
    return json_safe(json.dumps(obj, **kw))


# ---- CSV -----------------------------------------------------------------------------------

_FORMULA_FIRST = frozenset("=+-@\t\r")


def csv_cell(v: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @``, TAB or CR gets a
    leading ``'``; control and bidi characters are shown escaped. Numbers pass unchanged.

    >>> csv_cell("@SUM(A1)"), csv_cell("Nvidia"), csv_cell(3), csv_cell(None)
    ("'@SUM(A1)", 'Nvidia', 3, None)
    """
    if not isinstance(v, str):
        return v
    if v[:1] in _FORMULA_FIRST:
        v = "'" + v
    return v if v.isprintable() else visible(v)


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (``\\n`` line ends) with every cell through :func:`csv_cell`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cell = csv_cell
    if header is not None:
        w.writerow([cell(h) for h in header])
    w.writerows([cell(c) for c in row] for row in rows)
    return buf.getvalue()


# ---- files ---------------------------------------------------------------------------------

def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_target(path: Path | str, what: str = "--out") -> Path:
    """``path`` if circfin may write a file there: it does not exist or is a regular file.

    A symlink (even to a regular file), a device, a FIFO, a socket or a folder is
    refused with an :class:`InputError`: replacing it would not do what "wrote" says.
    """
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return p
    except NotADirectoryError:
        raise InputError(f"cannot write {visible(p)}: a part of the path is not a folder; "
                         f"choose another {what}") from None
    except OSError as e:
        raise InputError(f"cannot write {visible(p)}: {e.strerror or e}; choose another {what}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"cannot write {visible(p)}: it is {_kind(st.st_mode)}, not a regular file; "
                         f"choose another {what}")
    return p


def check_folder(path: Path | str, what: str = "--out", doing: str = "write into") -> Path:
    """``path`` if circfin may write files into it: it does not exist or is a folder
    (a symlink to a folder is followed). The error says "cannot {doing} {path}: why"."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return p
    except NotADirectoryError:
        raise InputError(f"cannot {doing} {visible(p)}: a part of the path is not a folder; "
                         f"choose another {what}") from None
    except OSError as e:
        raise InputError(f"cannot {doing} {visible(p)}: {e.strerror or e}; "
                         f"choose another {what}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"cannot {doing} {visible(p)}: it is {_kind(st.st_mode)}, not a folder; "
                         f"choose another {what}")
    return p


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _stage(path: Path, content: Any) -> str:
    """Write ``content`` to a new unpredictable temp file next to ``path``; its name."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".circfin-tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
            # mkstemp makes 0600; give the file what a plain open() would (or the old file's mode).
            try:
                mode = stat.S_IMODE(os.lstat(path).st_mode)
            except OSError:
                mode = 0o666 & ~_umask()
            os.fchmod(f.fileno(), mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write_many(files: Mapping[Path | str, Any], what: str = "--out") -> list[Path]:
    """Write several files, each whole or not at all: every file is first written to an
    unpredictable temp file in its folder, and only when all are written are they renamed
    into place. A content is text (UTF-8), bytes, or a function writing to a binary file.

    Raises :class:`InputError` (naming ``what``, the option to change) when a target is
    not a regular file or cannot be written; no temp file is left behind.
    """
    targets = [(Path(p), c) for p, c in files.items()]
    for p, _ in targets:
        check_target(p, what)
    staged: list[tuple[str, Path]] = []
    current = targets[0][0] if targets else Path(".")
    try:
        try:
            for p, c in targets:
                current = p
                staged.append((_stage(p, c), p))
            for _tmp, p in staged:
                check_target(p, what)  # again: it may have changed while we wrote
            while staged:
                tmp, current = staged[0]
                os.replace(tmp, current)
                staged.pop(0)
        except OSError as e:
            raise InputError(f"cannot write {visible(current)}: {e.strerror or e}; "
                             f"choose another {what}") from None
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return [p for p, _ in targets]


def atomic_write(path: Path | str, content: Any, what: str = "--out") -> Path:
    """Write one file whole or not at all (see :func:`atomic_write_many`).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(d / "a.txt", "hi").read_text()
    'hi'
    """
    return atomic_write_many({path: content}, what)[0]
