"""Data is never markup, a formula or a terminal escape; --out writes a regular file or nothing.

Every test goes through the real ``circfin`` command against the real embedded
FalkorDB (the ``cli`` fixture), or through the real writer. Names with terminal
escapes and bidi controls go straight into the graph (tests/graphload.py), as a
store written by something other than circfin's ingest may hold them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat

import pandas as pd
import pytest

from circfin import safe

from .conftest import DEALS_HEADER, ENTITIES_HEADER, write
from .graphload import load_frame

ESC = "\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"  # clear screen + OSC 8 link
RLO = "\u202e"  # right-to-left override, never closed
CSI = "\x9b31m"  # the 8-bit (C1) CSI
BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

FORMULA = "=HYPERLINK(\"https://evil.example\",\"x\")"
# One loop a > b > ... > f > a; it starts at "a" (the smallest id), the formula.
NAMES = {"a": FORMULA, "b": f"Acme{ESC}", "c": f"Bidi {RLO}gnp.exe", "d": f"C1{CSI}Corp",
         "e": "https://evil.example", "f": "www.evil.example"}


def _frame(ids, names=None, deal_prefix="Q"):
    rows = [{"deal_id": f"{deal_prefix}{i}", "date": f"2025-01-{i + 1:02d}", "payer": p,
             "payee": ids[(i + 1) % len(ids)], "type": "loan", "amount_usd": 1e9 + i,
             "amount_qualifier": "exact", "status": "signed"} for i, p in enumerate(ids)]
    frame = pd.DataFrame(rows)
    frame.attrs["names"] = names or {}
    return frame


@pytest.fixture
def hostile(store, cli):
    """A loop a > b > c > d > e > f > a whose names hold a formula, escapes, bidi controls
    and bare URLs; deal Q0's source_url holds an escape."""
    load_frame(store, _frame(list(NAMES), NAMES))
    store.write([("MATCH (d:Deal {id: 'Q0'}) SET d.source_url = $u",
                  {"u": f"https://example.org/x{ESC}"}),
                 ("MATCH (d:Deal {id: 'Q1'}) SET d.source_url = 'https://example.org/ok'", {})])
    return cli


def _clean(text: str) -> None:
    found = BAD_CHARS.findall(text)
    assert not found, f"raw control or bidi characters reached the output: {found!r}"


# ---- 7: terminal escapes and bidi controls -----------------------------------------------

def test_tables_show_escapes_and_bidi_controls_visibly(hostile):
    proc = hostile("loops", "--max-len", "6", "--engine", "memory", check=True)
    _clean(proc.stdout + proc.stderr)
    assert "Acme\\x1b[2J\\x1b]8;;https://evil.example\\x07click" in proc.stdout
    assert "Bidi \\u202egnp.exe" in proc.stdout and "C1\\x9b31mCorp" in proc.stdout
    for cmd in (["hubs"], ["pairs"], ["concentration"], ["score", "--limit", "1"],
                ["shock", "a", "--top", "3"], ["significance", "--n", "2", "--max-len", "3"]):
        proc = hostile(*cmd)
        assert proc.returncode == 0, (cmd, proc.stderr)
        _clean(proc.stdout + proc.stderr)


def test_json_stays_faithful_and_escapes_what_a_terminal_would_act_on(hostile):
    proc = hostile("loops", "--max-len", "6", "--format", "json", "--engine", "memory", check=True)
    _clean(proc.stdout)
    assert "\\u202e" in proc.stdout and "\\u009b" in proc.stdout and "\\u001b" in proc.stdout
    text = proc.stdout
    loops = json.loads(text) if text.lstrip().startswith("[") else json.loads(text)["loops"]
    assert loops[0]["entities"] == [NAMES[k] for k in loops[0]["ids"]]  # the very same names
    for cmd in (["hubs", "--format", "json"], ["score", "--format", "json"]):
        proc = hostile(*cmd, check=True)
        _clean(proc.stdout)
        json.loads(proc.stdout)


def test_report_and_graph_page_show_escapes(hostile, tmp_path):
    proc = hostile("report", "--out", str(tmp_path / "r"), "--engine", "memory", "--no-record")
    assert proc.returncode == 0, proc.stderr
    _clean(proc.stdout + proc.stderr)
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    page = (tmp_path / "r" / "graph.html").read_text(encoding="utf-8")
    data = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    for text in (md, html, page, json.dumps(data)):
        _clean(text)
    assert "\\\\u202egnp.exe" in md  # \u202e, its backslash escaped for Markdown
    assert "Bidi \\u202egnp.exe" in html and "Acme\\x1b[2J" in html
    assert "Bidi \\\\u202egnp.exe" in page  # the JSON inside the page: the text \u202e
    # report.json keeps the data as it is (JSON escapes, no raw character)
    raw = (tmp_path / "r" / "report.json").read_text(encoding="utf-8")
    assert "\\u202e" in raw and RLO not in raw
    assert NAMES["c"] in json.dumps(data, ensure_ascii=False)
    # a source URL with an escape is no link, and shows escaped
    assert "(https://example.org/x" not in md and "href=\"https://example.org/x\x1b" not in html
    assert "[source](https://example.org/ok)" in md
    proc = hostile("graph", "--out", str(tmp_path / "g.html"), "--engine", "memory")
    assert proc.returncode == 0, proc.stderr
    _clean((tmp_path / "g.html").read_text(encoding="utf-8"))


def test_export_labels_are_escaped_and_xml_is_well_formed(hostile, tmp_path):
    import xml.etree.ElementTree as ET

    for fmt in ("graphml", "gexf"):
        out = tmp_path / f"web.{fmt}"
        proc = hostile("export", "--out", str(out), "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text(encoding="utf-8")
        _clean(text)
        ET.fromstring(text.encode("utf-8"))
        assert "Acme\\x1b[2J" in text


def test_file_names_with_escapes_in_warnings_and_errors(cli, tmp_path):
    good = write(tmp_path / f"deals{ESC}.csv", DEALS_HEADER +
                 "D1,2024-01-01,Newco,Othco,loan,1,exact,signed,,https://x.org,high\n")
    proc = cli("ingest", str(good))
    assert proc.returncode == 0, proc.stderr
    _clean(proc.stdout + proc.stderr)
    assert "deals\\x1b[2J" in proc.stderr and "is not a known entity" in proc.stderr
    bad = write(tmp_path / f"bad{RLO}.csv", DEALS_HEADER +
                "D2,2024-02-31,a,b,loan,1,exact,signed,,https://x.org,high\n")
    proc = cli("ingest", str(bad))
    assert proc.returncode == 1
    _clean(proc.stderr)
    assert "bad\\u202e.csv" in proc.stderr


# ---- 6: markup in names ------------------------------------------------------------------

def test_markup_in_names_is_printed_as_text(cli, tmp_path):
    deals = write(tmp_path / "d.csv", DEALS_HEADER +
                  '"D1",2024-01-01,"[link=https://evil.example]Nvidia[/link]","Acme [/]",loan,1,exact,'
                  "signed,,https://x.org,high\n"
                  '"D2",2024-01-02,"Acme [/]",":thumbs_up: [bold red]x",loan,1,exact,signed,,https://x.org,high\n')
    proc = cli("ingest", str(deals))
    assert proc.returncode == 0, proc.stderr  # "Acme [/]" used to exit 2 after the write
    assert "[link=https://evil.example]Nvidia[/link]" in proc.stderr
    assert "Acme [/]" in proc.stderr and ":thumbs_up: [bold red]x" in proc.stderr
    assert "deals 2 new" in proc.stdout
    proc = cli("hubs", check=True)
    assert "Acme [/]" in proc.stdout and "[link=https://evil.example]Nvidia[/link]" in proc.stdout
    proc = cli("loops", "--entity", "[bold]Nobody[/]")
    assert proc.returncode == 1 and "[bold]Nobody[/]" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ---- 8: spreadsheet formulas -------------------------------------------------------------

def test_csv_cells_never_start_a_formula(hostile):
    proc = hostile("loops", "--max-len", "6", "--format", "csv", "--engine", "memory", check=True)
    _clean(proc.stdout)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows
    for r in rows:
        for k, v in r.items():
            if k != "bottleneck_usd":
                assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), (k, v)
        float(r["bottleneck_usd"])  # numbers stay numbers
    # the loop starts at "a", so its entities cell starts with the formula: quoted
    assert rows[0]["entities"].startswith("'=HYPERLINK("), rows


@pytest.mark.parametrize("cell,want", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
                                       ("\tx", "'\\tx"), ("\rx", "'\\rx"), ("Nvidia", "Nvidia"),
                                       (-0.5, -0.5), (3, 3), ("a=b", "a=b")])
def test_csv_cell(cell, want):
    assert safe.csv_cell(cell) == want


# ---- 14: links in names ------------------------------------------------------------------

def test_bare_urls_in_names_are_no_links_in_report_md(hostile, tmp_path):
    from markdown_it import MarkdownIt

    hostile("report", "--out", str(tmp_path / "r"), "--engine", "memory", "--no-record", check=True)
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    hrefs = re.findall(r'href="([^"]*)"', rendered)
    assert hrefs and all(h.startswith("https://example.org/") for h in hrefs), hrefs
    # Every mention of the evil host is inside a code span, which no renderer autolinks
    # (GFM's www./http(s):// autolinks and linkify's bare domains work on text only).
    outside = re.sub(r"<code>.*?</code>", "", rendered, flags=re.S)
    assert "evil.example" in rendered and "evil.example" not in outside


# ---- 5 and 18: temp files and targets that are not regular files -----------------------

def test_export_ignores_a_planted_temp_symlink(cli, tmp_path):
    victim = write(tmp_path / "victim.txt", "keep me")
    out = tmp_path / "web.graphml"
    os.symlink(victim, tmp_path / ".web.graphml.tmp")  # the old, predictable temp name
    proc = cli("export", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "keep me"
    assert stat.S_ISREG(os.lstat(out).st_mode) and "<graphml" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".web.graphml.tmp", "victim.txt", "web.graphml"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask  # as open() would make it, not 0600


def _targets(tmp_path):
    victim = write(tmp_path / "victim.txt", "keep me")
    link = tmp_path / "link"
    os.symlink(victim, link)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    out = [(link, "symbolic link"), (fifo, "FIFO"), (folder, "folder")]
    try:
        dev = tmp_path / "null"
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        out.append((dev, "device"))
    except (PermissionError, OSError):
        pass
    return victim, out


@pytest.mark.parametrize("cmd", [["export"], ["graph"]])
def test_out_refuses_what_is_not_a_regular_file(cli, tmp_path, cmd):
    victim, targets = _targets(tmp_path)
    for target, kind in targets:
        before = os.lstat(target)
        proc = cli(*cmd, "--out", str(target))
        assert proc.returncode == 1, (cmd, kind, proc.stderr)
        assert kind in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        after = os.lstat(target)
        assert (before.st_mode, before.st_ino) == (after.st_mode, after.st_ino)
        assert "wrote" not in proc.stdout
    assert victim.read_text() == "keep me"


def test_report_and_browser_refuse_non_regular_files_inside_their_folder(cli, tmp_path):
    victim = write(tmp_path / "victim.txt", "keep me")
    rep = tmp_path / "rep"
    rep.mkdir()
    os.symlink(victim, rep / "report.md")
    proc = cli("report", "--out", str(rep), "--engine", "memory")
    assert proc.returncode == 1 and "report.md" in proc.stderr and "symbolic link" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in rep.iterdir()) == ["report.md"]  # nothing else written
    proc = cli("report", "--out", str(victim), "--engine", "memory")
    assert proc.returncode == 1 and "not a folder" in proc.stderr
    kit = tmp_path / "kit"
    (kit / "favorites").mkdir(parents=True)
    os.mkfifo(kit / "README.md")
    proc = cli("browser", "--out", str(kit))
    assert proc.returncode == 1 and "FIFO" in proc.stderr
    assert victim.read_text() == "keep me"


def test_atomic_write_leaves_no_temp_file_when_it_fails(tmp_path, monkeypatch):
    def boom(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    from circfin.errors import InputError

    with pytest.raises(InputError, match="No space left"):
        safe.atomic_write(tmp_path / "x.graphml", boom)
    assert list(tmp_path.iterdir()) == []
    safe.atomic_write(tmp_path / "x.graphml", "whole")
    assert [p.name for p in tmp_path.iterdir()] == ["x.graphml"]


# ---- 19: numbers and folders a user can type ----------------------------------------------

@pytest.mark.parametrize("args", [
    ["loops", "--min-amount", "nan"], ["loops", "--min-amount", "inf"], ["loops", "--min-amount", "1e400"],
    ["loops", "--within", str(10 ** 30)], ["loops", "--within", "-1"], ["loops", "--max-len", str(10 ** 9)],
    ["loops", "--limit", "-1"], ["hubs", "--limit", "-1"], ["concentration", "--limit", "-1"],
    ["score", "--limit", "-1"], ["score", "--max-len", str(10 ** 9)],
    ["significance", "--max-len", "100"], ["significance", "--n", str(10 ** 30)],
    ["shock", "a", "--loss", "nan"], ["shock", "a", "--haircut", "nan"], ["shock", "a", "--leverage", "inf"],
    ["shock", "a", "--depth", "nan"], ["shock", "a", "--top", "-1"],
    ["graph", "--out", "x.html", "--max-len", str(10 ** 9)], ["export", "--out", "x.graphml", "--max-len", "100"],
    ["ingest", "--max-len", "100", "nothing.csv"], ["demo", "--max-len", str(10 ** 9)],
])
def test_numbers_out_of_range_are_one_line_and_exit_1(cli, tmp_path, args):
    args = [str(tmp_path / a) if a in ("x.html", "x.graphml", "nothing.csv") else a for a in args]
    proc = cli(*args)
    assert proc.returncode == 1, (args, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("InputError: "), (args, proc.stderr)


def test_report_numbers_out_of_range(cli, tmp_path):
    for args in (["--max-len", str(10 ** 9)], ["--top", "-1"]):
        proc = cli("report", "--out", str(tmp_path / "r"), "--no-record", *args)
        assert proc.returncode == 1 and proc.stderr.startswith("InputError: "), proc.stderr


def test_circfin_home_that_is_a_file(cli, tmp_path):
    f = write(tmp_path / "home", "a file")
    for home in (f, f / "sub"):
        for cmd in (["db", "counts"], ["db", "status"], ["db", "stop"], ["loops"]):
            proc = cli(*cmd, env={"CIRCFIN_HOME": str(home)})
            assert proc.returncode == 1, (home, cmd, proc.stderr)
            assert proc.stderr.startswith("InputError: --home (CIRCFIN_HOME)"), proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1


def test_a_json_number_of_5000_digits_is_an_input_error(cli, tmp_path):
    p = write(tmp_path / "deals.json", '{"deals": [{"deal_id": "Z1", "date": "2024-01-01", "payer": "a", '
              '"payee": "b", "type": "loan", "status": "signed", "source_url": "https://x.org", '
              '"confidence": "high", "amount_usd": ' + "9" * 5000 + "}]}")
    proc = cli("ingest", "--dry-run", str(p))
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_entities_file_with_hostile_names_through_ingest(cli, tmp_path):
    """What ingest accepts (bare URLs, formulas, markup) comes out safe too."""
    ents = write(tmp_path / "e.csv", ENTITIES_HEADER +
                 'x1,"@evil [bold]x[/]",other,,,,,,,,https://example.org/e1\n'
                 'x2,"https://evil.example",other,,,,,,,,https://example.org/e2\n'
                 'x3,"=1+2",other,,,,,,,,https://example.org/e3\n')
    deals = write(tmp_path / "d.csv", DEALS_HEADER +
                  "Y1,2025-01-01,x1,x2,loan,100,exact,signed,,https://example.org/y1,high\n"
                  "Y2,2025-01-02,x2,x3,loan,100,exact,signed,,https://example.org/y2,high\n"
                  "Y3,2025-01-03,x3,x1,loan,100,exact,signed,,https://example.org/y3,high\n")
    proc = cli("ingest", str(ents), str(deals))
    if proc.returncode != 0:
        pytest.skip(f"ingest refuses these names now: {proc.stderr.strip()}")
    for fmt in ("table", "csv", "json"):
        proc = cli("loops", "--format", fmt, check=True)
        _clean(proc.stdout)
        if fmt == "table":
            assert "@evil [bold]x[/]" in proc.stdout
        if fmt == "csv":
            row = next(csv.DictReader(io.StringIO(proc.stdout)))
            assert row["entities"].startswith("'@evil [bold]x[/] > ")
    proc = cli("report", "--out", str(tmp_path / "r"), "--no-record", check=True)
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "`https://evil.example`" in md and "\\[bold\\]x\\[/\\]" in md


def test_visible_escapes_exactly_the_unsafe_characters():
    """visible()'s fast path (str.isprintable) never skips a character it must escape."""
    unsafe = [chr(c) for c in range(0x110000) if safe._UNSAFE.match(chr(c))]
    assert all(not ch.isprintable() for ch in unsafe)
    assert {"\x1b", "\x9b", "\x7f", "\u202e", "\u2066", "\u200f", "\u061c", "\u2028"} <= set(unsafe)
    for ch in unsafe:
        out = safe.visible("a" + ch + "b")
        assert out.isascii() and out.isprintable() and out.startswith("a\\") and out.endswith("b")
    assert safe.visible("Nvidia Straße 株式会社 👍") == "Nvidia Straße 株式会社 👍"
    text = safe.json_dumps({"n": "".join(unsafe)})
    assert json.loads(text) == {"n": "".join(unsafe)} and not BAD_CHARS.search(text)


def _run_on_a_terminal(cli_env_home, graph, *args, timeout=120):
    """Run circfin with stdout and stderr on a pseudo-terminal (rich then shows live status)."""
    import pty
    import subprocess
    import sys
    import time

    from .conftest import ROOT

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "FALKORDB_", "CIRCFIN_"))}
    env.update({"CIRCFIN_HOME": cli_env_home, "CIRCFIN_GRAPH": graph, "COLUMNS": "200", "TERM": "xterm"})
    proc = subprocess.Popen([sys.executable, "-m", "circfin", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
        if time.monotonic() > deadline:
            proc.kill()
            break
    os.close(master)
    return proc.wait(timeout=30), out.decode("utf-8", "replace")


def test_file_names_with_markup_on_a_terminal(server, graph_name, tmp_path):
    """The live status line names the file being read: as text, not markup."""
    # (no "/" in a file name, so no closing tag: opening ones and a link to a bare host)
    p = write(tmp_path / "[link=evil.example]Acme [blink]deals.csv", DEALS_HEADER +
              "D1,2024-01-01,Newco,Othco,loan,1,exact,signed,,https://x.org,high\n")
    rc, out = _run_on_a_terminal(str(server.home), graph_name, "ingest", str(p))
    assert rc == 0, out
    assert "deals 1 new" in out and "MarkupError" not in out and "internal error" not in out
    assert "\x1b]8;" not in out  # no OSC 8 hyperlink


@pytest.mark.parametrize("name", ["circfin.safe", "circfin.cli.checks", "circfin.report.render"])
def test_docstring_examples_of_the_safety_modules(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
