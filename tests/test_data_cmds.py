"""`circfin deals`, `entities` and `show`: the real command on the seed plus files with
members, sources, events and financials. What a user relies on: the JSON says exactly
what the data says (names, amounts, members with their shares, sources in rank order,
the status and events as of the date); the filters find a deal by an alias or a member;
--as-of hides later deals and shows earlier statuses and financials; CSV never runs as a
formula; a misspelt name gets a suggestion; bad options fail with a clear message."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import uuid
from typing import Any

import pytest

from circfin.display import money
from circfin.store.embedded import EmbeddedServer
from circfin.store.falkordb_store import FalkorDBStore

from .conftest import circfin_env, run_circfin, write

ENTITIES = (
    "entity_id,name,kind,aliases,parent,country,revenue_usd,equity_usd,as_of,source_url\n"
    "acme,Acme Cloud,hyperscaler,ACME;Acme Cloud Inc,,US,50000000000,20000000000,2024-12-31,"
    "https://acme.example/ir\n"
    "acme-eu,Acme Cloud Europe,datacenter,,acme,DE,,,,\n"
    "bolt,Bolt Labs,ai_lab,,,US,,,,\n"
    "lenders,Lender Group,bank,,,,,,,\n"
    "first,First Bank,bank,FB Corp,,JP,,,,\n"
    "second,Second Bank,bank,,,GB,,,,\n"
    "evil,=SUM(1+1),other,,,,,,,\n"
    "tag,[bold]Tag[/bold],other,,,,,,,\n"
)
DEALS = (
    "deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence\n"
    "X1,2025-03-01,Lender Group,Acme Cloud,loan,10000000000,exact,funded,Term loan,"
    "https://www.reuters.com/x1,high\n"
    'X2,2025-01-10,ACME,Nvidia,chip_purchase,4000000000,approx,signed,"=HYPERLINK(""http://evil.example"")",'
    "https://nvidianews.nvidia.com/x2,medium\n"
    "X3,2025-02-01,Bolt Labs,Acme Cloud,cloud_commitment,,undisclosed,announced,compute,"
    "https://example.org/x3,low\n"
    "X4,2026-06-01,Bolt Labs,=SUM(1+1),other,5,exact,signed,-2+3,https://example.org/x4,low\n"
    "X5,2025-01-20,Nvidia,Bolt Labs,equity_investment,1000000000,exact,completed,stake,"
    "https://example.org/x5,medium\n"
)
MEMBERS = ("deal_id,side,member,share,source_url\n"
           "X1,payer,First Bank,0.6,\n"
           "X1,payer,Second Bank,,\n")
SOURCES = ("deal_id,url,kind,publisher,published\n"
           "X1,https://www.sec.gov/Archives/x1,,SEC,2025-03-05\n"
           "X1,https://www.bloomberg.com/news/x1,,Bloomberg,\n")
EVENTS = ("deal_id,date,status,source_url\n"
          "X1,2025-03-01,announced,\n"
          "X1,2025-06-01,signed,\n"
          "X1,2025-09-01,funded,\n")
FINANCIALS = ("entity_id,as_of,equity_usd,total_assets_usd,basis,source_url\n"
              "Acme Cloud,2025-06-30,24000000000,200000000000,10-Q,https://www.sec.gov/acme-q\n")

X1 = {
    "deal_id": "X1", "date": "2025-03-01", "payer": "Lender Group", "payee": "Acme Cloud",
    "payer_id": "lenders", "payee_id": "acme", "type": "loan", "amount_usd": 10000000000,
    "amount_qualifier": "exact", "status": "funded", "confidence": "high", "description": "Term loan",
    "sources": [{"url": "https://www.reuters.com/x1", "kind": "news"},
                {"url": "https://www.sec.gov/Archives/x1", "kind": "filing"},
                {"url": "https://www.bloomberg.com/news/x1", "kind": "news"}],
    "participants": [{"entity": "First Bank", "side": "payer", "share": 0.6, "share_basis": "disclosed", "role": "member"},
                     {"entity": "Second Bank", "side": "payer", "share": 0.4, "share_basis": "equal_split", "role": "member"}],
    "events": [{"date": "2025-03-01", "status": "announced"}, {"date": "2025-06-01", "status": "signed"},
               {"date": "2025-09-01", "status": "funded"}],
}
NO_FINANCIALS = dict.fromkeys(("equity_usd", "revenue_usd", "market_cap_usd", "total_assets_usd",
                               "total_liabilities_usd", "backlog_usd"))


@pytest.fixture(scope="module")
def run(server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory):
    """The real `circfin` command on one graph holding the seed plus the files above, loaded
    once for this module (every test here only reads it; like conftest's `cli` fixture)."""
    graph = f"t_{uuid.uuid4().hex[:12]}"
    env = circfin_env(server, graph)

    def circfin(*args: str, check: bool = False, columns: int = 200) -> subprocess.CompletedProcess[str]:
        return run_circfin(args, {**env, "COLUMNS": str(columns)}, check=check)

    folder = tmp_path_factory.mktemp("data_cmds")
    for name, text in (("entities.csv", ENTITIES), ("deals.csv", DEALS), ("members.csv", MEMBERS),
                       ("sources.csv", SOURCES), ("events.csv", EVENTS), ("fin.csv", FINANCIALS)):
        write(folder / name, text)
    circfin("seed", check=True)
    circfin("ingest", str(folder), check=True)
    yield circfin
    FalkorDBStore(server.connect(), graph=graph).clear()


@pytest.fixture(scope="module")
def data(run):
    """`circfin ARGS --format json`, parsed."""

    def run_json(*args: str) -> Any:
        return json.loads(run(*args, "--format", "json", check=True).stdout)

    return run_json


def ids(doc: dict[str, Any]) -> list[str]:
    return [d["deal_id"] for d in doc["deals"]]


# ---- deals ---------------------------------------------------------------------------------


def test_deal_json_is_the_data_with_members_sources_and_events(data) -> None:
    doc = data("deals", "--entity", "Acme Cloud", "--as-of", "2025-12-31")
    assert doc["as_of"] == "2025-12-31"
    assert ids(doc) == ["X2", "X3", "X1"]  # oldest first
    x1 = next(d for d in doc["deals"] if d["deal_id"] == "X1")
    assert x1 == X1
    x2, x3 = doc["deals"][0], doc["deals"][1]
    # Names for people, whatever the file called them (ACME is an alias); ids beside them.
    assert (x2["payer"], x2["payer_id"], x2["payee"], x2["payee_id"]) == ("Acme Cloud", "acme", "Nvidia", "nvidia")
    assert (x2["amount_usd"], x2["amount_qualifier"]) == (4000000000, "approx")
    assert x2["sources"] == [{"url": "https://nvidianews.nvidia.com/x2", "kind": "company"}]
    assert x2["participants"] == [] and x2["events"] == []
    assert x2["description"] == '=HYPERLINK("http://evil.example")'  # JSON keeps the text as it is
    assert (x3["amount_usd"], x3["amount_qualifier"], x3["status"]) == (None, "undisclosed", "announced")


def test_deal_filters(data) -> None:
    by = "--as-of", "2025-12-31"
    # A member's alias finds the syndicated loan it sits in; the payer and payee do too.
    assert ids(data("deals", "--entity", "FB Corp", *by)) == ["X1"]
    assert ids(data("deals", "--entity", "second bank", *by)) == ["X1"]
    assert ids(data("deals", "--entity", "Lender Group", *by)) == ["X1"]
    assert ids(data("deals", "--entity", "bolt", *by)) == ["X5", "X3"]
    acme = ("--entity", "acme", *by)
    assert ids(data("deals", *acme, "--type", "loan,cloud_commitment")) == ["X3", "X1"]
    assert ids(data("deals", *acme, "--type", "loan", "--type", "chip_purchase")) == ["X2", "X1"]
    assert ids(data("deals", *acme, "--status", "announced")) == ["X3"]
    assert ids(data("deals", *acme, "--status", "signed,funded")) == ["X2", "X1"]
    assert ids(data("deals", *acme, "--since", "2025-02")) == ["X3", "X1"]
    assert ids(data("deals", *acme, "--until", "2025-02")) == ["X2", "X3"]  # to the end of February
    assert ids(data("deals", *acme, "--since", "2025-02-01", "--until", "2025-02-01")) == ["X3"]
    everything = data("deals", *by)
    assert {"X1", "X2", "X3", "X5"} <= set(ids(everything)) and "X4" not in ids(everything)
    assert len(ids(everything)) > 5  # the seed's deals as well


def test_as_of_hides_later_deals_and_shows_the_status_then(data) -> None:
    mid = data("deals", "--entity", "acme", "--as-of", "2025-07-01")
    x1 = next(d for d in mid["deals"] if d["deal_id"] == "X1")
    assert x1["status"] == "signed"
    assert x1["events"] == X1["events"][:2]
    assert ids(data("deals", "--entity", "acme", "--as-of", "2025-02-15")) == ["X2", "X3"]
    assert ids(data("deals", "--entity", "acme", "--as-of", "2025-03")) == ["X2", "X3", "X1"]
    # Only announced on its first day, whatever its status now.
    assert data("deals", "--entity", "acme", "--as-of", "2025-03-01", "--type", "loan")["deals"][0][
        "status"] == "announced"
    assert ids(data("deals", "--entity", "bolt", "--as-of", "2026-05-31")) == ["X5", "X3"]
    assert ids(data("deals", "--entity", "bolt", "--as-of", "2026-06-01")) == ["X5", "X3", "X4"]


# ---- entities ------------------------------------------------------------------------------


def entity(doc: dict[str, Any], eid: str) -> dict[str, Any]:
    return next(e for e in doc["entities"] if e["id"] == eid)


def test_entities_json(data) -> None:
    doc = data("entities", "--as-of", "2025-12-31")
    assert doc["as_of"] == "2025-12-31"
    assert entity(doc, "acme") == {
        "id": "acme", "name": "Acme Cloud", "kind": "hyperscaler", "country": "US", "parent": None,
        "aliases": ["ACME", "Acme Cloud Inc"], "sec_cik": None, "tickers": [], "lei": None,
        "deals_in": 2, "deals_out": 1,
        "latest_financials": {**NO_FINANCIALS, "as_of": "2025-06-30", "equity_usd": 24000000000,
                              "total_assets_usd": 200000000000, "source_url": "https://www.sec.gov/acme-q"},
        # each figure's latest known value: the 10-Q has no revenue, so the annual one stays
        "figures": {
            "equity_usd": {"value": 24000000000, "as_of": "2025-06-30", "source_url": "https://www.sec.gov/acme-q"},
            "revenue_usd": {"value": 50000000000, "as_of": "2024-12-31", "source_url": "https://acme.example/ir"},
            "total_assets_usd": {"value": 200000000000, "as_of": "2025-06-30",
                                 "source_url": "https://www.sec.gov/acme-q"}}}
    eu = entity(doc, "acme-eu")
    assert (eu["parent"], eu["country"], eu["latest_financials"]) == ("acme", "DE", None)
    assert (entity(doc, "bolt")["deals_in"], entity(doc, "bolt")["deals_out"]) == (1, 1)
    names = [e["name"] for e in doc["entities"]]
    assert "=SUM(1+1)" in names and "Nvidia" in names  # the seed's too
    # The latest row on or before the date, as reported (not merged across rows).
    early = data("entities", "--as-of", "2025-03-01")
    assert entity(early, "acme")["latest_financials"] == {
        **NO_FINANCIALS, "as_of": "2024-12-31", "revenue_usd": 50000000000, "equity_usd": 20000000000,
        "source_url": "https://acme.example/ir"}
    assert (entity(early, "acme")["deals_in"], entity(early, "acme")["deals_out"]) == (2, 1)
    assert set(entity(early, "acme")["figures"]) == {"equity_usd", "revenue_usd"}
    assert entity(early, "acme")["figures"]["equity_usd"]["value"] == 20000000000
    before = data("entities", "--as-of", "2024-06")
    assert entity(before, "acme")["latest_financials"] is None
    assert entity(before, "acme")["figures"] == {}
    assert (entity(before, "acme")["deals_in"], entity(before, "acme")["deals_out"]) == (0, 0)


def test_entity_filters(data) -> None:
    banks = data("entities", "--kind", "bank")["entities"]
    assert {"lenders", "first", "second"} <= {e["id"] for e in banks}
    assert {e["kind"] for e in banks} == {"bank"}
    two = data("entities", "--kind", "ai_lab,datacenter")["entities"]
    assert {"bolt", "acme-eu"} <= {e["id"] for e in two} and {e["kind"] for e in two} == {"ai_lab", "datacenter"}
    jp = data("entities", "--country", "jp")["entities"]
    assert "first" in {e["id"] for e in jp} and {e["country"] for e in jp} == {"JP"}
    assert {e["id"] for e in data("entities", "--country", "DE,GB", "--kind", "bank")["entities"]} >= {"second"}


# ---- CSV -----------------------------------------------------------------------------------


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_is_never_a_formula(run) -> None:
    deals = rows(run("deals", "--format", "csv", check=True).stdout)
    by_id = {r["deal_id"]: r for r in deals}
    assert by_id["X2"]["description"] == '\'=HYPERLINK("http://evil.example")'
    assert by_id["X4"]["payee"] == "'=SUM(1+1)" and by_id["X4"]["description"] == "'-2+3"
    assert by_id["X1"]["participants"] == ("First Bank (payer, 0.6, disclosed); "
                                           "Second Bank (payer, 0.4, equal_split)")
    assert by_id["X1"]["source_url"] == "https://www.reuters.com/x1"
    assert by_id["X1"]["events"] == "2025-03-01 announced; 2025-06-01 signed; 2025-09-01 funded"
    assert (by_id["X1"]["amount_usd"], by_id["X3"]["amount_usd"]) == ("10000000000", "")
    ents = rows(run("entities", "--format", "csv", check=True).stdout)
    evil = next(r for r in ents if r["id"] == "evil")
    assert evil["name"] == "'=SUM(1+1)"
    acme = next(r for r in ents if r["id"] == "acme")
    assert (acme["aliases"], acme["financials_as_of"], acme["equity_usd"], acme["revenue_usd"]) == (
        "ACME; Acme Cloud Inc", "2025-06-30", "24000000000", "")
    # the latest known revenue, from the older row, beside the latest row's empty one
    assert (acme["latest_revenue_usd"], acme["latest_revenue_as_of"]) == ("50000000000", "2024-12-31")
    for r in deals + ents:
        for v in r.values():
            # a deficit is a number a spreadsheet reads as one (-820200000), never text it would run
            assert v[:1] not in ("=", "+", "-", "@") or re.fullmatch(r"-\d+(\.\d+)?", v), v


# ---- show ----------------------------------------------------------------------------------


def test_show_json_is_the_entity_page(data) -> None:
    page = data("show", "ACME", "--as-of", "2025-12-31")
    assert page["as_of"] == "2025-12-31"
    assert page["entity"] == {
        "id": "acme", "name": "Acme Cloud", "kind": "hyperscaler", "country": "US",
        "source_url": "https://acme.example/ir", "aliases": ["ACME", "Acme Cloud Inc"],
        "sec_cik": None, "tickers": [], "lei": None, "parent": None,
        "subsidiaries": [{"id": "acme-eu", "name": "Acme Cloud Europe"}]}
    assert [(f["as_of"], f["revenue_usd"], f["equity_usd"], f["total_assets_usd"], f["basis"])
            for f in page["financials"]] == [("2024-12-31", 50000000000, 20000000000, None, None),
                                             ("2025-06-30", None, 24000000000, 200000000000, "10-Q")]
    assert [d["deal_id"] for d in page["deals_out"]] == ["X2"]
    assert [d["deal_id"] for d in page["deals_in"]] == ["X3", "X1"]
    assert page["deals_in"][1] == X1
    assert page["syndicates"] == []
    # The one loop through it: Acme pays Nvidia, which funds Bolt, which buys Acme's cloud.
    assert page["loops_complete"] is True and page["loops_note"] is None
    assert [sorted(lp["ids"]) for lp in page["loops"]] == [["acme", "bolt", "nvidia"]]
    # Who loses if Acme fails: the syndicate's members by their shares, and its chip supplier.
    assert [(x["holder"], x["on"], x["amount_usd"], x["deal_id"]) for x in page["exposures"]["on"]] == [
        ("First Bank", "Acme Cloud", 6000000000, "X1"), ("Second Bank", "Acme Cloud", 4000000000, "X1"),
        ("Nvidia", "Acme Cloud", 4000000000, "X2")]
    assert page["exposures"]["held"] == []  # its one claim (X3) is undisclosed


def test_show_member_syndicates_and_as_of(data) -> None:
    page = data("show", "FB Corp", "--as-of", "2025-07-01")
    assert page["entity"]["name"] == "First Bank"
    assert page["syndicates"] == [{
        "deal_id": "X1", "date": "2025-03-01", "payer": "Lender Group", "payee": "Acme Cloud", "type": "loan",
        "amount_usd": 10000000000, "status": "signed", "side": "payer", "share": 0.6,
        "share_basis": "disclosed", "role": "member", "share_usd": 6000000000}]
    assert page["deals_in"] == page["deals_out"] == []
    # Before the loop closed (Acme bought chips in January, Nvidia funded Bolt on 20 January).
    early = data("show", "Acme Cloud", "--as-of", "2025-01-15")
    assert early["loops"] == [] and [d["deal_id"] for d in early["deals_out"]] == ["X2"]
    assert [f["as_of"] for f in early["financials"]] == ["2024-12-31"]
    sub = data("show", "Acme Cloud Europe")
    assert sub["entity"]["parent"] == {"id": "acme", "name": "Acme Cloud"}


def test_show_table(run) -> None:
    text = run("show", "Acme Cloud", "--as-of", "2025-12-31", check=True).stdout
    for part in ("Acme Cloud (acme) as of 2025-12-31", "Acme Cloud Europe", "Financials over time",
                 "Deals out (it pays): 1", "Deals in (it receives): 2", "First Bank 60%, Second Bank ~40%",
                 "Loops through it: 1", "Biggest exposures to it", "First Bank"):
        assert part in text, part
    table = run("deals", "--entity", "acme", "--as-of", "2025-12-31", check=True).stdout
    assert "3 deals as of 2025-12-31" in table and "~$4B" in table and "n/d" in table
    assert "entities as of" in run("entities", "--kind", "bank", check=True).stdout
    # The table gives each figure's latest known value: Acme's revenue from its annual row,
    # although its latest row (a 10-Q) leaves revenue empty.
    row = next(line for line in run("entities", "--kind", "hyperscaler", "--as-of", "2025-12-31",
                                    check=True).stdout.splitlines() if "Acme Cloud" in line)
    assert "$24B" in row and "2025-06-30" in row and "$50B" in row
    # Data is text, never rich markup.
    assert "[bold]Tag[/bold]" in run("entities", "--kind", "other", check=True).stdout
    assert "[bold]Tag[/bold] (tag) as of" in run("show", "tag", check=True).stdout


def test_show_names_identifiers_and_never_cuts_a_figure(run, data) -> None:
    """On an 80-column terminal the figures stay whole and each row's basis and source
    follow the table in full; the filer's identifiers head the page and are in its JSON."""
    page = data("show", "Nvidia")
    assert page["entity"]["sec_cik"] == "0001045810" and page["entity"]["tickers"] == ["NVDA"]
    nvidia = next(e for e in data("entities", "--limit", "0")["entities"] if e["id"] == "nvidia")
    assert (nvidia["sec_cik"], nvidia["tickers"], nvidia["lei"]) == ("0001045810", ["NVDA"], None)
    text = run("show", "Nvidia", check=True, columns=80).stdout
    assert "SEC CIK  0001045810" in text and "tickers  NVDA" in text
    lines = text.splitlines()
    for f in page["financials"]:
        for key in ("revenue_usd", "equity_usd", "total_assets_usd", "total_liabilities_usd"):
            if f[key] is not None:
                assert money(f[key]) in text, (key, f[key])
        note = f"{f['as_of']}: {f['basis']} — {f['source_url']}"
        assert note in lines, note  # one line, never wrapped: the URL stays whole
    start = lines.index(next(ln for ln in lines if ln.startswith("Financials over time")))
    table = lines[start:start + 5 + len(page["financials"])]
    assert table[-1].startswith("└") and "…" not in "".join(table)  # no figure or heading cut


@pytest.mark.parametrize("cmd", ["deals", "entities", "show"])
def test_help_has_an_example(run, cmd: str) -> None:
    assert f"Example: circfin {cmd}" in run(cmd, "--help", check=True).stdout


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("loops", "--entity", "Acme Clod"),
    ("show", "Acme Clod"),
    ("deals", "--entity", "Acme Clod"),
])
def test_an_unknown_name_suggests_the_closest(run, args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode != 0
    assert "no entity called 'Acme Clod'; did you mean 'Acme Cloud'?" in proc.stderr
    assert "Oracle" not in proc.stderr  # only the names nearly as close as the closest
    assert "circfin entities" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args, words", [
    (("deals", "--type", "lone"), ("--type", "'lone'", "loan")),
    (("deals", "--status", "done"), ("--status", "'done'", "funded")),
    (("deals", "--since", "2025-13"), ("--since", "month 13")),
    (("deals", "--until", "soon"), ("--until", "'soon'")),
    (("deals", "--as-of", "nope"), ("--as-of", "'nope'")),
    (("entities", "--kind", "banker"), ("--kind", "'banker'", "bank")),
    (("entities", "--as-of", "2025-02-30"), ("--as-of",)),
    (("show", "Acme Cloud", "--as-of", "yesterday"), ("--as-of", "'yesterday'")),
])
def test_bad_options_fail_clearly(run, args: tuple[str, ...], words: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode != 0
    assert proc.stdout == ""
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)
    assert "Traceback" not in proc.stderr
