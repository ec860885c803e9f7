"""The brief against the real embedded FalkorDB: its numbers are the ones `loops`, `deals` and
`circularity` give for the same date, its quarter-ago column is the web three months earlier,
its sentences name the right entities and amounts, and it says what changed since the last
recorded report. The report opens with it, publishes no local path, and its counts agree."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest

from circfin.ingest import ingest
from circfin.loops.from_store import DEFAULT_STATUSES, loops_from_store, snapshot
from circfin.report.brief import build_brief, loop_sentence, quarter_before
from circfin.report.report import write_report

from .conftest import DEALS_HEADER, write

# Alpha invests in Beta, which commits to Gamma for compute, which buys Alpha chips: a>b>c.
# Beta lends Alpha an undisclosed amount (D4, August 2025): the loop a>b, from then on.
# D6 (Gamma -> Delta) is cancelled: it never counts, and Delta is in no loop until D8.
DEALS = DEALS_HEADER + """\
D1,2025-01-10,a,b,equity_investment,100000000,up_to,signed,stake,https://example.com/d1,high
D2,2025-02-01,b,c,cloud_commitment,300000000,exact,signed,compute,https://example.com/d2,high
D3,2025-03-01,c,a,chip_purchase,40000000,approx,funded,chips,https://example.com/d3,high
D4,2025-08-01,b,a,loan,,undisclosed,funded,loan,https://example.com/d4,medium
D5,2025-01-05,d,c,lease,10000000,exact,signed,lease,https://example.com/d5,low
D6,2025-02-15,c,d,loan,5000000,exact,cancelled,loan,https://example.com/d6,high
D7,2025-09-01,d,a,other,20000000,exact,signed,other,https://example.com/d7,high
"""
ENTITIES = """\
entity_id,name,kind
a,Alpha,chipmaker
b,Beta,ai_lab
c,Gamma,hyperscaler
d,Delta,neocloud
e,Epsilon,bank
"""
EVENTS = """\
deal_id,date,status,source_url
D4,2025-08-01,signed,https://example.com/d4s
D4,2025-10-01,funded,https://example.com/d4f
"""
LATER = DEALS_HEADER + """\
D8,2025-11-01,c,d,loan,5000000,exact,signed,loan again,https://example.com/d8,high
"""
AS_OF = "2025-09-30"
ABC = "Alpha invests up to $100M in Beta, which commits $300M to Gamma for compute, which buys " \
      "Alpha chips worth about $40M."


def _web(store, tmp_path: Path):
    ingest(store, [write(tmp_path / "deals.csv", DEALS), write(tmp_path / "entities.csv", ENTITIES),
                   write(tmp_path / "events.csv", EVENTS)])
    return store


def _counted(snap):
    return snap.deals[snap.deals["status"].isin(list(DEFAULT_STATUSES))]


def test_quarter_before_is_three_calendar_months():
    assert quarter_before("2025-09-30") == "2025-06-30"
    assert quarter_before("2025-05-31") == "2025-02-28" and quarter_before("2024-05-31") == "2024-02-29"
    assert quarter_before("2026-01-15") == "2025-10-15"
    assert quarter_before(dt.date(2025, 12, 31)) == "2025-09-30"


def test_numbers_and_their_change_over_the_quarter(store, tmp_path):
    _web(store, tmp_path)
    b = build_brief(store, as_of=AS_OF)
    assert (b.as_of, b.quarter_ago) == (AS_OF, "2025-06-30")
    h = b.headline
    # Now: D1, D2, D3, D4, D5, D7 (D6 cancelled); a quarter ago: D1, D2, D3, D5.
    assert (h["deals"]["now"], h["deals"]["quarter_ago"], h["deals"]["change"]) == (6, 4, 2)
    assert (h["committed_usd"]["now"], h["committed_usd"]["quarter_ago"]) == (470_000_000, 450_000_000)
    assert h["committed_usd"]["change"] == 20_000_000 and h["committed_usd"]["undisclosed_deals"] == 1
    # Loops: a>b>c all along; a>b (through D4) only since August.
    assert (h["loops"]["now"], h["loops"]["quarter_ago"], h["loops"]["change"]) == (2, 1, 1)
    assert h["loops"]["complete"] is True

    # The same numbers as the loops and deals of the same day.
    snap = snapshot(store, as_of=AS_OF)
    loops, complete, _ = loops_from_store(store, as_of=AS_OF, engine="cypher")
    assert complete and len(loops) == h["loops"]["now"]
    counted = _counted(snap)
    assert len(counted) == h["deals"]["now"]
    assert counted["amount_usd"].dropna().sum() == h["committed_usd"]["now"]


def test_fci_and_self_funded_are_circularitys(store, tmp_path):
    circ = pytest.importorskip("circfin.analytics.circularity")
    _web(store, tmp_path)
    b = build_brief(store, as_of=AS_OF)
    now = circ.circularity(snapshot(store, as_of=AS_OF))
    before = circ.circularity(snapshot(store, as_of="2025-06-30"))
    assert b.headline["fci"]["now"] == pytest.approx(now.fci)
    assert b.headline["fci"]["quarter_ago"] == pytest.approx(before.fci)
    assert b.headline["fci"]["change"] == pytest.approx(now.fci - before.fci, abs=1e-6)
    assert 0 < now.fci < 1
    top = [e for e in now.entities if e["return_share"] > 0][:5]
    assert [r["id"] for r in b.self_funded] == [e["id"] for e in top]
    assert [r["return_share"] for r in b.self_funded] == pytest.approx([e["return_share"] for e in top])
    assert {r["id"] for r in b.self_funded} <= {"a", "b", "c"}  # Delta gets nothing back


def test_sentences_name_the_legs_largest_deals(store, tmp_path):
    _web(store, tmp_path)
    b = build_brief(store, as_of=AS_OF)
    by_key = {lp["key"]: lp for lp in b.top_loops}
    assert set(by_key) == {"a>b>c", "a>b"}
    assert by_key["a>b>c"]["sentence"] == ABC
    assert [leg["deal_id"] for leg in by_key["a>b>c"]["legs"]] == ["D1", "D2", "D3"]
    # An undisclosed leg says so, and invents no amount.
    assert by_key["a>b"]["sentence"] == ("Alpha invests up to $100M in Beta, which lends an undisclosed "
                                          "amount to Alpha.")
    scores = [lp["score"] for lp in b.top_loops]
    assert scores == sorted(scores, reverse=True)


def test_sentence_picks_the_largest_deal_of_a_leg(store, tmp_path):
    _web(store, tmp_path)
    ingest(store, [write(tmp_path / "more.csv", DEALS_HEADER +
                         "D9,2025-04-01,a,b,loan,900000000,exact,funded,big loan,https://example.com/d9,high\n")])
    b = build_brief(store, as_of=AS_OF)
    abc = next(lp for lp in b.top_loops if lp["key"] == "a>b>c")
    assert abc["sentence"].startswith("Alpha lends $900M to Beta, which commits $300M to Gamma")
    assert abc["legs"][0]["deals"] == 2


def test_sentence_words_per_type():
    legs = [{"payer": "X", "payee": "Y", "type": "bond", "amount_usd": 2e9, "amount_qualifier": "at_least"},
            {"payer": "Y", "payee": "X", "type": "warrant", "amount_usd": None, "amount_qualifier": None}]
    assert loop_sentence(legs) == "X buys at least $2B of Y bonds, which grants X warrants of undisclosed worth."


def test_min_confidence_counts_only_deals_at_or_above(store, tmp_path):
    _web(store, tmp_path)
    b = build_brief(store, as_of=AS_OF, confidences=("high",))
    # D4 (medium) and D5 (low) leave: the loop a>b goes with D4.
    assert b.headline["deals"]["now"] == 4 and b.headline["loops"]["now"] == 1
    assert [lp["key"] for lp in b.top_loops] == ["a>b>c"]


def test_since_the_last_report(store, tmp_path):
    _web(store, tmp_path)
    first = build_brief(store, as_of="2025-12-31")
    assert first.since_last_report["last_report"] is None
    write_report(store, tmp_path / "r1", engine="cypher", as_of=AS_OF,
                 now=dt.datetime(2025, 9, 30, 12, tzinfo=dt.UTC))
    ingest(store, [write(tmp_path / "later.csv", LATER)])
    b = build_brief(store, as_of="2025-12-31")
    s = b.since_last_report
    assert s["last_report"] == {"id": 1, "at": "2025-09-30T12:00:00Z"} and s["since"] == "2025-09-30"
    # D8 (Gamma -> Delta) closes Gamma -> Delta -> Gamma, and with D7 (Delta -> Alpha) a>b>c>d.
    assert [lp["key"] for lp in s["new_loops"]] == ["a>b>c>d", "c>d"]
    assert s["gone_loops"] == 0
    assert [(c["deal_id"], c["before"], c["status"], c["date"]) for c in s["status_changes"]] == [
        ("D4", "signed", "funded", "2025-10-01")]


def test_brief_command_matches_loops_and_deals(cli, tmp_path):
    for name, text in (("deals.csv", DEALS), ("entities.csv", ENTITIES), ("events.csv", EVENTS)):
        write(tmp_path / name, text)
    cli("ingest", str(tmp_path / "deals.csv"), str(tmp_path / "entities.csv"), str(tmp_path / "events.csv"),
        check=True)
    doc = json.loads(cli("brief", "--as-of", AS_OF, "--format", "json", check=True).stdout)
    loops = json.loads(cli("loops", "--as-of", AS_OF, "--format", "json", check=True).stdout)
    deals = json.loads(cli("deals", "--as-of", AS_OF, "--status", ",".join(DEFAULT_STATUSES),
                           "--format", "json", check=True).stdout)["deals"]
    assert doc["headline"]["loops"]["now"] == len(loops)
    assert doc["headline"]["deals"]["now"] == len(deals)
    assert doc["headline"]["committed_usd"]["now"] == sum(d["amount_usd"] or 0 for d in deals)
    # The default table of `loops` is by score, highest first: the brief's order.
    table = cli("loops", "--as-of", AS_OF, check=True).stdout
    assert "highest risk score first" in table
    at = [table.index(" → ".join([*lp["entities"], lp["entities"][0]])) for lp in doc["top_loops"]]
    assert at == sorted(at)
    scored = json.loads(cli("loops", "--as-of", AS_OF, "--sort", "score", "--format", "json",
                            check=True).stdout)
    assert [lp["key"] for lp in scored] == [lp["key"] for lp in doc["top_loops"]]
    high = json.loads(cli("brief", "--as-of", AS_OF, "--min-confidence", "high", "--format", "json",
                          check=True).stdout)
    assert high["headline"]["deals"]["now"] == 4 and high["confidences"] == ["high"]

    md = cli("brief", "--as-of", AS_OF, "--format", "md", check=True).stdout
    assert md.startswith("# circfin brief as of 2025-09-30") and "No report recorded yet" in md
    assert ABC in md
    screen = cli("brief", "--as-of", AS_OF, env={"COLUMNS": "100"}, check=True).stdout
    assert len(screen.splitlines()) <= 50 and max(map(len, screen.splitlines())) <= 100
    assert "Alpha invests up to $100M in Beta" in screen and "No report recorded yet" in screen
    bad = cli("brief", "--min-confidence", "certain")
    assert bad.returncode == 1 and bad.stderr.startswith("InputError: --min-confidence")


def _published(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.is_file()}


def test_report_opens_with_the_brief_names_no_local_path_and_counts_agree(cli, server, tmp_path):
    for name, text in (("deals.csv", DEALS), ("entities.csv", ENTITIES), ("events.csv", EVENTS)):
        write(tmp_path / name, text)
    cli("ingest", str(tmp_path / "deals.csv"), str(tmp_path / "entities.csv"), str(tmp_path / "events.csv"),
        check=True)
    out = tmp_path / "rep"
    cli("report", "--out", str(out), "--as-of", "2025-12-31", "--no-record", check=True)
    files = _published(out)
    assert {"report.md", "report.html", "report.json", "graph.html"} <= set(files)
    home = str(Path.home())
    socket = str(server.socket_path) if hasattr(server, "socket_path") else ".sock"
    for name, text in files.items():
        assert ".sock" not in text and socket not in text, name
        assert str(server.home) not in text, name
        if len(home) > 1:
            assert home + os.sep not in text, name
    data = json.loads(files["report.json"])
    assert data["store"] == "embedded FalkorDB"
    md = files["report.md"]
    assert md.splitlines()[2] == "Generated {} from the embedded FalkorDB store.".format(data["generated_at"])
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[0].startswith("## circfin brief as of 2025-12-31")
    assert headings.index("## Summary") < headings.index("## Appendix A: new loops (2)")
    assert all(h.startswith("## Appendix") for h in headings[headings.index("## Appendix A: new loops (2)"):])
    # Loops with their deals only in the appendix; the body has one line on them.
    body = md[:md.index("## Appendix A")]
    assert "https://example.com/d1" not in body and "https://example.com/d1" in md

    # Counts: the summary, the brief and the graph page agree, and the rest is said apart.
    s, brief = data["summary"], data["brief"]
    assert s["deals"] == brief["headline"]["deals"]["now"] == 6
    assert s["loops"] == brief["headline"]["loops"]["now"] == 2
    assert s["deals_not_counted"] == {"cancelled": 1} and s["entities"] == 4
    assert s["entities_without_deals"] == 1  # Epsilon
    graph = json.loads(cli("graph", "--out", str(tmp_path / "g.html"), "--as-of", "2025-12-31",
                           "--format", "json", check=True).stdout)
    assert (graph["deals"], graph["entities"]) == (s["deals"], s["entities"])
    assert "| deals that do not count | 1 | 1 cancelled: left out of every count above |" in md
    assert re.search(r"entities without a deal that counts \| 1 \|", md)
    html = files["report.html"]
    assert html.index("circfin brief as of") < html.index("<h2>Summary</h2>") < html.index("Appendix A")
    # The charts: files beside report.md, linked from it, and inside report.html as data: images.
    assert files["timeline.svg"].startswith("<?xml") and files["top-loops.svg"].startswith("<?xml")
    assert "](timeline.svg)" in md and "](top-loops.svg)" in md
    assert html.count('<img src="data:image/svg+xml;base64,') == 2
    assert [c["file"] for c in data["charts"]] == ["timeline.svg", "top-loops.svg"]


def test_report_embeds_charts_as_files_and_inline(store, tmp_path):
    _web(store, tmp_path)
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
           b'<rect width="10" height="10"/></svg>')
    res = write_report(store, tmp_path / "r", engine="cypher", as_of=AS_OF, record=False,
                       charts=lambda snap, data: [("timeline", "The web over time", svg)])
    assert (tmp_path / "r" / "timeline.svg").read_bytes() == svg
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "![The web over time](timeline.svg)" in md
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert 'src="data:image/svg+xml;base64,' in html and "<figcaption>The web over time</figcaption>" in html
    assert res.data["charts"] == [{"name": "timeline", "title": "The web over time", "file": "timeline.svg"}]
    with pytest.raises(ValueError):
        write_report(store, tmp_path / "bad", engine="cypher", record=False,
                     charts=lambda snap, data: [("../x", "escape", svg)])


def test_demo_ends_with_the_brief_and_the_report_it_wrote(cli, tmp_path):
    out = tmp_path / "demo-report"
    proc = cli("demo", "--out", str(out), check=True)
    text = proc.stdout
    assert "circfin brief as of" in text and "Top loops by risk score" in text
    assert "Since the last report" in text
    assert text.index("circfin brief as of") > text.index("wrote:")  # after the seed, at the end
    last = [line for line in text.splitlines() if line.strip()]
    path = next(line.split(": ", 1)[1].strip() for line in last[-4:] if "report.html" in line)
    assert Path(path).is_file() and Path(path).parent == out.resolve()
    assert "Nvidia invests up to $100B in OpenAI" in text
    # The table of every loop is gone from the demo: it is in the report.
    assert "legs (deal ids: total)" not in text
