"""The graph page: data, escaping and the vendored library, then in a real headless Chromium.

The browser tests drive Debian's ``/usr/bin/chromium`` through the DevTools protocol
over ``--remote-debugging-pipe`` (a small client below, standard library only: no
selenium, no playwright, no websocket package). Without chromium they skip and say
how to install it. ``CIRCFIN_UPDATE_DOCS=1`` also refreshes docs/graph.png.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from circfin import queries
from circfin.errors import InputError
from circfin.graph.model import date_bounds
from circfin.ingest import ingest
from circfin.report.graph_page import _json_for_script, checked_loops, graph_data, graph_page, safe_url
from circfin.report.report import write_report
from circfin.safe import visible

from .conftest import ROOT, SEED

UPDATE_DOCS = os.environ.get("CIRCFIN_UPDATE_DOCS") == "1"  # read before clean_environ hides it
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
STARGATE = "nvidia>openai>oracle"
ASSETS = ROOT / "report" / "assets"


@pytest.fixture
def seeded(store):
    ingest(store, [SEED])
    return store


# ---- data and escaping, no browser --------------------------------------------------------

def test_json_for_script_cannot_close_the_script_element():
    nasty = {"a": "</script><script>alert(1)</script>", "b": "<!-- & -->", "c": "x\u2028y\u2029z"}
    text = _json_for_script(nasty)
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == nasty


def test_only_http_urls_are_links():
    assert safe_url("https://example.org/a?b=1&c=2") == "https://example.org/a?b=1&c=2"
    assert safe_url("HTTP://EXAMPLE.ORG") == "HTTP://EXAMPLE.ORG"
    for bad in ("javascript:alert(1)", "data:text/html,<script>", "//example.org", "https:///x",
                "https://exa mple.org", "https://example.org/\nx", "vbscript:x", "", None, 3):
        assert safe_url(bad) is None, bad


def test_page_highlights_the_chosen_loop(seeded):
    data = graph_data(seeded, loop_key=STARGATE, engine="cypher")
    assert data["highlight"] == [STARGATE] and data["selection"]["kind"] == "loop"
    stargate = next(lp for lp in data["loops"] if lp["key"] == STARGATE)
    assert stargate["ids"] == ["nvidia", "openai", "oracle"]
    ents = {e["id"]: e for e in data["entities"]}
    assert ents["openai"]["volume_usd"] > ents["oracle"]["volume_usd"] > 0
    assert all(isinstance(e["x"], float) for e in ents.values())
    assert not any(d["status"] == "cancelled" for d in data["deals"])


def test_page_for_an_entity_highlights_every_loop_through_it(seeded):
    data = graph_data(seeded, entity="NVIDIA Corporation", engine="cypher", max_len=4)
    assert data["selection"] == {"kind": "entity", "value": "nvidia", "label": "Nvidia"}
    through = {lp["key"] for lp in data["loops"] if "nvidia" in lp["ids"]}
    assert set(data["highlight"]) == through and STARGATE in through


def test_page_arguments_are_checked(seeded):
    with pytest.raises(InputError, match="choose one"):
        graph_data(seeded, loop_key=STARGATE, entity="nvidia")
    with pytest.raises(InputError, match="no loop"):
        graph_data(seeded, loop_key="nvidia>oracle", engine="cypher")
    with pytest.raises(InputError, match="not a loop key"):
        graph_data(seeded, loop_key="nvidia")
    with pytest.raises(InputError, match="no entity"):
        graph_data(seeded, entity="Nobody Inc")


def test_flag_selects_exactly_the_flagged_loops(seeded):
    from circfin.loops.from_store import loops_from_store
    from circfin.report.graph_page import _flagged
    from circfin.risk.flags import flag_loops

    loops, _, _ = loops_from_store(seeded, engine="cypher")
    marked = flag_loops(seeded, loops)
    for flag in ("vendor_financing", "round_trip", "related_party"):
        want = {k for k, fl in marked.items() if any(f.name == flag for f in fl)}
        assert {lp.key for lp in _flagged(seeded, list(loops), flag)} == want
    assert "nvidia>openai>oracle" in {lp.key for lp in _flagged(seeded, list(loops), "vendor_financing")}
    with pytest.raises(InputError, match="unknown flag"):
        _flagged(seeded, list(loops), "nonsense")


def test_inconsistent_loops_are_refused():
    from circfin.graph.model import Leg, Loop

    leg = Leg("a", "b", "A", "B", ("d1",), 1.0)
    back = Leg("b", "a", "B", "A", ("d2",), 1.0)
    ok = Loop(ids=("a", "b"), entities=("A", "B"), legs=(leg, back))
    assert checked_loops([ok, ok]) == [ok]
    with pytest.raises(RuntimeError, match="do not go round"):
        checked_loops([Loop(ids=("a", "b"), entities=("A", "B"), legs=(leg, leg))])


def test_page_is_self_contained_and_locked_down(seeded):
    page = graph_page(seeded, loop_key=STARGATE, engine="cypher")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched
    assert "cdn" not in page.lower().replace("cdnjs", "")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 2  # the library and the page's own; the data is application/json
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    code = "\n".join(line for line in (ROOT / "report" / "graph_page.js").read_text(encoding="utf-8")
                     .splitlines() if not line.lstrip().startswith(("/*", "*")))
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|Function\(", code)


def test_vendored_library_matches_its_record():
    lib = (ASSETS / "cytoscape.min.js").read_bytes()
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    pkg = json.loads((ROOT / "tools" / "vendor" / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "tools" / "vendor" / "package-lock.json").read_text(encoding="utf-8"))
    version = pkg["dependencies"]["cytoscape"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin an exact version"
    assert lock["packages"]["node_modules/cytoscape"]["version"] == version
    assert f"cytoscape {version}" in readme and "MIT" in readme
    assert hashlib.sha256(lib).hexdigest() in readme
    assert b"</script" not in lib.lower() and b"<!--" not in lib
    assert (ASSETS / "cytoscape.LICENSE").read_text(encoding="utf-8").startswith("Copyright")
    built = ROOT / "tools" / "vendor" / "node_modules" / "cytoscape" / "dist" / "cytoscape.min.js"
    if built.exists():  # after tools/vendor/build.sh: the committed copy is the pinned build
        assert built.read_bytes() == lib


# ---- a real browser -------------------------------------------------------------------------

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]


class Chromium:
    """Headless Chromium driven over --remote-debugging-pipe: JSON messages ending in NUL
    on file descriptors 3 (to the browser) and 4 (from it)."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="circfin-chromium-")
        to_r, self._w = os.pipe()
        self._r, from_w = os.pipe()

        def fds() -> None:  # in the child: the pipe ends become fds 3 and 4
            os.dup2(to_r, 100)
            os.dup2(from_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=fds)
        os.close(to_r)
        os.close(from_w)
        self._id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._closed = False
        self._cond = threading.Condition()
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                        if msg.get("method") == "Page.javascriptDialogOpening":  # never hang on alert()
                            threading.Thread(target=self.send, daemon=True, args=(
                                "Page.handleJavaScriptDialog", {"accept": True}, msg.get("sessionId"))).start()
                    self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30) -> dict[str, Any]:
        with self._cond:
            self._id += 1
            mid = self._id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"chromium did not answer {method}")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_for(self, pred, timeout: float = 30) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("chromium sent no such event")
                self._cond.wait(left)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)
        shutil.rmtree(self.profile, ignore_errors=True)


class Tab:
    def __init__(self, browser: Chromium, width: int = 1400, height: int = 900) -> None:
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.sessions = {self.session}
        for m in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.send(m)
        self.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False,
                                           "flatten": True})
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False})

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        return self.b.send(method, params, session or self.session)

    def open(self, path: Path) -> None:
        self.send("Page.navigate", {"url": path.resolve().as_uri()})
        self.b.wait_for(lambda e: e.get("method") == "Page.loadEventFired" and e.get("sessionId") == self.session)

    def eval(self, expr: str, session: str | None = None) -> Any:
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def frames(self) -> list[str]:
        """Sessions of out-of-process frames (the report's sandboxed graph iframe)."""
        out = []
        for e in list(self.b.events):
            if e.get("method") == "Target.attachedToTarget" and e["params"]["targetInfo"]["type"] == "iframe":
                sid = e["params"]["sessionId"]
                if sid not in self.sessions:
                    self.sessions.add(sid)
                    for m in ("Runtime.enable", "Log.enable"):
                        self.b.send(m, None, sid)
                    self.b.send("Runtime.runIfWaitingForDebugger", None, sid)
                out.append(sid)
        return out

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, CSP reports and dialogs."""
        out = []
        for e in list(self.b.events):
            if e.get("sessionId") not in self.sessions:
                continue
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')} "
                           f"{p['exceptionDetails'].get('exception', {}).get('description')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p['args']]}")
            elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                out.append(f"log: {p['entry'].get('text')}")
            elif m == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
        return out

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))

    def mouse(self, kind: str, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                               "clickCount": 1 if kind != "mouseMoved" else 0})


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed: run `apt-get install -y chromium "
                    "chromium-driver` (./run test does this where apt-get is available)")
    b = Chromium(CHROMIUM)
    try:
        b.send("Browser.getVersion", timeout=60)
        yield b
    finally:
        b.close()


@pytest.fixture
def tab(chromium):
    t = Tab(chromium)
    yield t
    chromium.send("Target.closeTarget", {"targetId": chromium.send("Target.getTargetInfo", None, t.session)
                                         ["targetInfo"]["targetId"]})


def _wait_ready(tab: Tab, session: str | None = None) -> None:
    deadline = time.monotonic() + 20
    while not tab.eval("!!(window.circfin && window.circfin.ready)", session):
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never got ready: {tab.problems()}")
        time.sleep(0.05)


def test_page_in_chromium_highlights_the_loop(seeded, tab, tmp_path):
    path = tmp_path / "stargate.html"
    t0 = time.perf_counter()
    path.write_text(graph_page(seeded, loop_key=STARGATE, engine="cypher"), encoding="utf-8")
    build = time.perf_counter() - t0
    tab.open(path)
    _wait_ready(tab)
    assert tab.problems() == []
    assert tab.eval("circfin.highlighted") == ["nvidia", "openai", "oracle"]
    assert tab.eval("circfin.highlightedDeals") == ["D021", "D049", "D068", "D071", "D135"]
    assert tab.eval("circfin.cy.nodes('.hl').length") == 3
    assert tab.eval("circfin.cy.edges('.hl').map(e => e.data('deal')).sort()") == [
        "D021", "D049", "D068", "D071", "D135"]
    assert tab.eval("circfin.cy.nodes('.faded').length") > 50
    assert tab.eval("circfin.detailsFor") == f"loop:{STARGATE}"
    assert "D068" in tab.eval("document.getElementById('details-body').textContent")
    links = tab.eval("[...document.querySelectorAll('#details-body a')].map(a => [a.protocol, a.rel])")
    assert links and all(p in ("http:", "https:") and r == "noopener noreferrer" for p, r in links)
    time.sleep(0.2)  # let the canvas paint before the picture
    shot = tmp_path / "graph.png"
    tab.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if UPDATE_DOCS:
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "graph.png")
    assert build < 10


def test_hover_click_and_filters_in_chromium(seeded, tab, tmp_path):
    path = tmp_path / "all.html"
    path.write_text(graph_page(seeded, engine="cypher"), encoding="utf-8")
    tab.open(path)
    _wait_ready(tab)
    assert tab.eval("circfin.highlighted") == []
    x, y = tab.eval("(() => { const p = circfin.cy.getElementById('n:openai').renderedPosition();"
                    " const r = document.getElementById('cy').getBoundingClientRect();"
                    " return [p.x + r.left, p.y + r.top]; })()")
    tab.mouse("mouseMoved", x, y)
    deadline = time.monotonic() + 5
    while tab.eval("circfin.detailsFor") != "entity:openai" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tab.eval("circfin.detailsFor") == "entity:openai"
    assert "OpenAI" in tab.eval("document.getElementById('details-body').textContent")
    # Click a loop in the list: it becomes the highlight.
    tab.eval(f"document.querySelector('ul.loops button[data-key=\"{STARGATE}\"]').click()")
    assert tab.eval("circfin.selectedLoop") == STARGATE
    assert tab.eval("circfin.highlighted") == ["nvidia", "openai", "oracle"]
    # Filters: deal type, then a date range.
    n = tab.eval("circfin.setFilter({types: ['chip_purchase']})")
    shown = tab.eval("circfin.visibleDeals")
    assert n == len(shown) > 0
    assert tab.eval("circfin.cy.edges().not('.hidden').length") == n
    chip = {d["id"] for d in graph_data(seeded, engine="cypher")["deals"] if d["type"] == "chip_purchase"}
    assert set(shown) == chip
    tab.eval("circfin.setFilter({types: null, from: '2025-09-01', to: '2025-09-30'})")
    dated = tab.eval("circfin.visibleDeals")
    data = graph_data(seeded, engine="cypher")["deals"]
    lo, hi = date_bounds("2025-09")
    expect = {d["id"] for d in data if d["day"] is not None
              and lo.toordinal() <= d["day"] + 719163 <= hi.toordinal()}
    assert set(dated) == expect and expect
    assert tab.eval("document.querySelectorAll('input[type=checkbox]:checked').length") > 1
    assert tab.problems() == []


HOSTILE_NAMES = {
    "h1": "<script>window.__pwned=1;alert(1)</script>",
    "h2": '"><img src=x onerror="window.__pwned=2;alert(2)">',
    'x"onmouseover=alert(3) ': "</script><script>window.__pwned=3</script>\u2028<!--",
}


def _load_hostile(store) -> None:
    """Straight into the graph, past ingest's checks: a javascript: URL too."""
    ents = [{"id": i, "name": n, "kind": "other", "aliases": [], "name_keys": [i], "country": None,
             "revenue_usd": None, "equity_usd": None, "market_cap_usd": None, "backlog_usd": None,
             "source_url": "javascript:window.__pwned=5"} for i, n in HOSTILE_NAMES.items()]
    ids = list(HOSTILE_NAMES)
    rows = []
    for k, (a, b) in enumerate(zip(ids, ids[1:] + ids[:1], strict=True)):
        rows.append({"deal_id": f"<b>D{k}</b>", "date": "2025-01-0" + str(k + 1), "day": 20089 + k,
                     "date_from": f"2025-01-0{k + 1}", "payer": a, "payee": b, "type": "loan",
                     "amount_usd": 1e9 * (k + 1), "amount_qualifier": "exact", "status": "signed",
                     "description": "<svg onload=alert(4)>" + HOSTILE_NAMES[a],
                     "source_url": "javascript:window.__pwned=4" if k == 0 else f"https://example.org/{k}?a=<b>&c=\"",
                     "confidence": "high"})
    store.write([(queries.load("upsert_entities").text, {"rows": ents}),
                 (queries.load("upsert_deals").text, {"rows": rows})])


def test_hostile_names_run_no_script_in_chromium(store, tab, tmp_path):
    _load_hostile(store)
    path = tmp_path / "hostile.html"
    page = graph_page(store, entity="h2", engine="cypher")
    for name in HOSTILE_NAMES.values():
        assert name not in page
    path.write_text(page, encoding="utf-8")
    tab.open(path)
    _wait_ready(tab)
    assert tab.eval("typeof window.__pwned") == "undefined"
    assert tab.problems() == []  # no dialog, no error, no CSP report
    assert tab.eval("document.images.length + document.querySelectorAll('svg,iframe,object,embed,b').length") == 0
    assert tab.eval("document.scripts.length") == 3
    assert sorted(tab.eval("circfin.highlighted")) == sorted(HOSTILE_NAMES)
    assert tab.eval("document.title") == "circfin: loops through " + HOSTILE_NAMES["h2"]
    for eid, name in HOSTILE_NAMES.items():
        tab.eval(f"circfin.showEntity({json.dumps(eid)})")
        text = tab.eval("document.getElementById('details-body').textContent")
        assert visible(name) in text  # a line separator shows as the text \u2028 (circfin.safe)
    tab.eval("circfin.showDeal('<b>D0</b>')")
    text = tab.eval("document.getElementById('details-body').textContent")
    assert "<b>D0</b>" in text and "<svg onload=alert(4)>" in text and "not a web link" in text
    hrefs = tab.eval("[...document.querySelectorAll('a')].map(a => a.href)")
    assert all(h.startswith(("http://", "https://")) for h in hrefs)
    tab.eval("circfin.showDeal('<b>D1</b>')")
    assert tab.eval("[...document.querySelectorAll('#details-body a')].map(a => a.href)") == [
        "https://example.org/1?a=%3Cb%3E&c=%22"]
    assert tab.eval("typeof window.__pwned") == "undefined" and tab.problems() == []


def test_report_html_shows_the_graph_in_chromium(seeded, tab, tmp_path):
    rep = write_report(seeded, tmp_path / "rep", engine="cypher", record=False)
    tab.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1400,
                                                    "deviceScaleFactor": 1, "mobile": False})
    tab.open(tmp_path / "rep" / "report.html")
    deadline = time.monotonic() + 10
    frames: list[str] = []
    while not frames and time.monotonic() < deadline:
        frames = tab.frames()
        time.sleep(0.05)
    assert frames, "the graph iframe did not load"
    _wait_ready(tab, frames[0])
    # Every loop is new in a first report: all their entities are highlighted.
    assert tab.eval("circfin.highlighted", frames[0]) == sorted({i for lp in rep.new_loops for i in lp["ids"]})
    assert tab.eval("document.querySelectorAll('h2').length") >= 7
    assert tab.problems() == []
    if UPDATE_DOCS:
        time.sleep(0.3)
        tab.screenshot(ROOT / "docs" / "report.png")
