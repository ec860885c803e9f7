"""Ingest of the tables that hang off deals and entities: participants, sources,
events and financials, against the real embedded store.

What a user relies on: every format says the same thing; undisclosed shares are
split evenly; ingesting the same files again writes nothing; a table replaces a
deal's members, sources or events for the deals it names and leaves the rest
alone; deleting a deal takes its events, members and no-longer-cited sources
with it; and one bad row anywhere writes nothing at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import circfin.ingest
from circfin import queries
from circfin.errors import InputError, ValidationError
from circfin.ingest.sources import classify_source

from .conftest import write

ENTITIES = (
    "entity_id,name,kind,aliases,country,revenue_usd,equity_usd,as_of,source_url\n"
    "oracle,Oracle,hyperscaler,Oracle Corp,US,57000000000,20000000000,2025-05-31,https://www.oracle.com/ir\n"
    "nvidia,Nvidia,chipmaker,,US,130000000000,,2025-01-26,\n"
    "openai,OpenAI,ai_lab,,US,,,,\n"
    "syn,Bank Syndicate,spv,,US,,,,\n"
    "jpm,JPMorgan,bank,JPMorgan Chase,US,,,,\n"
    "db,Deutsche Bank,bank,,DE,,,,\n"
    "mufg,MUFG,bank,,JP,,,,\n"
)
DEALS = (
    "deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence\n"
    "L1,2025-03-01,syn,oracle,loan,18000000000,exact,funded,Loan,https://www.reuters.com/x,high\n"
    "L2,2025-04-01,syn,openai,loan,5000000000,exact,signed,Loan 2,https://www.bloomberg.com/l2,high\n"
    "D2,2025-01-10,oracle,nvidia,chip_purchase,40000000000,approx,signed,chips,"
    "https://nvidianews.nvidia.com/y,medium\n"
)
PARTICIPANTS = (
    "deal_id,side,member,share,source_url\n"
    "L1,payer,JPMorgan,0.4,https://example.com/l1m\n"
    "L1,payer,Deutsche Bank,,\n"
    "L1,payer,MUFG,,\n"
    "L2,payer,jpm,0.5,\n"
    "L2,payer,db,0.5,\n"
    "L2,payee,mufg,,\n"
)
SOURCES = (
    "deal_id,url,kind,publisher,published\n"
    "L1,https://www.sec.gov/Archives/x,,SEC,2025-03-05\n"
    "L1,https://www.bloomberg.com/news/y,,Bloomberg,\n"
    "L2,https://www.sec.gov/Archives/x,,SEC,2025-03-05\n"
    "D2,https://www.crunchbase.com/d2,news,,\n"
)
EVENTS = (
    "deal_id,date,status,source_url\n"
    "L1,2025-03-01,announced,\n"
    "L1,2025-06-01,signed,https://example.com/e\n"
    "L1,2025-09-01,funded,\n"
    "L2,2025-04-01,announced,\n"
    "L2,2025-05,signed,\n"
)
FINANCIALS = (
    "entity_id,as_of,equity_usd,total_assets_usd,basis,source_url\n"
    "Oracle,2025-11-30,24000000000,200000000000,10-Q,https://www.sec.gov/q\n"
    "jpm,2024-12-31,,4000000000000,10-K,\n"
)
TABLES = {"entities": ENTITIES, "deals": DEALS, "participants": PARTICIPANTS, "sources": SOURCES,
          "events": EVENTS, "financials": FINANCIALS}
DAY = dt.date(1970, 1, 1)


def day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - DAY).days


def rows_of(text: str) -> list[dict[str, str]]:
    """A CSV table as row objects, empty cells left out (as a JSON or YAML user writes them)."""
    return [{k: v for k, v in r.items() if v} for r in csv.DictReader(io.StringIO(text))]


def csv_files(folder: Path, **tables: str) -> list[Path]:
    return [write(folder / f"{name}.csv", text) for name, text in tables.items()]


def read(store, name: str) -> list[dict[str, Any]]:
    return store.read(queries.load(name).text)


def dump(store) -> tuple[list[str], list[str]]:
    """Every node and relationship with every property, in a canonical form."""
    def canon(v: Any) -> str:
        return repr(sorted(v.items())) if isinstance(v, dict) else repr(v)
    nodes = store.read("MATCH (n) WHERE NOT n:Revision RETURN labels(n) AS l, properties(n) AS p")
    rels = store.read("MATCH (a)-[r]->(b) RETURN labels(a) AS la, properties(a) AS pa, type(r) AS t, "
                      "properties(r) AS p, labels(b) AS lb, properties(b) AS pb")
    return (sorted(canon(n["l"]) + canon(n["p"]) for n in nodes),
            sorted("|".join(canon(r[k]) for k in ("la", "pa", "t", "p", "lb", "pb")) for r in rels))


class Spy:
    """The store, with every write's statements kept (to see what an ingest writes)."""

    def __init__(self, store) -> None:
        self.store = store
        self.writes: list[list[tuple[str, dict[str, Any]]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def write(self, statements) -> None:
        self.writes.append(list(statements))
        self.store.write(statements)

    def params(self, query: str) -> list[dict[str, Any]]:
        text = queries.load(query).text
        return [p for w in self.writes for q, p in w if q == text]


@pytest.fixture
def full(tmp_path: Path) -> list[Path]:
    return csv_files(tmp_path / "csv", **TABLES)


# -- formats --------------------------------------------------------------------------


def test_csv_json_and_yaml_give_the_same_graph(store, full, tmp_path):
    circfin.ingest(store, full)
    from_csv = dump(store)
    assert from_csv[0] and from_csv[1]
    # one JSON object holding all six tables
    store.clear()
    obj = {name: rows_of(text) for name, text in TABLES.items()}
    circfin.ingest(store, [write(tmp_path / "all.json", json.dumps(obj, indent=1))])
    assert dump(store) == from_csv
    # one YAML mapping holding all six tables
    store.clear()
    circfin.ingest(store, [write(tmp_path / "all.yaml", yaml.safe_dump(obj, sort_keys=False))])
    assert dump(store) == from_csv
    # each new table on its own: a JSON list, a YAML list, plain YAML as a person writes it
    store.clear()
    mixed = csv_files(tmp_path / "mixed", entities=ENTITIES, deals=DEALS, financials=FINANCIALS)
    mixed.append(write(tmp_path / "mixed" / "members.json", json.dumps(rows_of(PARTICIPANTS))))
    mixed.append(write(tmp_path / "mixed" / "sources.yml", yaml.safe_dump(rows_of(SOURCES))))
    mixed.append(write(tmp_path / "mixed" / "events.yaml", (
        "events:\n"
        "  - {deal_id: L1, date: 2025-03-01, status: announced}\n"
        "  - {deal_id: L1, date: 2025-06-01, status: Signed, source_url: https://example.com/e}\n"
        "  - {deal_id: L1, date: 2025-09-01, status: funded}\n"
        "  - deal_id: L2\n    date: 2025-04-01\n    status: announced\n"
        "  - deal_id: L2\n    date: 2025-05\n    status: signed\n")))
    circfin.ingest(store, mixed)
    assert dump(store) == from_csv


def test_what_the_tables_store(store, full):
    report = circfin.ingest(store, full)
    assert report.links["participants"] == {"new": 2, "updated": 0, "unchanged": 0}
    assert report.links["sources"] == {"new": 3, "updated": 0, "unchanged": 0}
    assert report.links["events"] == {"new": 2, "updated": 0, "unchanged": 0}
    # oracle and nvidia from the entities' money columns, oracle and jpm from financials
    assert report.links["financials"] == {"new": 4, "updated": 0, "unchanged": 0}
    members = read(store, "participants")
    # a member named by its name, alias or id; the payer's shares: 0.4 disclosed, the rest split
    l1 = {m["member"]: m for m in members if m["deal_id"] == "L1"}
    assert set(l1) == {"jpm", "db", "mufg"}
    assert (l1["jpm"]["share"], l1["jpm"]["share_basis"]) == (pytest.approx(0.4), "disclosed")
    assert l1["jpm"]["source_url"] == "https://example.com/l1m"
    for m in ("db", "mufg"):
        assert (l1[m]["share"], l1[m]["share_basis"]) == (pytest.approx(0.3), "equal_split")
        assert l1[m]["side"] == "payer" and l1[m]["source_url"] is None
    l2 = {(m["side"], m["member"]): (m["share"], m["share_basis"]) for m in members if m["deal_id"] == "L2"}
    assert l2 == {("payer", "jpm"): (0.5, "disclosed"), ("payer", "db"): (0.5, "disclosed"),
                  ("payee", "mufg"): (1.0, "equal_split")}
    sources = {(s["deal_id"], s["rank"]): s for s in read(store, "sources")}
    assert sorted(sources) == [("D2", 0), ("D2", 1), ("L1", 0), ("L1", 1), ("L1", 2), ("L2", 0), ("L2", 1)]
    assert (sources["L1", 0]["url"], sources["L1", 0]["kind"]) == ("https://www.reuters.com/x", "news")
    assert (sources["L1", 1]["kind"], sources["L1", 1]["publisher"], sources["L1", 1]["published"]) == (
        "filing", "SEC", "2025-03-05")
    assert sources["L1", 2]["kind"] == "news"
    assert sources["D2", 0]["kind"] == "company"  # nvidianews.nvidia.com for a deal Nvidia is party to
    assert sources["D2", 1]["kind"] == "news"  # given kind wins over the rule (crunchbase: aggregator)
    # one Source node per URL, cited by both loans
    assert store.read("MATCH (s:Source {url: 'https://www.sec.gov/Archives/x'})<-[:CITES]-(d:Deal) "
                      "RETURN count(DISTINCT s) AS s, count(d) AS d") == [{"s": 1, "d": 2}]
    events = [(e["deal_id"], e["date"], e["status"]) for e in read(store, "events")]
    assert events == [("L1", "2025-03-01", "announced"), ("L1", "2025-06-01", "signed"),
                      ("L1", "2025-09-01", "funded"), ("L2", "2025-04-01", "announced"),
                      ("L2", "2025-05", "signed")]
    l1 = store.read("MATCH (d:Deal {id: 'L1'}) RETURN d.ev_days AS days, d.ev_statuses AS st")[0]
    assert l1 == {"days": [day("2025-03-01"), day("2025-06-01"), day("2025-09-01")],
                  "st": ["announced", "signed", "funded"]}
    fin = {(f["entity_id"], f["as_of"]): f for f in read(store, "financials")}
    assert sorted(fin) == [("jpm", "2024-12-31"), ("nvidia", "2025-01-26"), ("oracle", "2025-05-31"),
                           ("oracle", "2025-11-30")]
    assert (fin["oracle", "2025-05-31"]["revenue_usd"], fin["oracle", "2025-05-31"]["equity_usd"]) == (
        57000000000, 20000000000)
    assert fin["oracle", "2025-05-31"]["source_url"] == "https://www.oracle.com/ir"
    assert fin["oracle", "2025-11-30"]["total_assets_usd"] == 200000000000
    assert fin["oracle", "2025-11-30"]["basis"] == "10-Q"
    assert fin["oracle", "2025-11-30"]["revenue_usd"] is None
    assert fin["jpm", "2024-12-31"]["day"] == day("2024-12-31")
    # entities no longer carry figures themselves
    assert store.read("MATCH (e:Entity) WHERE e.revenue_usd IS NOT NULL RETURN e.id AS id") == []


def test_undisclosed_shares_split_what_the_disclosed_leave(store, tmp_path):
    files = csv_files(tmp_path, entities=ENTITIES, deals=DEALS, participants=(
        "deal_id,side,member,share,source_url\n"
        "L1,payer,jpm,0.25,\nL1,payer,db,0.25,\nL1,payer,mufg,,\nL1,payer,openai,,\n"  # 0.25 each of the 0.5
        "D2,payer,jpm,,\nD2,payer,db,,\nD2,payer,mufg,,\n"  # thirds
        "L2,payer,jpm,0.7,\n"))  # disclosed, less than 1, nobody else: kept as given
    circfin.ingest(store, files)
    got = {(m["deal_id"], m["member"]): (round(m["share"], 9), m["share_basis"])
           for m in read(store, "participants")}
    assert got == {("L1", "jpm"): (0.25, "disclosed"), ("L1", "db"): (0.25, "disclosed"),
                   ("L1", "mufg"): (0.25, "equal_split"), ("L1", "openai"): (0.25, "equal_split"),
                   ("D2", "jpm"): (round(1 / 3, 9), "equal_split"), ("D2", "db"): (round(1 / 3, 9), "equal_split"),
                   ("D2", "mufg"): (round(1 / 3, 9), "equal_split"), ("L2", "jpm"): (0.7, "disclosed")}


# -- re-ingest and replacement -------------------------------------------------------------


def test_reingest_of_the_same_files_writes_nothing(store, full):
    circfin.ingest(store, full)
    before = dump(store)
    spy = Spy(store)
    again = circfin.ingest(spy, full)
    assert spy.writes == []
    assert again.links == {"participants": {"new": 0, "updated": 0, "unchanged": 2},
                           "sources": {"new": 0, "updated": 0, "unchanged": 3},
                           "events": {"new": 0, "updated": 0, "unchanged": 2},
                           "financials": {"new": 0, "updated": 0, "unchanged": 4},
                           "holdings": {"new": 0, "updated": 0, "unchanged": 0},
                           "assets": {"new": 0, "updated": 0, "unchanged": 0}}
    assert again.deals_unchanged == 3 and again.entities_unchanged == 7
    assert dump(store) == before


def test_a_changed_share_rewrites_that_deal_only(store, full):
    circfin.ingest(store, full)
    before = {m["deal_id"]: m for m in read(store, "participants") if m["deal_id"] != "L1"}
    write(full[2], PARTICIPANTS.replace("L1,payer,JPMorgan,0.4,", "L1,payer,JPMorgan,0.1,"))
    spy = Spy(store)
    report = circfin.ingest(spy, full)
    assert report.links["participants"] == {"new": 0, "updated": 1, "unchanged": 1}
    assert report.deals_updated == [] and report.links["events"]["updated"] == 0
    assert [p["ids"] for p in spy.params("clear_participants")] == [["L1"]]
    assert {r["deal_id"] for p in spy.params("add_participants") for r in p["rows"]} == {"L1"}
    assert spy.params("upsert_deals") == [] and spy.params("add_events") == []
    after = read(store, "participants")
    l1 = {m["member"]: (round(m["share"], 9), m["share_basis"]) for m in after if m["deal_id"] == "L1"}
    assert l1 == {"jpm": (0.1, "disclosed"), "db": (0.45, "equal_split"), "mufg": (0.45, "equal_split")}
    assert {m["deal_id"]: m for m in after if m["deal_id"] != "L1"} == before


def test_a_table_replaces_the_lists_of_the_deals_it_names(store, full, tmp_path):
    circfin.ingest(store, full)
    more = csv_files(
        tmp_path / "more",
        participants="deal_id,side,member,share,source_url\nL1,payee,jpm,,\n",
        sources="deal_id,url,kind,publisher,published\nL1,https://www.ft.com/l1,,FT,\n",
        events="deal_id,date,status,source_url\nL1,2025-03-01,announced,\nL1,2025-04-01,funded,\n")
    report = circfin.ingest(store, more)
    assert report.links["participants"] == {"new": 0, "updated": 1, "unchanged": 0}
    members = {(m["deal_id"], m["side"], m["member"]) for m in read(store, "participants")}
    assert members == {("L1", "payee", "jpm"), ("L2", "payer", "jpm"), ("L2", "payer", "db"),
                       ("L2", "payee", "mufg")}
    sources = [(s["deal_id"], s["rank"], s["url"]) for s in read(store, "sources")]
    assert [s for s in sources if s[0] == "L1"] == [("L1", 0, "https://www.reuters.com/x"),
                                                  ("L1", 1, "https://www.ft.com/l1")]
    assert ("L2", 1, "https://www.sec.gov/Archives/x") in sources  # still cited by L2
    # bloomberg.com/news/y was cited by L1 only: its node is gone
    urls = {r["url"] for r in store.read("MATCH (s:Source) RETURN s.url AS url")}
    assert "https://www.bloomberg.com/news/y" not in urls and "https://www.ft.com/l1" in urls
    events = [(e["deal_id"], e["date"], e["status"]) for e in read(store, "events")]
    assert events == [("L1", "2025-03-01", "announced"), ("L1", "2025-04-01", "funded"),
                      ("L2", "2025-04-01", "announced"), ("L2", "2025-05", "signed")]
    assert store.read("MATCH (e:Event) RETURN count(e) AS n") == [{"n": 4}]  # the old ones are gone


def test_the_first_source_follows_the_deals_source_url(store, full):
    circfin.ingest(store, full)
    # D2's own source becomes the SEC filing L1 and L2 cite; reuters.com/x (L1's own) stays
    write(full[1], DEALS.replace("https://nvidianews.nvidia.com/y", "https://www.sec.gov/Archives/x"))
    report = circfin.ingest(store, full)
    assert report.deals_updated == ["D2"]
    d2 = [(s["rank"], s["url"], s["kind"]) for s in read(store, "sources") if s["deal_id"] == "D2"]
    assert d2 == [(0, "https://www.sec.gov/Archives/x", "filing"), (1, "https://www.crunchbase.com/d2", "news")]
    urls = [r["url"] for r in store.read("MATCH (s:Source) RETURN s.url AS url ORDER BY url")]
    assert "https://nvidianews.nvidia.com/y" not in urls  # no deal cites it any more
    assert len(urls) == len(set(urls))
    assert store.read("MATCH (d:Deal {id: 'D2'}) RETURN d.source_url AS u, d.source_kind AS k") == [
        {"u": "https://www.sec.gov/Archives/x", "k": "filing"}]
    # the SEC node keeps its publisher from the sources table
    assert store.read("MATCH (s:Source {url: 'https://www.sec.gov/Archives/x'}) RETURN s.publisher AS p") == [
        {"p": "SEC"}]


def test_deleting_a_deal_takes_its_events_members_and_own_sources(store, full):
    circfin.ingest(store, full)
    assert circfin.ingest.delete_deals(store, ["L1"]) == 1
    assert {m["deal_id"] for m in read(store, "participants")} == {"L2"}
    assert {e["deal_id"] for e in read(store, "events")} == {"L2"}
    assert store.read("MATCH (e:Event) RETURN count(e) AS n") == [{"n": 2}]
    urls = {r["url"] for r in store.read("MATCH (s:Source) RETURN s.url AS url")}
    # Source nodes are further sources (a deal's own source_url stays on the deal): those
    # L1 alone cited are gone, those another deal still cites stay
    assert urls == {"https://www.sec.gov/Archives/x",  # L2 cites it too
                    "https://www.crunchbase.com/d2"}  # not L1's Bloomberg source
    assert store.read("MATCH ()-[r:PAYS|PAYS_TOP {deal_id: 'L1'}]->() RETURN count(r) AS n") == [{"n": 0}]
    # the members stay entities: deleting a deal deletes no entity
    assert {"jpm", "db", "mufg"} <= {e["id"] for e in read(store, "entities")}
    circfin.ingest.delete_deals(store, ["L2", "D2"])
    assert store.read("MATCH (n) WHERE n:Source OR n:Event OR n:Deal RETURN count(n) AS n") == [{"n": 0}]
    with pytest.raises(InputError, match="no deal with id L1"):
        circfin.ingest.delete_deals(store, ["L1"])


# More than 5,000 deals: an ingest reads every stored deal's hash and history in one scan
# (deal_states, deal_histories) rather than looking its deals up by key.
_FILLER = "".join(f"F{i},2024-01-01,syn,oracle,loan,1,exact,signed,,https://example.com/f{i},low\n"
                  for i in range(5001))


@pytest.mark.parametrize("pad", ["", _FILLER], ids=["a few deals", "over 5,000 deals"])
def test_events_change_a_stored_deals_history_everywhere_it_is_kept(store, tmp_path, pad):
    n_pad = pad.count("\n")
    circfin.ingest(store, csv_files(tmp_path, entities=ENTITIES, deals=DEALS + pad))

    def histories(did: str) -> list[tuple[str, Any, Any]]:
        return [(r["w"], r["d"], r["s"]) for r in store.read(
            "MATCH (d:Deal {id: $id}) RETURN 'deal' AS w, d.ev_days AS d, d.ev_statuses AS s "
            "UNION ALL MATCH ()-[r:PAYS {deal_id: $id}]->() RETURN 'pays' AS w, r.ev_days AS d, r.ev_statuses AS s "
            "UNION ALL MATCH ()-[r:PAYS_TOP {deal_id: $id}]->() "
            "RETURN 'top' AS w, r.ev_days AS d, r.ev_statuses AS s", {"id": did})]

    assert histories("L2") == [("deal", [], []), ("pays", [], []), ("top", [], [])]
    ev = write(tmp_path / "ev.csv", "deal_id,date,status,source_url\nL2,2025-04-01,announced,\nL2,2025-05-02,signed,\n")
    report = circfin.ingest(store, [ev])
    assert report.deals_updated == [] and report.links["events"] == {"new": 1, "updated": 0, "unchanged": 0}
    want = ([day("2025-04-01"), day("2025-05-02")], ["announced", "signed"])
    assert histories("L2") == [("deal", *want), ("pays", *want), ("top", *want)]
    assert histories("L1") == [("deal", [], []), ("pays", [], []), ("top", [], [])]  # untouched
    # the deal moves on: a new status and the event saying so, in one ingest
    write(tmp_path / "deals.csv", DEALS.replace("5000000000,exact,signed", "5000000000,exact,funded") + pad)
    write(ev, "deal_id,date,status,source_url\nL2,2025-04-01,announced,\nL2,2025-05-02,signed,\n"
              "L2,2025-07,funded,\n")
    report = circfin.ingest(store, [tmp_path / "deals.csv", ev])
    assert report.deals_updated == ["L2"] and report.links["events"]["updated"] == 1
    want = ([day("2025-04-01"), day("2025-05-02"), day("2025-07-01")], ["announced", "signed", "funded"])
    assert histories("L2") == [("deal", *want), ("pays", *want), ("top", *want)]
    assert store.read("MATCH ()-[r:PAYS {deal_id: 'L2'}]->() RETURN r.status AS s") == [{"s": "funded"}]
    # the deal's row again without events keeps its history
    report = circfin.ingest(store, [tmp_path / "deals.csv"])
    assert report.deals_unchanged == 3 + n_pad
    assert histories("L2") == [("deal", *want), ("pays", *want), ("top", *want)]
    # a status the stored history contradicts is refused, naming the deals row
    write(tmp_path / "deals.csv", DEALS + pad)  # L2 back to 'signed' without an event
    before = dump(store)
    with pytest.raises(ValidationError) as e:
        circfin.ingest(store, [tmp_path / "deals.csv"])
    assert [(x.line, x.field) for x in e.value.errors] == [(3, "status")]
    assert "contradicts the deal's latest stored event" in str(e.value)
    assert dump(store) == before


# -- financials ------------------------------------------------------------------------------


def test_financials_upsert_per_entity_and_date(store, tmp_path):
    circfin.ingest(store, csv_files(tmp_path, entities=ENTITIES, financials=FINANCIALS))
    fin = write(tmp_path / "financials.csv", (
        "entity_id,as_of,revenue_usd,equity_usd,total_assets_usd,basis,source_url\n"
        "Oracle,2025-11-30,,25000000000,200000000000,10-Q restated,https://www.sec.gov/q\n"  # changed
        "jpm,2024-12-31,,,4000000000000,10-K,\n"  # the same
        "JPMorgan Chase,2025-09,45000000000,,,10-Q,\n"))  # new date, by alias
    spy = Spy(store)
    report = circfin.ingest(spy, [fin])
    assert report.links["financials"] == {"new": 1, "updated": 1, "unchanged": 1}
    assert sorted(r["key"] for p in spy.params("upsert_financials") for r in p["rows"]) == [
        "jpm|2025-09", "oracle|2025-11-30"]
    got = {(f["entity_id"], f["as_of"]): f for f in read(store, "financials")}
    assert sorted(got) == [("jpm", "2024-12-31"), ("jpm", "2025-09"), ("nvidia", "2025-01-26"),
                           ("oracle", "2025-05-31"), ("oracle", "2025-11-30")]
    o = got["oracle", "2025-11-30"]
    assert (o["equity_usd"], o["basis"]) == (25000000000, "10-Q restated")
    assert got["jpm", "2025-09"]["day"] == day("2025-09-30")  # dated by the last day of its period
    assert store.read("MATCH (:Entity {id: 'oracle'})-[:REPORTED]->(f:Financials) RETURN count(f) AS n") == [
        {"n": 2}]
    # a figure left empty in a later row for the same date is removed
    write(fin, "entity_id,as_of,equity_usd,total_assets_usd\nOracle,2025-11-30,,200000000000\n")
    circfin.ingest(store, [fin])
    o = next(f for f in read(store, "financials") if (f["entity_id"], f["as_of"]) == ("oracle", "2025-11-30"))
    assert (o["equity_usd"], o["total_assets_usd"], o["basis"]) == (None, 200000000000, None)


def test_a_deficit_is_the_one_negative_figure(store, tmp_path):
    # buy-backs or losses can leave book equity below zero: that is a fact to record, while a
    # negative revenue, asset or liability total is a typo
    fin = write(tmp_path / "financials.csv", (
        "entity_id,as_of,equity_usd,total_assets_usd,total_liabilities_usd,basis,source_url\n"
        "Oracle,2026-01-30,-1500000000,80000000000,81500000000,10-Q,https://www.sec.gov/q\n"))
    ents = write(tmp_path / "entities.csv", ENTITIES.replace(
        "nvidia,Nvidia,chipmaker,,US,130000000000,,2025-01-26,", "nvidia,Nvidia,chipmaker,,US,130000000000,-2.5e9,2025-01-26,"))
    circfin.ingest(store, [ents, fin])
    got = {(f["entity_id"], f["as_of"]): f for f in read(store, "financials")}
    assert got["oracle", "2026-01-30"]["equity_usd"] == -1500000000
    assert got["nvidia", "2025-01-26"]["equity_usd"] == -2500000000
    for col, text in (("total_liabilities_usd", "-81500000000"), ("total_assets_usd", "-1")):
        bad = write(tmp_path / "bad.csv", f"entity_id,as_of,{col}\nOracle,2026-01-31,{text}\n")
        with pytest.raises(ValidationError) as e:
            circfin.ingest(store, [bad])
        assert [(x.line, x.field) for x in e.value.errors] == [(2, col)] and "negative" in str(e.value)


def test_entities_money_columns_are_one_financials_row(store, tmp_path):
    undated = write(tmp_path / "undated.csv", (
        "entity_id,name,kind,revenue_usd,market_cap_usd,backlog_usd,source_url\n"
        "coreweave,CoreWeave,neocloud,1900000000,,,https://example.com/cw\n"
        "lambda,Lambda,neocloud,,,,\n"))
    when = dt.datetime(2024, 3, 5, 12, 0).timestamp()
    os.utime(undated, (when, when))
    dated = write(tmp_path / "dated.csv", (
        "entity_id,name,kind,equity_usd,market_cap_usd,as_of\n"
        "nebius,Nebius,neocloud,,24000000000,2025-06-30\n"))
    circfin.ingest(store, [undated, dated])
    fin = [(f["entity_id"], f["as_of"], f["revenue_usd"], f["market_cap_usd"], f["source_url"])
           for f in read(store, "financials")]
    assert fin == [("coreweave", "2024-03-05", 1900000000, None, "https://example.com/cw"),
                   ("nebius", "2025-06-30", None, 24000000000, None)]  # lambda: no figure, no row
    assert store.read("MATCH (e:Entity) WHERE e.revenue_usd IS NOT NULL OR e.market_cap_usd IS NOT NULL "
                      "RETURN e.id AS id") == []
    # the same file touched later is a later row; the old one stays as history
    when = dt.datetime(2024, 9, 1, 12, 0).timestamp()
    os.utime(undated, (when, when))
    report = circfin.ingest(store, [undated])
    assert report.links["financials"] == {"new": 1, "updated": 0, "unchanged": 0}
    assert [(f["as_of"], f["revenue_usd"]) for f in read(store, "financials") if f["entity_id"] == "coreweave"] == [
        ("2024-03-05", 1900000000), ("2024-09-01", 1900000000)]


# -- source kinds ----------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "parties", "kind"), [
    ("https://www.sec.gov/Archives/edgar/data/1/x.htm", [], "filing"),
    ("https://efts.sec.gov/LATEST/search", ["sec"], "filing"),  # filing before company
    ("https://find-and-update.company-information.service.gov.uk/company/1", [], "filing"),
    ("https://nvidianews.nvidia.com/news/x", ["nvidia", "Nvidia Corp"], "company"),
    ("https://investor.oracle.com/q", ["Oracle"], "company"),
    ("https://www.societegenerale.com/en/news", ["Société Générale"], "company"),
    ("https://news.bbc.co.uk/x", ["BBC"], "company"),  # a party's own site, even if it is news
    ("https://www.prnewswire.com/news-releases/x", [], "company"),
    ("https://www.reuters.com/technology/x", ["nvidia"], "news"),
    ("https://asia.nikkei.com/x", [], "news"),
    ("https://www.theguardian.com/x", [], "news"),
    ("https://www.crunchbase.com/organization/x", [], "aggregator"),
    ("https://finance.yahoo.com/news/x", [], "aggregator"),
    ("https://someone.substack.com/p/x", [], "aggregator"),
    ("https://example.org/x", [], "other"),
    ("https://xa.com/x", ["xa"], "other"),  # a name of fewer than 3 letters names no site
    ("https://notreuters.com/x", [], "other"),  # a suffix of a host name is not the host
    ("http://[::1", [], "other"),  # unparsable
])
def test_classify_source(url, parties, kind):
    assert classify_source(url, parties) == kind


def test_a_given_kind_wins_over_the_rule_for_every_deal_citing_the_url(store, tmp_path):
    files = csv_files(tmp_path, entities=ENTITIES, deals=DEALS, sources=(
        "deal_id,url,kind,publisher,published\n"
        "L2,https://www.reuters.com/x,aggregator,,\n"  # L1's own source, classified 'news' otherwise
        "D2,https://www.oracle.com/pr,,,\n"))  # oracle is D2's payer: company
    circfin.ingest(store, files)
    got = {(s["deal_id"], s["rank"]): (s["url"], s["kind"]) for s in read(store, "sources")}
    assert got["L1", 0] == ("https://www.reuters.com/x", "aggregator")
    assert got["L2", 1] == ("https://www.reuters.com/x", "aggregator")
    assert got["D2", 1] == ("https://www.oracle.com/pr", "company")
    assert store.read("MATCH (d:Deal {id: 'L1'}) RETURN d.source_kind AS k") == [{"k": "aggregator"}]


# -- atomic -------------------------------------------------------------------------------------


BAD_ROWS = {
    "participants": ("L2,payer,jpm,0.5,", "L2,payer,jpm,1.5,", "share"),
    "sources": ("D2,https://www.crunchbase.com/d2,news,,", "D2,https://www.crunchbase.com/d2,rumour,,", "kind"),
    "events": ("L2,2025-05,signed,", "L2,2025-05,signed,ftp://x", "source_url"),
    "financials": ("jpm,2024-12-31,,4000000000000,10-K,", "jpm,2024-12-31,,-4,10-K,", "total_assets_usd"),
    "entities": ("mufg,MUFG,bank,,JP,,,,", "mufg,MUFG,bank,,JP,-1,,,", "revenue_usd"),
}


@pytest.mark.parametrize("table", sorted(BAD_ROWS))
def test_one_bad_row_in_any_table_writes_nothing(store, full, tmp_path, table):
    first = csv_files(tmp_path / "first", entities=ENTITIES, deals=DEALS)
    circfin.ingest(store, first)
    before = dump(store)
    good, bad, field = BAD_ROWS[table]
    path = next(p for p in full if p.stem == table)
    text = path.read_text()
    assert good in text
    write(path, text.replace(good, bad))
    write(full[1], DEALS.replace("Loan 2", "Loan two"))  # a deal update rides along
    with pytest.raises(ValidationError) as e:
        circfin.ingest(store, full)
    line = text.splitlines().index(good) + 1
    assert [(x.path, x.line, x.field) for x in e.value.errors] == [(str(path), line, field)]
    assert dump(store) == before


def test_an_entity_written_by_an_older_version_loses_its_figures_and_keeps_the_row(store, tmp_path):
    # Older versions kept figures on the entity. One row then removes country and
    # the figures, and sets a new source_url: each property as the row says.
    store.write([("CREATE (:Entity {id: 'e1', name: 'N', kind: 'bank', aliases: ['a'], name_keys: ['e1', 'n', 'a'], "
                  "country: 'US', source_url: 'https://x.org/old', revenue_usd: 5, backlog_usd: 5}) "
                  "RETURN 1 AS one", {})])
    circfin.ingest(store, [write(tmp_path / "e.csv", "entity_id,name,kind,country,source_url\n"
                                                     "e1,N2,spv,,https://y.org/new\n")])
    got = store.read("MATCH (e:Entity {id: 'e1'}) RETURN properties(e) AS p")[0]["p"]
    assert got == {"id": "e1", "name": "N2", "kind": "spv", "aliases": [], "name_keys": ["e1", "n2"],
                   "source_url": "https://y.org/new"}
