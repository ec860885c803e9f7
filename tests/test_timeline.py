"""`circfin timeline` and the charts: the web over time.

What a user relies on: each row is exactly the web `circfin loops` and `circfin
circularity` see with `--as-of` that row's date (the oracle below runs that per-date
path, re-reading the store each time); the period ends are the real month, quarter
and year ends (leap years too), the last row being the as-of day; a deal that changes
status counts by its status then; the charts are valid SVG and PNG, the same bytes
for the same data, and a name in them is text, never markup or math.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from circfin.analytics.circularity import circularity
from circfin.errors import InputError
from circfin.graph.model import Leg, Loop
from circfin.ingest import ingest
from circfin.loops.engine import find_loops
from circfin.loops.from_store import DEFAULT_STATUSES, loops_from_store, snapshot
from circfin.report.charts import chart_format, loop_legs_chart, timeline_chart
from circfin.report.timeline import period_ends, timeline

from .conftest import DEALS_HEADER, write

# a -> b -> c -> a from March 2024 (D3 announced), until D3 is cancelled in September 2024;
# b -> a (D4, signed in August, completed in October) closes a>b. d -> c (D5, undisclosed) and
# c -> d (D6, low confidence, February 2025) close c>d. D7 (a partial date: May 2024) is a second
# leg a -> b. F1 is dated after every as-of date used here.
DEALS = DEALS_HEADER + """\
D1,2024-01-10,a,b,chip_purchase,100000000,exact,signed,chips,https://example.com/d1,high
D2,2024-02-01,b,c,loan,50000000,exact,funded,loan,https://example.com/d2,high
D3,2024-03-01,c,a,compute_purchase,30000000,exact,cancelled,compute,https://example.com/d3,high
D4,2024-08-01,b,a,equity_investment,20000000,exact,completed,stake,https://example.com/d4,medium
D5,2024-01-05,d,c,lease,,undisclosed,signed,lease,https://example.com/d5,high
D6,2025-02-15,c,d,loan,5000000,exact,announced,loan,https://example.com/d6,low
D7,2024-05,a,b,chip_purchase,40000000,approx,signed,more chips,https://example.com/d7,high
F1,2100-01-01,d,a,loan,1000000,exact,announced,future,https://example.com/f1,high
"""
ENTITIES = """\
entity_id,name,kind
a,Alpha,hyperscaler
b,Beta,chipmaker
c,Gamma,ai_lab
d,Delta,neocloud
"""
EVENTS = """\
deal_id,date,status,source_url
D3,2024-03-01,announced,https://example.com/d3a
D3,2024-09-01,cancelled,https://example.com/d3c
D4,2024-08-01,signed,
D4,2024-10-01,completed,
"""
AS_OF = "2025-06-15"


def _files(tmp_path):
    return [write(tmp_path / "deals.csv", DEALS), write(tmp_path / "entities.csv", ENTITIES),
            write(tmp_path / "events.csv", EVENTS)]


def _oracle(store, day, *, types=None, status=DEFAULT_STATUSES, confidences=None):
    """The row for ``day`` by the per-date path: the store re-read as of that day."""
    snap = snapshot(store, as_of=day)
    frame = snap.deals
    if confidences is not None:
        frame = frame[frame["confidence"].isin(confidences)].reset_index(drop=True)
        n_loops = len(find_loops(frame, types=types, status=status))
    else:
        loops, complete, _ = loops_from_store(store, engine="memory", as_of=day, types=types,
                                              status=status)
        assert complete
        n_loops = len(loops)
        cy, _, _ = loops_from_store(store, engine="cypher", as_of=day, types=types, status=status)
        assert len(cy) == n_loops  # both engines agree on the date
    counted = frame
    if types is not None:
        counted = counted[counted["type"].isin(types)]
    if status is not None:
        counted = counted[counted["status"].isin(list(status))]
    circ = circularity(snap, types=types, status=status, confidences=confidences)
    top = [{"id": e["id"], "name": e["name"], "return_share": e["return_share"]}
           for e in circ.entities if e["return_share"] > 0][:5]
    return {"as_of": day, "deals": len(counted), "committed_usd": float(counted["amount_usd"].dropna().sum()),
            "loops": n_loops, "fci": circ.fci, "top": top}


@pytest.mark.parametrize("filters", [
    {},
    {"status": None},
    {"types": ["chip_purchase", "loan", "compute_purchase"]},
    {"confidences": ("high", "medium")},
], ids=["default", "all-statuses", "types", "min-confidence-medium"])
def test_each_row_is_the_web_as_of_its_date(store, tmp_path, filters):
    ingest(store, _files(tmp_path))
    snap = snapshot(store)  # read once; the oracle re-reads the store for each date
    rows = [row for every in ("quarter", "month", "year")
            for row in timeline(snap, every=every, as_of=AS_OF, **filters).rows]
    assert len(rows) == 6 + 18 + 2 and rows[-1].as_of == AS_OF
    for row in rows:
        got = row.to_dict()
        want = _oracle(store, row.as_of, **filters)
        assert got["loops_complete"] is True
        assert {k: got[k] for k in ("as_of", "deals", "loops")} == {k: want[k] for k in ("as_of", "deals", "loops")}
        assert got["committed_usd"] == pytest.approx(want["committed_usd"])
        assert got["fci"] == pytest.approx(want["fci"])
        assert [t["id"] for t in got["top"]] == [t["id"] for t in want["top"]]
        assert [t["return_share"] for t in got["top"]] == pytest.approx([t["return_share"] for t in want["top"]])


def test_deals_that_change_status_count_by_their_status_then(store, tmp_path):
    ingest(store, _files(tmp_path))
    rows = {r.as_of: r for r in timeline(snapshot(store), every="quarter", as_of=AS_OF).rows}
    # The first dated deal is D5 (January 2024): the first row is that quarter's end.
    assert list(rows)[0] == "2024-03-31"
    # March 2024: D3 is announced (it counts): a>b>c; D7 (May) and D4 (August) are not there yet.
    q1 = rows["2024-03-31"]
    assert (q1.deals, q1.committed_usd, q1.loops) == (4, 180e6, 1)
    assert q1.fci > 0 and {t["id"] for t in q1.top} == {"a", "b", "c"}
    # September 2024: D3 was cancelled on the 1st; D4 signed in August closes a>b.
    q3 = rows["2024-09-30"]
    assert (q3.deals, q3.committed_usd, q3.loops) == (5, 210e6, 1)
    assert {t["id"] for t in q3.top} == {"a", "b"}
    # June 2025: D6 (February) closes c>d too, though D5's amount is undisclosed (so no FCI share for d).
    last = rows[AS_OF]
    assert (last.deals, last.loops) == (6, 2)
    # Every status: the cancelled D3 still counts, and so does its loop.
    allst = {r.as_of: r for r in timeline(snapshot(store), every="quarter", as_of=AS_OF, status=None).rows}
    assert (allst["2024-09-30"].deals, allst["2024-09-30"].loops) == (6, 2)


@pytest.mark.parametrize(("first", "last", "every", "ends"), [
    ("2024-01-15", "2024-08-01", "quarter", ["2024-03-31", "2024-06-30", "2024-08-01"]),
    ("2024-01-01", "2024-12-31", "quarter", ["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"]),
    ("2023-12-31", "2024-03-10", "month", ["2023-12-31", "2024-01-31", "2024-02-29", "2024-03-10"]),
    ("2100-01-31", "2100-03-31", "month", ["2100-01-31", "2100-02-28", "2100-03-31"]),  # not a leap year
    ("2000-02-01", "2000-02-29", "month", ["2000-02-29"]),  # a leap year (divisible by 400)
    ("2023-06-01", "2025-02-28", "year", ["2023-12-31", "2024-12-31", "2025-02-28"]),
    ("2024-05-05", "2024-05-05", "year", ["2024-05-05"]),
    ("2024-11-30", "2025-01-01", "quarter", ["2024-12-31", "2025-01-01"]),
])
def test_period_ends(first, last, every, ends):
    got = period_ends(dt.date.fromisoformat(first), dt.date.fromisoformat(last), every)
    assert [d.isoformat() for d in got] == ends


def test_period_ends_refuse_since_after_as_of_and_unknown_periods():
    with pytest.raises(InputError, match="--since 2025-01-01 is after --as-of 2024-12-31"):
        period_ends(dt.date(2025, 1, 1), dt.date(2024, 12, 31))
    with pytest.raises(InputError, match="quarter, month or year"):
        period_ends(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "week")


def test_since_starts_at_its_period_and_an_empty_web_has_one_row(store, tmp_path):
    assert [r.to_dict() for r in timeline(snapshot(store), as_of="2025-01-01").rows] == [
        {"as_of": "2025-01-01", "deals": 0, "committed_usd": 0, "loops": 0, "fci": 0.0, "top": [],
         "loops_complete": True}]
    ingest(store, _files(tmp_path))
    rows = timeline(snapshot(store), every="year", since="2024-07", as_of="2025").rows
    assert [r.as_of for r in rows] == ["2024-12-31", "2025-12-31"]


# ---- the command -----------------------------------------------------------------------------

def test_cli_timeline_json_csv_table_and_charts(cli, tmp_path, store):
    cli("ingest", *map(str, _files(tmp_path)), check=True)
    png = tmp_path / "web.png"
    got = json.loads(cli("timeline", "--as-of", AS_OF, "--format", "json", "--chart", str(png),
                         check=True).stdout)
    assert [r["as_of"] for r in got] == ["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31",
                                         "2025-03-31", AS_OF]
    assert got == [r.to_dict() for r in timeline(snapshot(store), as_of=AS_OF).rows]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the oracle on the command line: `circfin loops --as-of` the row's day
    loops = json.loads(cli("loops", "--as-of", "2024-09-30", "--format", "json", check=True).stdout)
    assert [lp["key"] for lp in loops] == ["a>b"] and got[2]["loops"] == 1
    circ = json.loads(cli("circularity", "--as-of", "2024-09-30", "--format", "json", check=True).stdout)
    assert got[2]["fci"] == pytest.approx(circ["fci"]) and got[2]["fci"] > 0
    assert [t["id"] for t in got[2]["top"]] == [e["id"] for e in circ["entities"] if e["return_share"] > 0][:5]
    monthly = json.loads(cli("timeline", "--every", "month", "--since", "2024-02", "--as-of", "2024-04-10",
                             "--min-confidence", "medium", "--format", "json", check=True).stdout)
    assert [r["as_of"] for r in monthly] == ["2024-02-29", "2024-03-31", "2024-04-10"]
    csv_out = cli("timeline", "--as-of", AS_OF, "--format", "csv", check=True).stdout
    assert csv_out.splitlines()[0].startswith("as_of,deals,committed_usd,loops,loops_complete,fci,top1_id")
    assert len(csv_out.splitlines()) == 1 + len(got)
    svg = tmp_path / "web.svg"
    shown = cli("timeline", "--as-of", AS_OF, "--chart", str(svg), check=True)
    assert "2024-09-30" in shown.stdout and "Alpha" in shown.stdout and "chart written" in shown.stderr
    assert ET.fromstring(svg.read_bytes()).tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.read_bytes() == timeline_chart(got, "svg")  # the same data, the same bytes

    bad = cli("timeline", "--chart", str(tmp_path / "web.gif"))
    assert bad.returncode == 1 and not (tmp_path / "web.gif").exists()
    assert len(bad.stderr.strip().splitlines()) == 1 and "must end in .svg or .png" in bad.stderr
    late = cli("timeline", "--since", "2030", "--as-of", "2025")
    assert late.returncode == 1 and "is after --as-of" in late.stderr


# ---- the charts ------------------------------------------------------------------------------

_EVIL = "<script>alert(1)</script> & Sons $x^2$ \u202eevil"


def _loop(names, amounts):
    ids = [f"e{i}" for i in range(len(names))]
    legs = tuple(Leg(payer_id=ids[i], payee_id=ids[(i + 1) % len(ids)], payer=names[i],
                     payee=names[(i + 1) % len(names)], deal_ids=(f"D{i}",), amount_usd=amounts[i])
                 for i in range(len(names)))
    return Loop(ids=tuple(ids), entities=tuple(names), legs=legs)


def _texts(svg: bytes) -> str:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not [el for el in root.iter() if el.tag.endswith("script") or "foreignObject" in el.tag]
    return " ".join(t for el in root.iter() for t in (el.text, el.tail) if t)


def test_names_in_a_chart_are_text_never_markup_or_math():
    loops = [_loop([_EVIL, "Beta & Co", "Gamma"], [40e9, None, 12.5e9]), _loop(["A", "B"], [1e9, 2e9])]
    svg = loop_legs_chart(loops, "svg")
    text = _texts(svg)
    assert "<script>alert(1)</script> & Sons $x^2$" in text  # as written: escaped in the file, not parsed
    assert "\\u202eevil" in text and "\u202e" not in text  # a bidi control is shown, not obeyed
    assert "undisclosed" in text and "Beta & Co → Gamma" in text
    assert b"<script" not in svg
    assert svg == loop_legs_chart(loops, "svg")
    assert loop_legs_chart([lp.to_dict() for lp in loops], "svg") == svg  # a Loop or its dict
    assert loop_legs_chart(loops, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert "No loops" in _texts(loop_legs_chart([], "svg"))


def test_timeline_chart_is_reproducible_and_refuses_other_formats():
    rows = [{"as_of": "2024-03-31", "deals": 4, "committed_usd": 180e6, "loops": 1, "fci": 0.2, "top": []},
            {"as_of": "2024-06-30", "deals": 5, "committed_usd": 220e6, "loops": 1, "fci": 0.25, "top": []}]
    svg = timeline_chart(rows, "svg")
    text = _texts(svg)
    assert "Committed dollars" in text and "Finn cycling index" in text and "loops" in text
    assert svg == timeline_chart(rows, "svg")
    png = timeline_chart(rows, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == timeline_chart(rows, "png")
    with pytest.raises(InputError, match="svg or png"):
        timeline_chart(rows, "gif")
    assert chart_format("x.Svg") == "svg"
    with pytest.raises(InputError, match="must end in .svg or .png"):
        chart_format("x.pdf")


def test_a_date_whose_loop_search_was_cut_says_so(store, tmp_path):
    from circfin.loops.from_store import Budget

    ingest(store, _files(tmp_path))
    budget = Budget(time_budget=0, max_loops=1)  # no clock; at most one loop per date
    result = timeline(snapshot(store), every="year", as_of=AS_OF, budget=budget)
    rows = {r.as_of: r for r in result.rows}
    assert (rows["2024-12-31"].loops, rows["2024-12-31"].loops_complete) == (1, True)
    assert (rows[AS_OF].loops, rows[AS_OF].loops_complete) == (1, False)  # a>b and c>d: one shown
    assert not result.complete and "max-loops" in budget.note


def test_hostile_names_stay_text_in_every_format(store, cli, tmp_path):
    """Names with a spreadsheet formula, terminal escapes and bidi controls (the loop
    a > b > ... > f > a of tests/test_output_safety.py): shown escaped in the table,
    faithful in JSON, never a formula in CSV; a --chart that is a symlink is refused."""
    import csv
    import io
    import os

    from .graphload import load_frame
    from .test_output_safety import NAMES, _clean, _frame

    load_frame(store, _frame(list(NAMES), NAMES))
    table = cli("timeline", "--as-of", "2025-03-31", check=True)
    _clean(table.stdout + table.stderr)
    assert "Bidi \\u202egnp.exe" in table.stdout
    got = json.loads(cli("timeline", "--as-of", "2025-03-31", "--format", "json", check=True).stdout)
    assert len(got[-1]["top"]) == 5 and got[-1]["loops"] == 1
    assert all(t["name"] == NAMES[t["id"]] for t in got[-1]["top"])  # the very same names
    proc = cli("timeline", "--as-of", "2025-03-31", "--format", "csv", check=True)
    _clean(proc.stdout)
    for row in csv.DictReader(io.StringIO(proc.stdout)):
        for k, v in row.items():
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), (k, v)
    victim = tmp_path / "victim.svg"
    victim.write_text("keep me")
    link = tmp_path / "link.svg"
    os.symlink(victim, link)
    refused = cli("timeline", "--chart", str(link))
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "symbolic link" in refused.stderr and victim.read_text() == "keep me"


def test_a_snapshot_read_as_of_a_date_gives_the_same_rows_up_to_it(store, tmp_path):
    # The report reads its snapshot as of its own date and draws the timeline from it.
    ingest(store, _files(tmp_path))
    whole = timeline(snapshot(store), every="month", as_of=AS_OF).rows
    dated = timeline(snapshot(store, as_of=AS_OF), every="month").rows  # to the snapshot's date
    assert [r.to_dict() for r in dated] == [r.to_dict() for r in whole]
    with pytest.raises(ValueError, match="the snapshot is as of 2024-06-30"):
        timeline(snapshot(store, as_of="2024-06"), as_of=AS_OF)
