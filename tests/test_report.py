"""The periodic report against the real embedded FalkorDB: new, changed and gone loops,
state kept in the graph, files written before anything is recorded, and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from circfin.errors import InputError
from circfin.ingest import ingest
from circfin.report import render as render_mod
from circfin.report import report as report_mod
from circfin.report.report import last_run, write_report
from circfin.store.falkordb_store import FalkorDBStore

from .conftest import DEALS_HEADER, ENTITIES_HEADER, SEED, circfin_env, run_circfin, write

# The Cypher engine answers in the database itself; test_loops_* hold the engines equal.
ENGINE = "cypher"
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
STARGATE = "nvidia>openai>oracle"


def _at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def _seed_row(deal_id: str, **changes: str) -> str:
    """One seed deals.csv row, changed, as a deals file line (without header)."""
    with open(SEED / "deals.csv", encoding="utf-8", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["deal_id"] == deal_id)
    row.update(changes)
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n").writerow(row)
    return buf.getvalue()


@pytest.fixture
def seeded(store):
    ingest(store, [SEED])
    return store


def _run(store, out, hours, **kw):
    return write_report(store, out, engine=ENGINE, now=_at(hours), **kw)


def test_first_run_lists_every_loop_and_second_run_none(seeded, tmp_path):
    first = _run(seeded, tmp_path / "r1", 0)
    keys = {lp["key"] for lp in first.new_loops}
    assert STARGATE in keys and len(keys) == first.data["summary"]["loops"] > 50
    assert all(lp["reasons"] == ["first report"] for lp in first.new_loops)
    for name in ("report.md", "report.html", "report.json", "graph.html"):
        assert (tmp_path / "r1" / name).stat().st_size > 1000
    assert not [p for p in (tmp_path / "r1").iterdir() if p.name.startswith(".")]  # no temp left

    data = json.loads((tmp_path / "r1" / "report.json").read_text(encoding="utf-8"))
    assert {"new_loops", "changed_loops", "top_loops", "generated_at", "since"} <= set(data)
    assert data["generated_at"] == "2026-01-05T09:00:00Z" and data["since"]["last_report"] is None
    stargate = next(lp for lp in data["new_loops"] if lp["key"] == STARGATE)
    assert stargate["entities"] == ["Nvidia", "OpenAI", "Oracle"]
    assert {"D049", "D068"} <= {d for leg in stargate["legs"] for d in leg["deal_ids"]}
    for lp in data["new_loops"]:  # every finding cites its deals and their sources
        cited = {d["id"] for d in lp["deals"]}
        assert cited == {d for leg in lp["legs"] for d in leg["deal_ids"]}
        assert all(d["source_url"].startswith(("http://", "https://")) for d in lp["deals"])
    assert data["top_loops"] and all(lp["deals"] for lp in data["top_loops"])
    ranks = [lp["rank"] for lp in data["top_loops"] if lp["rank"] is not None]
    assert ranks == sorted(ranks, reverse=True) and data["params"]["rank"] == "risk_score"
    assert all(isinstance(lp["flags"], list) for lp in data["top_loops"])
    assert any(f["name"] == "vendor_financing" and f["deal_ids"]
               for lp in data["top_loops"] for f in lp["flags"])

    second = _run(seeded, tmp_path / "r2", 1)
    assert second.run_id == 2 and second.new_loops == [] and second.changed_loops == []
    assert second.data["since"]["last_report"] == {"id": 1, "at": "2026-01-05T09:00:00Z"}
    md = (tmp_path / "r2" / "report.md").read_text(encoding="utf-8")
    assert "No new loops." in md and "Compared with report 1" in md


def test_a_new_deal_closing_one_loop_is_the_only_new_loop(seeded, tmp_path):
    _run(seeded, tmp_path / "r1", 0)
    # Magnetar's only deal pays CoreWeave; CoreWeave paying Magnetar closes one loop.
    deals = write(tmp_path / "new.csv", DEALS_HEADER +
                  "D900,2026-01-04,coreweave,magnetar,revenue_share,25000000,approx,signed,"
                  "Hypothetical test deal,https://example.org/d900,low\n")
    ingest(seeded, [deals])
    rep = _run(seeded, tmp_path / "r2", 1)
    assert [lp["key"] for lp in rep.new_loops] == ["coreweave>magnetar"]
    (lp,) = rep.new_loops
    assert lp["reasons"] == ["not in the last report"]
    assert {d["id"]: d["source_url"] for d in lp["deals"]} == {
        "D003": _seed_source("D003"), "D900": "https://example.org/d900"}
    assert rep.changed_loops == []
    md = (tmp_path / "r2" / "report.md").read_text(encoding="utf-8")
    assert "## New loops (1)" in md and "https://example.org/d900" in md
    assert _run(seeded, tmp_path / "r3", 2).new_loops == []


def _seed_source(deal_id: str) -> str:
    with open(SEED / "deals.csv", encoding="utf-8", newline="") as f:
        return next(r for r in csv.DictReader(f) if r["deal_id"] == deal_id)["source_url"]


def test_a_larger_amount_on_a_leg_is_a_loop_that_grew(seeded, tmp_path):
    _run(seeded, tmp_path / "r1", 0)
    ingest(seeded, [write(tmp_path / "d049.csv", DEALS_HEADER + _seed_row("D049", amount_usd="60000000000"))])
    rep = _run(seeded, tmp_path / "r2", 1)
    assert rep.new_loops == []
    by_key = {c["key"]: c for c in rep.changed_loops}
    assert STARGATE in by_key
    # Every changed loop goes through D049, and grew on exactly that leg.
    for c in rep.changed_loops:
        assert c["change"] == "grew"
        (leg,) = c["legs_changed"]
        assert (leg["payer_id"], leg["payee_id"]) == ("oracle", "nvidia")
        assert leg["added"] == leg["removed"] == []
        assert leg["amount_now"] - leg["amount_before"] == 20_000_000_000
        assert any(d["id"] == "D049" and d["source_url"].startswith("https://") for d in c["deals"])
    assert by_key[STARGATE]["bottleneck_usd"] == 60_000_000_000
    again = _run(seeded, tmp_path / "r3", 2)
    assert again.changed_loops == []  # the grown state was recorded


def test_a_cancelled_deal_breaks_its_loops(seeded, tmp_path):
    first = _run(seeded, tmp_path / "r1", 0)
    through_d068_alone = {lp["key"] for lp in first.new_loops
                          if any(leg["deal_ids"] == ["D068"] for leg in lp["legs"])}
    shrinking = {lp["key"] for lp in first.new_loops
                 if any("D068" in leg["deal_ids"] and len(leg["deal_ids"]) > 1 for leg in lp["legs"])}
    assert STARGATE in through_d068_alone
    ingest(seeded, [write(tmp_path / "d068.csv", DEALS_HEADER + _seed_row("D068", status="cancelled"))])
    rep = _run(seeded, tmp_path / "r2", 1)
    changed = {c["key"]: c for c in rep.changed_loops}
    assert {k for k, c in changed.items() if c["change"] == "cancelled"} == through_d068_alone
    assert {k for k, c in changed.items() if c["change"] == "shrank"} == shrinking
    stargate = changed[STARGATE]
    assert {"deal_id": "D068", "reason": "cancelled"} in stargate["reasons"]
    assert {d["id"] for d in stargate["deals"]} >= {"D049", "D068"}
    assert rep.data["summary"]["gone"] == len(through_d068_alone)
    md = (tmp_path / "r2" / "report.md").read_text(encoding="utf-8")
    assert "broken: a deal was cancelled" in md
    # Gone loops stay gone without being reported again.
    assert _run(seeded, tmp_path / "r3", 2).changed_loops == []


def test_since_a_date_adds_loops_with_a_recent_deal(seeded, tmp_path):
    _run(seeded, tmp_path / "r1", 0)
    rep = _run(seeded, tmp_path / "r2", 1, since="2026-02-01")
    assert rep.new_loops and rep.data["since"]["date"] == "2026-02-01"
    for lp in rep.new_loops:
        assert lp["reasons"] == ["a deal dated on or after 2026-02-01"]
        assert lp["date_span"][1] >= "2026-02-01"
    with pytest.raises(InputError, match="since"):
        _run(seeded, tmp_path / "r3", 2, since="2026-02-30")


def test_a_run_whose_files_fail_records_nothing(seeded, tmp_path, monkeypatch):
    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_mod, "_publish", disk_full)
    with pytest.raises(InputError, match="nothing was recorded"):
        _run(seeded, tmp_path / "out", 0)
    assert last_run(seeded) is None
    assert seeded.read("MATCH (l:Loop) RETURN count(l) AS n")[0]["n"] == 0
    assert list((tmp_path / "out").iterdir()) == []  # the temporary folder is gone too
    monkeypatch.undo()
    rep = _run(seeded, tmp_path / "out", 1)
    assert rep.run_id == 1 and rep.new_loops


def test_an_unwritable_out_dir_is_an_input_error(seeded, tmp_path):
    blocker = write(tmp_path / "file", "not a folder")
    with pytest.raises(InputError, match="cannot write the report"):
        _run(seeded, blocker / "sub", 0)
    assert last_run(seeded) is None


def test_two_machines_sharing_the_database_see_the_same_news(seeded, server, graph_name, tmp_path):
    _run(seeded, tmp_path / "a", 0)
    other = FalkorDBStore(server.connect(), graph=graph_name, where="second machine")
    try:
        assert last_run(other)["id"] == 1
        rep = _run(other, tmp_path / "b", 1)
        assert rep.new_loops == [] and rep.run_id == 2
    finally:
        other.close()


def test_rank_orders_the_top_loops(seeded, tmp_path):
    def longest(loop):
        return float(loop.length)

    rep = _run(seeded, tmp_path / "r", 0, rank=longest, top=3)
    lengths = [len(lp["ids"]) for lp in rep.top_loops]
    assert len(lengths) == 3 and lengths == sorted(lengths, reverse=True)
    assert rep.data["params"]["rank"] == "longest"
    assert "## Top loops by longest" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")


def test_shock_section_only_when_risk_has_a_shock_function(seeded, tmp_path, monkeypatch):
    from circfin import risk

    monkeypatch.delattr(risk, "shock_summary", raising=False)
    rep = _run(seeded, tmp_path / "a", 0, record=False)
    assert rep.data["shock"]["available"] is False
    md = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "Shock summary omitted: circfin.risk has no shock\\_summary(store) function yet." in md

    monkeypatch.setattr(risk, "shock_summary", lambda store: [{"entity": "Oracle", "loss_usd": 5e9}],
                        raising=False)
    rep = _run(seeded, tmp_path / "b", 0, record=False)
    assert rep.data["shock"] == {"available": True, "rows": [{"entity": "Oracle", "loss_usd": 5e9}]}
    assert "| Oracle | $5B |" in (tmp_path / "b" / "report.md").read_text(encoding="utf-8")
    assert last_run(seeded) is None  # record=False leaves no trace


def test_concentration_and_self_funded_tables(seeded, tmp_path):
    rep = _run(seeded, tmp_path / "r", 0, record=False)
    assert rep.data["concentration"] and all(r["counterparties"] > 1 for r in rep.data["concentration"])
    assert rep.data["self_funded_demand"]
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "## Concentration" in md and "## Self-funded demand" in md


def test_the_report_compares_loop_counts_across_both_null_models(seeded, tmp_path):
    from circfin.loops.from_store import snapshot
    from circfin.risk.nullmodel import sensitivity

    rep = _run(seeded, tmp_path / "r", 0, record=False, null_samples=20, max_len=4)
    table = rep.data["significance"]
    # the same table circfin significance gives for the same deals, n and seed
    assert table == json.loads(json.dumps(sensitivity(snapshot(seeded).deals, n=20, seed=1, max_len=4)))
    assert table["pairs"]["rewire"] == table["pairs"]["observed"] != table["pairs"]["types"]
    rows = rep.data["sensitivity"]
    assert [r["loop length"] for r in rows] == [2, 3, 4, "distinct pairs"]
    assert [r["observed"] for r in rows[:-1]] == [r["observed"] for r in table["rows"]]
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "## Significance across null models" in md and "Significance across null models" in html
    assert "rewire: null mean" in md and "types: null mean" in md
    # none asked for: no table
    plain = _run(seeded, tmp_path / "p", 0, record=False)
    assert plain.data["sensitivity"] == [] and plain.data["significance"] is None
    assert "null models" not in (tmp_path / "p" / "report.md").read_text(encoding="utf-8")


HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "*bold* | [x](javascript:alert(1))"]


def test_hostile_names_are_text_in_markdown_and_html(store, tmp_path):
    ents = write(tmp_path / "e.csv", ENTITIES_HEADER + "".join(
        f'h{i},"{n.replace(chr(34), chr(34) * 2)}",other,,,,,,,,https://example.org/e{i}\n'
        for i, n in enumerate(HOSTILE)))
    deals = write(tmp_path / "d.csv", DEALS_HEADER +
                  'X1,2025-01-01,h0,h1,loan,100,exact,signed,"</script><script>alert(2)</script>",'
                  'https://example.org/x1?a=1&b=<2>,high\n'
                  'X2,2025-01-02,h1,h2,loan,100,exact,signed,"<b>bold</b>",https://example.org/x2,high\n'
                  'X3,2025-01-03,h2,h0,loan,100,exact,signed,x,https://example.org/x3,high\n')
    ingest(store, [ents, deals])
    rep = write_report(store, tmp_path / "r", engine=ENGINE, now=T0)
    assert [lp["key"] for lp in rep.new_loops] == ["h0>h1>h2"]
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    for text in (md, page):
        assert "<script>alert" not in text and "<img" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "\\*bold\\* \\| \\[x\\](javascript:alert(1))" in md
    assert "](javascript:" not in md.replace("\\](javascript:", "")
    assert "(https://example.org/x1?a=1&b=%3C2%3E)" in md  # the URL cannot break out of its link
    assert page.count("<script") == 0  # the report has no script; the graph page sits in srcdoc
    assert 'sandbox="allow-scripts' in page
    assert render_mod.md_escape("a\nb|c") == "a b\\|c"


def _cli(server, graph_name, *args):
    """The real command line, on the session server and this test's graph."""
    return run_circfin(args, circfin_env(server, graph_name))


def test_cli_report_fail_on_new_and_quiet_json(seeded, server, graph_name, tmp_path):
    out = tmp_path / "rep"
    proc = _cli(server, graph_name, "report", "--out", str(out), "--fail-on-new", "--format", "json",
                "--engine", ENGINE)
    assert proc.returncode == 3, proc.stderr
    summary = json.loads(proc.stdout)
    assert STARGATE in summary["new_loops"] and summary["run"] == 1
    assert proc.stderr == ""  # no progress bar, no warnings in --format json
    proc = _cli(server, graph_name, "report", "--out", str(out), "--fail-on-new", "--engine", ENGINE)
    assert proc.returncode == 0, proc.stderr
    assert "report 2 (since report 1" in proc.stdout and "0 new" in proc.stdout
    bad = _cli(server, graph_name, "report", "--out", str(out), "--since", "yesterday")
    assert bad.returncode == 1 and bad.stderr.startswith("InputError: --since")


class _IngestsBetweenReads:
    """A store on which another ingest lands right after the first read of the deals,
    as a concurrent `circfin ingest` can."""

    def __init__(self, inner, files) -> None:
        self._inner, self._files, self._done = inner, files, False

    def read(self, query, params=None, **kw):
        rows = self._inner.read(query, params, **kw)
        from circfin import queries

        if not self._done and query == queries.load("deals").text:
            self._done = True
            ingest(self._inner, self._files)
        return rows

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_deal_ingested_while_the_report_reads_is_in_all_of_it_or_none(store, tmp_path):
    """The report ranked loops from one read of the deals and found them from another:
    a deal that another ingest added in between was in a loop but not in the table the
    scores used (`ValueError: deal ... is not in the deals table`, exit 2)."""
    ingest(store, [SEED])
    url = "https://example.com/s"
    extra = write(tmp_path / "deals.csv", DEALS_HEADER +
                  f"RACE1,2026-01-01,Oracle,OpenAI,loan,1000000,exact,signed,,{url},high\n")
    data, loops, snap = report_mod.build_report(_IngestsBetweenReads(store, [extra]),
                                               now=_at(0), max_len=3)
    in_snap = "RACE1" in set(snap.deals["deal_id"])
    on_loops = any("RACE1" in lp.deal_ids for lp in loops)
    assert on_loops == in_snap  # all of the new deal or none of it
    assert data["top_loops"]
