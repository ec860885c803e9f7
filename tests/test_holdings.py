"""Holdings and assets: what an analyst loads is what the snapshot gives back.

An entity named as a holding's asset is its listed equity; the latest holding on
or before the as-of date counts; re-ingesting changes nothing; an asset's depth
comes from its row, its issuer's market value, or its class.
"""

from __future__ import annotations

import pytest

from circfin.errors import ValidationError
from circfin.graph.model import DEFAULT_DEPTH_USD, EQUITY_DEPTH_PER_MARKET_CAP
from circfin.ingest import ingest
from circfin.loops.from_store import snapshot
from tests.conftest import write

U = "https://example.com/s"
ENTITIES = ("entity_id,name,kind,aliases,country\n"
            "fund,Big Fund,hedge_fund,,US\nchipco,ChipCo,chipmaker,CHPC,US\nbank,A Bank,bank,,DE\n")
FIN = "entity_id,as_of,market_cap_usd,source_url\nchipco,2025-06-30,3000000000000," + U + "\n"
ASSETS = ("asset_id,name,class,issuer,depth_usd,source_url\n"
          "ust,US Treasury bills,treasury,,,\n"
          "chipco-notes,ChipCo 2030 notes,bond,ChipCo,5000000000," + U + "\n")
HOLDINGS = ("holder,asset,as_of,value_usd,shares,source_url\n"
            "fund,CHPC,2025-03-31,100,10," + U + "\n"
            "fund,chipco,2025-06-30,80,10," + U + "\n"
            "bank,ust,2025-06-30,500,," + U + "\n"
            "bank,chipco-notes,2025-06-30,40,," + U + "\n")


@pytest.fixture
def loaded(store, tmp_path):
    files = [write(tmp_path / n, t) for n, t in (("e.csv", ENTITIES), ("f.csv", FIN), ("a.csv", ASSETS),
                                                 ("h.csv", HOLDINGS))]
    report = ingest(store, files)
    return store, files, report


def test_an_entity_named_as_asset_is_its_listed_equity(loaded):
    store, _, report = loaded
    assert report.links["assets"]["new"] == 3  # ust, the notes, and ChipCo's equity
    assets = {a["asset_id"]: a for a in snapshot(store).assets}
    eq = assets["chipco"]
    assert (eq["class"], eq["issuer"], eq["name"], eq["implied"]) == ("equity", "chipco", "ChipCo", True)
    assert assets["chipco-notes"]["issuer"] == "chipco" and assets["ust"]["issuer"] is None


def test_the_latest_holding_on_or_before_the_date_counts(loaded):
    store, _, _ = loaded
    now = {(h["holder"], h["asset"]): h["value_usd"] for h in snapshot(store).holdings}
    assert now == {("fund", "chipco"): 80, ("bank", "ust"): 500, ("bank", "chipco-notes"): 40}
    before = {(h["holder"], h["asset"]): h["value_usd"] for h in snapshot(store, as_of="2025-05").holdings}
    assert before == {("fund", "chipco"): 100}
    assert snapshot(store, as_of="2024").holdings == []


def test_a_position_sold_is_a_dated_zero_and_then_held_no_more(loaded, tmp_path):
    store, _, _ = loaded
    ingest(store, [write(tmp_path / "exit.csv", "holder,asset,as_of,value_usd,shares,source_url\n"
                                                "fund,chipco,2025-09-30,0,0," + U + "\n")])
    before = {(h["holder"], h["asset"]): h["value_usd"] for h in snapshot(store, as_of="2025-08").holdings}
    assert before[("fund", "chipco")] == 80
    now = {(h["holder"], h["asset"]) for h in snapshot(store).holdings}
    assert ("fund", "chipco") not in now and ("bank", "ust") in now


def test_depth_from_the_row_the_market_value_or_the_class(loaded):
    store, _, _ = loaded
    assets = {a["asset_id"]: a for a in snapshot(store).assets}
    assert (assets["chipco-notes"]["depth"], assets["chipco-notes"]["depth_basis"]) == (5e9, "given")
    assert assets["chipco"]["depth"] == pytest.approx(3e12 * EQUITY_DEPTH_PER_MARKET_CAP)
    assert assets["chipco"]["depth_basis"] == "market_cap"
    assert (assets["ust"]["depth"], assets["ust"]["depth_basis"]) == (DEFAULT_DEPTH_USD["treasury"],
                                                                      "class_default")
    # before ChipCo's market value is known, its equity takes the class default
    early = {a["asset_id"]: a for a in snapshot(store, as_of="2025-03-31").assets}
    assert early["chipco"]["depth"] == DEFAULT_DEPTH_USD["equity"]


def test_ingesting_again_changes_nothing_and_a_changed_value_updates(loaded, tmp_path):
    store, files, _ = loaded
    again = ingest(store, files)
    assert again.links["holdings"] == {"new": 0, "updated": 0, "unchanged": 4}
    assert again.links["assets"]["new"] == 0 and again.links["assets"]["updated"] == 0
    changed = write(tmp_path / "h2.csv", "holder,asset,as_of,value_usd,source_url\n"
                    "bank,ust,2025-06-30,450," + U + "\n")
    rep = ingest(store, [changed])
    assert rep.links["holdings"] == {"new": 0, "updated": 1, "unchanged": 0}
    assert {(h["holder"], h["asset"]): h["value_usd"] for h in snapshot(store).holdings}[("bank", "ust")] == 450
    # an assets row for the entity's equity gives it a depth of its own
    rows = write(tmp_path / "a2.csv", "asset_id,name,class,depth_usd\nchipco,ChipCo shares,equity,7e10\n")
    ingest(store, [rows])
    eq = {a["asset_id"]: a for a in snapshot(store).assets}["chipco"]
    assert (eq["depth"], eq["depth_basis"], eq["issuer"], eq["implied"]) == (7e10, "given", "chipco", False)


def test_a_bad_holdings_row_writes_nothing(store, tmp_path):
    files = [write(tmp_path / "e.csv", ENTITIES),
             write(tmp_path / "h.csv", "holder,asset,as_of,value_usd,source_url\n"
                   "fund,chipco,2025-06-30,80," + U + "\nfund,nothing-like-it,2025-06-30,1," + U + "\n")]
    with pytest.raises(ValidationError) as e:
        ingest(store, files)
    assert "h.csv:3" in str(e.value) and "'asset'" in str(e.value)
    assert snapshot(store).holdings == [] and snapshot(store).assets == []
