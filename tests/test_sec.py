"""`circfin sec`: ingest from SEC EDGAR through edgartools, offline against a local mirror.

tests/fixtures/sec/ holds real EDGAR company facts recorded from SEC's servers (NVIDIA,
CIK 1045810, through the 10-Q for the quarter ended 2026-04-26; Alphabet, CIK 1652044,
through 2026-03-31), trimmed to the concepts circfin reads (see its README.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from circfin import queries
from circfin.errors import InputError, ValidationError
from circfin.ingest import ingest
from circfin.ingest.sec import edgar_source, ingest_financials, ingest_holdings
from circfin.ingest.validate import cusip_check_digit

from .conftest import write

MIRROR = Path(__file__).parent / "fixtures" / "sec"
NVDA_10Q = "0001045810-26-000052"
ENTITIES = """entity_id,name,kind,aliases,country,sec_cik,tickers,cusips
nvidia,Nvidia,chipmaker,NVIDIA Corporation,US,1045810,NVDA,67066G104
google,Google,hyperscaler,Alphabet,US,CIK0001652044,GOOGL;goog,02079K305;02079K107
openai,OpenAI,ai_lab,,US,,,
"""
DEALS = """deal_id,date,payer,payee,type,amount_usd,status,source_url,confidence
d1,2025-09-22,nvidia,openai,equity_investment,10000000000,signed,https://example.org/a,high
d2,2025-10-01,openai,nvidia,chip_purchase,20000000000,signed,https://example.org/b,high
"""


@pytest.fixture
def graph(store, tmp_path):
    ingest(store, [write(tmp_path / "entities.csv", ENTITIES), write(tmp_path / "deals.csv", DEALS)])
    return store


def _financials(store):
    return store.read(queries.load("financials").text)


def test_entity_identifiers_are_kept_normalised(graph):
    by_id = {e["id"]: e for e in graph.read(queries.load("entities").text)}
    assert by_id["nvidia"]["sec_cik"] == "0001045810"
    assert by_id["google"]["sec_cik"] == "0001652044"
    assert by_id["google"]["tickers"] == ["GOOGL", "GOOG"]
    assert by_id["google"]["cusips"] == ["02079K305", "02079K107"]
    assert by_id["openai"]["sec_cik"] is None


def test_bad_identifiers_name_the_field(store, tmp_path):
    bad = write(tmp_path / "e.csv", "entity_id,name,kind,sec_cik,cusips,lei\n"
                                    "x,X,other,NVDA,67066G105,ABC\n")
    with pytest.raises(ValidationError) as e:
        ingest(store, [bad])
    text = str(e.value)
    assert "e.csv:2: field 'sec_cik'" in text and "'NVDA' is not an SEC Central Index Key" in text
    assert "field 'cusips'" in text and "check digit should be '4'" in text
    assert "field 'lei'" in text
    assert store.read(queries.load("entities").text) == []


def test_cusip_check_digits_of_the_13f_fixture():
    # CUSIPs as a real 13F information table gives them (shared fixtures, 13f/)
    for c in ("67066G104", "594918104", "68389X105", "02079K305", "02079K107", "023135106", "88579Y101"):
        assert cusip_check_digit(c[:8]) == c[8]


def test_nvidia_balance_sheet_from_company_facts(graph):
    with edgar_source(MIRROR) as root:
        rows, report, warnings = ingest_financials(graph, ["NVIDIA Corporation"], edgar_dir=root,
                                                   since="2025-01-01")
    assert warnings == []
    latest = rows[-1]
    assert (latest.as_of, latest.form, latest.accession) == ("2026-04-26", "10-Q", NVDA_10Q)
    assert latest.figures["equity_usd"] == 195_474_000_000
    assert latest.figures["total_assets_usd"] == 259_474_000_000
    assert latest.figures["total_liabilities_usd"] == 64_000_000_000
    assert latest.figures["backlog_usd"] == 2_600_000_000
    assert latest.figures["shares_outstanding"] == 24_200_000_000
    # trailing four quarters: the three 10-Q quarters and Q4 = FY2026 less nine months
    assert latest.figures["revenue_usd"] == 253_491_000_000
    assert "revenue: trailing four quarters" in latest.basis and "shares on 2026-05-15" in latest.basis
    fy = next(r for r in rows if r.as_of == "2026-01-25")
    assert (fy.form, fy.accession) == ("10-K", "0001045810-26-000021")
    assert fy.figures["revenue_usd"] == 215_938_000_000 and "revenue: fiscal year" in fy.basis
    assert fy.figures["public_float_usd"] == 4_000_000_000_000 and "float on 2025-07-25" in fy.basis
    assert fy.figures["equity_usd"] == 157_293_000_000
    assert [r.as_of for r in rows] == sorted(r.as_of for r in rows) and rows[0].as_of >= "2025-01-01"

    stored = {f["as_of"]: f for f in _financials(graph) if f["entity_id"] == "nvidia"}
    assert report.links["financials"]["new"] == len(rows) == len(stored)
    row = stored["2026-04-26"]
    assert row["equity_usd"] == 195_474_000_000
    assert row["source_url"] == ("https://www.sec.gov/Archives/edgar/data/1045810/000104581026000052/"
                                 f"{NVDA_10Q}-index.htm")
    assert NVDA_10Q in row["basis"]


def test_rerunning_changes_nothing_and_dry_run_writes_nothing(graph):
    with edgar_source(MIRROR) as root:
        rows, dry, _ = ingest_financials(graph, ["google"], edgar_dir=root, since="2025-06", dry_run=True)
        assert dry.links["financials"]["new"] == len(rows) > 0 and _financials(graph) == []
        ingest_financials(graph, ["google"], edgar_dir=root, since="2025-06")
        before = _financials(graph)
        _, again, _ = ingest_financials(graph, ["google"], edgar_dir=root, since="2025-06")
    assert again.links["financials"] == {"new": 0, "updated": 0, "unchanged": len(rows)}
    assert _financials(graph) == before
    last = before[-1]
    assert (last["as_of"], last["equity_usd"], last["backlog_usd"]) == ("2026-03-31", 478_746_000_000,
                                                                        467_600_000_000)


def test_all_skips_entities_the_mirror_lacks_and_says_so(graph, tmp_path):
    mirror = tmp_path / "edgar"
    (mirror / "companyfacts").mkdir(parents=True)
    shutil.copy(MIRROR / "companyfacts" / "CIK0001652044.json", mirror / "companyfacts")
    with edgar_source(mirror) as root:
        rows, _, warnings = ingest_financials(graph, None, edgar_dir=root, since="2026")
    assert {r.entity_id for r in rows} == {"google"}
    assert warnings == [f"nvidia: no company facts for CIK 0001045810 in {mirror}; skipped"]


@pytest.mark.parametrize("damage, message", [
    (lambda text: text[:-200], "not valid JSON"),
    (lambda text: json.dumps({**json.loads(text), "facts": None}), "field 'facts' is missing"),
    (lambda text: json.dumps({**json.loads(text), "cik": 1}), "field 'cik' is 1, not 1045810"),
    (lambda text: text.replace('"val":195474000000', '"val":"many"'),
     "field 'facts.us-gaap.StockholdersEquity.units.USD["),
])
def test_a_damaged_facts_file_is_named_and_nothing_written(graph, tmp_path, damage, message):
    mirror = tmp_path / "edgar"
    path = write(mirror / "companyfacts" / "CIK0001045810.json",
                 damage((MIRROR / "companyfacts" / "CIK0001045810.json").read_text()))
    with edgar_source(mirror) as root, pytest.raises(InputError) as e:
        ingest_financials(graph, ["nvidia"], edgar_dir=root)
    assert str(path) in str(e.value) and message in str(e.value) and "nothing written" in str(e.value)
    assert _financials(graph) == []


def test_unknown_cik_unknown_entity_and_missing_cik(graph, tmp_path):
    empty = tmp_path / "edgar"
    (empty / "companyfacts").mkdir(parents=True)
    with edgar_source(empty) as root:
        with pytest.raises(InputError, match=r"CIK0001045810\.json: no such file: no company facts for CIK "
                                             r"0001045810"):
            ingest_financials(graph, ["nvidia"], edgar_dir=root)
        with pytest.raises(InputError, match="'Nvidiaa' is not a known entity"):
            ingest_financials(graph, ["Nvidiaa"], edgar_dir=root)
        with pytest.raises(InputError, match="entity 'openai' has no sec_cik"):
            ingest_financials(graph, ["openai"], edgar_dir=root)
    assert _financials(graph) == []


def test_live_use_needs_an_identity(monkeypatch):
    monkeypatch.delenv("EDGAR_IDENTITY", raising=False)
    with pytest.raises(InputError, match="EDGAR_IDENTITY"), edgar_source(None):
        pass
    monkeypatch.setenv("EDGAR_IDENTITY", "no email here")
    with pytest.raises(InputError, match="EDGAR_IDENTITY"), edgar_source(None):
        pass


def test_cli_financials_then_shock_names_the_filing(graph, cli, tmp_path):
    # the done-when path: sec financials writes NVIDIA's balance sheet, shock uses it as the buffer
    proc = cli("sec", "financials", "nvidia", "--edgar-dir", str(MIRROR), "--since", "2026",
               "--format", "json", check=True)
    got = json.loads(proc.stdout)
    assert [r["as_of"] for r in got["rows"]] == ["2026-01-25", "2026-04-26"]
    assert got["rows"][-1]["equity_usd"] == 195_474_000_000 and got["rows"][-1]["accession"] == NVDA_10Q
    assert got["financials"] == {"new": 2, "updated": 0, "unchanged": 0}
    shock = json.loads(cli("shock", "Nvidia", "--format", "json", check=True).stdout)
    hit = next(h for h in shock["hits"] if h["id"] == "nvidia")
    assert hit["buffer_usd"] == 195_474_000_000
    assert (hit["buffer_figure"], hit["buffer_as_of"]) == ("equity_usd", "2026-04-26")
    assert NVDA_10Q in hit["buffer_source_url"]

    live = cli("sec", "financials", "nvidia", env={"EDGAR_IDENTITY": ""})
    assert live.returncode == 1 and "EDGAR_IDENTITY" in live.stderr and len(live.stderr.splitlines()) == 1


# -- 13F holdings ---------------------------------------------------------------------------

INFOTABLE = MIRROR / "13f" / "xml_13F-HR.infotable.xml"
FILING = "https://www.sec.gov/Archives/edgar/data/1/000000000022000001/0000000000-22-000001-index.htm"
HOLDERS = """entity_id,name,kind,aliases,country,cusips
blackrock,BlackRock,asset_manager,,US,
oracle,Oracle,hyperscaler,Oracle Corporation,US,
"""
ONE_POSITION = """<?xml version="1.0" ?>
<informationTable xmlns="http://www.sec.gov/edgar/document/thirteenf/informationtable">
  <infoTable>
    <nameOfIssuer>3M CO</nameOfIssuer>
    <titleOfClass>COM</titleOfClass>
    <cusip>{cusip}</cusip>
    <value>409469</value>
    <shrsOrPrnAmt><sshPrnamt>2334</sshPrnamt><sshPrnamtType>SH</sshPrnamtType></shrsOrPrnAmt>
    <investmentDiscretion>SOLE</investmentDiscretion>
    <votingAuthority><Sole>0</Sole><Shared>0</Shared><None>2334</None></votingAuthority>
  </infoTable>
</informationTable>
"""


@pytest.fixture
def holders(graph, tmp_path):
    ingest(graph, [write(tmp_path / "holders.csv", HOLDERS)])
    return graph


def _holdings(store):
    return {h["asset"]: h for h in store.read(queries.load("holdings").text)}


def test_13f_positions_matched_by_cusip_then_name(holders):
    res, report = ingest_holdings(holders, "BlackRock", infotable=INFOTABLE, as_of="2022-06-30",
                                  source_url=FILING, value_unit="dollars")
    got = _holdings(holders)
    assert set(got) == {"nvidia", "google", "oracle"}
    # the fixture's rows: NVIDIA CORPORATION 67066G104 662704 USD, 3198 shares; Alphabet's
    # class A (02079K305: 1719073, 643) and class C (02079K107: 346490, 122) add up
    assert (got["nvidia"]["value_usd"], got["nvidia"]["shares"]) == (662_704, 3198)
    assert got["google"]["value_usd"] == 1_719_073 + 346_490
    assert got["oracle"]["value_usd"] == 314_961
    assert {h["holder"] for h in got.values()} == {"blackrock"}
    assert {h["source_url"] for h in got.values()} == {FILING}
    assert {h["as_of"] for h in got.values()} == {"2022-06-30"}
    assert {h["capacity"] for h in got.values()} == {"managed"}  # a 13F: clients' money
    assert res.by_name == [{"cusip": "68389X105", "issuer": "ORACLE CORP", "entity_id": "oracle"}]
    assert len(res.unmatched) == 255 - 4 - res.skipped_options
    assert {"cusip": "88579Y101", "issuer": "3M CO"} in res.unmatched
    assert report.links["holdings"]["new"] == 3
    _, again = ingest_holdings(holders, "blackrock", infotable=INFOTABLE, as_of="2022-06-30",
                               source_url=FILING, value_unit="dollars")
    assert again.links["holdings"] == {"new": 0, "updated": 0, "unchanged": 3}
    # a filer known to invest for itself: the same rows as its own balance sheet
    _, own = ingest_holdings(holders, "blackrock", infotable=INFOTABLE, as_of="2022-06-30",
                             source_url=FILING, value_unit="dollars", capacity="own")
    assert own.links["holdings"] == {"new": 0, "updated": 3, "unchanged": 0}
    assert {h["capacity"] for h in _holdings(holders).values()} == {"own"}


@pytest.mark.parametrize("cusip, message", [
    ("88579Y101", "none of its 1 positions is in an issuer the graph holds (unmatched CUSIPs: "
                  "88579Y101 (3M CO))"),
    ("88579Y102", "infoTable 1 ('3M CO'): field 'cusip' '88579Y102' is not a valid CUSIP"),
])
def test_a_13f_without_graph_issuers_or_with_a_bad_cusip_writes_nothing(holders, tmp_path, cusip, message):
    path = write(tmp_path / "infotable.xml", ONE_POSITION.format(cusip=cusip))
    with pytest.raises(InputError) as e:
        ingest_holdings(holders, "blackrock", infotable=path, as_of="2022-06-30", source_url=FILING)
    assert str(path) in str(e.value) and message in str(e.value) and "nothing written" in str(e.value)
    assert _holdings(holders) == {}


def test_cli_holdings_feed_stress(holders, cli):
    from circfin.risk.stress import stress
    from circfin.scenarios import __file__ as scenarios

    crash = Path(scenarios).parent / "ai_equity_crash.yaml"

    def blackrock(entities):
        hit = [e for e in entities if e["id"] == "blackrock"]
        return hit[0]["by_channel"].get("price", 0.0) if hit else 0.0

    assert blackrock(stress(holders, crash).to_dict()["entities"]) == 0.0  # no holdings yet
    proc = cli("sec", "holdings", "blackrock", "--infotable", str(INFOTABLE), "--period", "2022-06-30",
               "--source-url", FILING, "--value-unit", "dollars", check=True)
    assert "holdings rows of blackrock: wrote 3 new" in proc.stdout and "unmatched CUSIPs" in proc.stdout
    held = 662_704 + 1_719_073 + 346_490 + 314_961
    out = json.loads(cli("stress", "ai_equity_crash", "--format", "json", check=True).stdout)
    # AI equities fall 30 %: BlackRock's clients lose 30 % of its NVIDIA, Alphabet and Oracle
    # positions (a 13F's positions are managed), BlackRock itself nothing
    assert blackrock(out["entities"]) == 0.0
    (managed,) = [m for m in out["managed"] if m["id"] == "blackrock"]
    assert managed["loss_usd"] == pytest.approx(0.30 * held) and managed["managed_usd"] == held
    table = cli("stress", "ai_equity_crash", check=True).stdout
    assert "Losses on managed assets, borne by clients" in table and "BlackRock" in table
    exposure = cli("exposure", check=True).stdout
    assert "Held for clients (holdings managed for them, not in the exposure)" in exposure
    assert "BlackRock" in exposure.split("Held for clients")[1]
    cli("sec", "holdings", "blackrock", "--infotable", str(INFOTABLE), "--period", "2022-06-30",
        "--source-url", FILING, "--value-unit", "dollars", "--capacity", "own", check=True)
    out = json.loads(cli("stress", "ai_equity_crash", "--format", "json", check=True).stdout)
    assert blackrock(out["entities"]) == pytest.approx(0.30 * held)  # its own: its loss
    assert not [m for m in out["managed"] if m["id"] == "blackrock"]


# -- 8-K deal candidates and their review ------------------------------------------------------

def synthetic_8k(accession: str, cik: str, filer: str, body: str, *, item: str = "1.01",
                 what: str = "Entry into a Material Definitive Agreement", filed: str = "20250925",
                 period: str = "20250922") -> str:
    """A small 8-K full submission in EDGAR's format (made up: no real filing says this)."""
    return f"""<SEC-DOCUMENT>{accession}.txt : {filed}
<SEC-HEADER>{accession}.hdr.sgml : {filed}
<ACCEPTANCE-DATETIME>{filed}161125
ACCESSION NUMBER:\t\t{accession}
CONFORMED SUBMISSION TYPE:\t8-K
PUBLIC DOCUMENT COUNT:\t\t1
CONFORMED PERIOD OF REPORT:\t{period}
ITEM INFORMATION:\t\t{what}
ITEM INFORMATION:\t\tFinancial Statements and Exhibits
FILED AS OF DATE:\t\t{filed}
DATE AS OF CHANGE:\t\t{filed}

FILER:

\tCOMPANY DATA:\t
\t\tCOMPANY CONFORMED NAME:\t\t\t{filer}
\t\tCENTRAL INDEX KEY:\t\t\t{cik}
\t\tSTATE OF INCORPORATION:\t\t\tDE

\tFILING VALUES:
\t\tFORM TYPE:\t\t8-K
\t\tSEC ACT:\t\t1934 Act
</SEC-HEADER>
<DOCUMENT>
<TYPE>8-K
<SEQUENCE>1
<FILENAME>form8-k.htm
<DESCRIPTION>8-K
<TEXT>
<html><head><title>8-K</title></head><body>
<p>UNITED STATES SECURITIES AND EXCHANGE COMMISSION</p>
<p>FORM 8-K</p>
<p>Item {item} {what}.</p>
<p>{body}</p>
<p>Item 9.01 Financial Statements and Exhibits.</p>
</body></html>
</TEXT>
</DOCUMENT>
</SEC-DOCUMENT>
"""


CRWV = "0001769628-25-000099"
COREWEAVE = "entity_id,name,kind,aliases,country,sec_cik\ncoreweave,CoreWeave,neocloud,\"CoreWeave, Inc.\",US,1769628\n"


@pytest.fixture
def mirror_8k(tmp_path):
    folder = tmp_path / "edgar" / "filings"
    folder.mkdir(parents=True)
    for f in (MIRROR / "filings").glob("*.txt"):
        shutil.copy(f, folder)
    write(folder / f"{CRWV}.txt", synthetic_8k(
        CRWV, "0001769628", "CoreWeave, Inc.",
        "On September 22, 2025, CoreWeave, Inc. entered into an expansion of its Master Services "
        "Agreement with OpenAI OpCo, LLC, under which OpenAI may purchase additional compute capacity "
        "for an aggregate amount of up to $6.5 billion. The agreement runs through 2030."))
    return tmp_path / "edgar"


def test_8k_candidates_review_and_report(graph, mirror_8k, tmp_path, cli):
    from circfin.ingest.candidates import accept, list_candidates, reject
    from circfin.ingest.sec import ingest_filings

    ingest(graph, [write(tmp_path / "cw.csv", COREWEAVE)])
    with edgar_source(mirror_8k) as root:
        seen, new, known = ingest_filings(graph, edgar_dir=root)
    by_acc = {k.accession: k for k in seen}
    # the two real 8-Ks (Item 5.02, officer changes) are no deals
    assert by_acc["0001045810-26-000024"].items == ["5.02", "9.01"]
    assert by_acc["0001045810-26-000024"].candidates == []
    assert "0001628280-25-058337" not in by_acc or by_acc["0001628280-25-058337"].candidates == []
    assert [(c["filer"], c["counterparty"], c["amount_usd"], c["items"]) for c in new] == [
        ("coreweave", "openai", 6_500_000_000, ["1.01"])]
    cand = new[0]
    assert cand["id"] == f"{CRWV}.openai" and cand["date"] == "2025-09-22"
    assert cand["evidence"].startswith("On September 22, 2025, CoreWeave, Inc. entered into")
    assert CRWV in cand["source_url"] and known == 0
    # candidates count nowhere: no deal was written
    assert graph.read(queries.load("deals").text) and all(
        d["deal_id"] in ("d1", "d2") for d in graph.read(queries.load("deals").text))
    with edgar_source(mirror_8k) as root:
        _, again, known = ingest_filings(graph, edgar_dir=root)
    assert again == [] and known == 1
    assert [c["id"] for c in list_candidates(graph)] == [cand["id"]]

    # the report lists the open candidates, new since the last report
    proc = cli("report", "--out", str(tmp_path / "out"), check=True)
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(c["id"], c["new"], c["amount_usd"]) for c in data["candidates"]] == [
        (cand["id"], True, 6_500_000_000)]
    assert "Deal candidates from filings (1 open, 1 new)" in (tmp_path / "out" / "report.md").read_text()

    with pytest.raises(ValidationError, match="type"):
        accept(graph, cand["id"], type="handshake")
    assert list_candidates(graph)[0]["status"] == "candidate"

    proc = cli("review", "accept", cand["id"], "--type", "compute_purchase", check=True)
    assert f"accepted {cand['id']}" in proc.stdout
    deal = next(d for d in graph.read(queries.load("deals").text) if d["deal_id"] == cand["id"])
    assert (deal["payer"], deal["payee"], deal["amount_usd"], deal["type"], deal["status"]) == (
        "openai", "coreweave", 6_500_000_000, "compute_purchase", "signed")
    assert deal["source_url"] == cand["source_url"]
    assert list_candidates(graph) == []
    done = list_candidates(graph, None)[0]
    assert (done["status"], done["deal_id"]) == ("accepted", cand["id"]) and done["reviewed"]
    with pytest.raises(InputError, match="already accepted"):
        reject(graph, cand["id"])
    with pytest.raises(InputError, match="no candidate with id 'nope'"):
        reject(graph, "nope")


def test_a_rejected_candidate_is_recorded_and_not_offered_again(graph):
    from circfin.ingest.candidates import add_candidates, list_candidates, reject

    found = {"id": "0000000001-25-000001.openai", "filer": "nvidia", "counterparty": "openai",
             "items": ["3.02"], "date": "2025-10-06", "filed": "2025-10-06", "amount_usd": None,
             "evidence": "NVIDIA issued a warrant to OpenAI.", "accession": "0000000001-25-000001",
             "source_url": "https://www.sec.gov/Archives/edgar/data/1/000000000125000001/x-index.htm"}
    new, known = add_candidates(graph, [found])
    assert [c["id"] for c in new] == [found["id"]] and known == 0
    reject(graph, found["id"])
    assert list_candidates(graph) == []
    (done,) = list_candidates(graph, None)
    assert (done["status"], done["deal_id"]) == ("rejected", None) and done["reviewed"]
    assert add_candidates(graph, [found]) == ([], 1)  # found again: stays rejected
    assert list_candidates(graph, None)[0]["status"] == "rejected"
    assert all(d["deal_id"] != found["id"] for d in graph.read(queries.load("deals").text))
