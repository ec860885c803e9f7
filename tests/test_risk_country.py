"""Exposure by institution and country (circfin.risk.country, `circfin exposure`): a small store
built by hand with the numbers worked out below, and the seed."""

from __future__ import annotations

import json

import pytest

from circfin.ingest import ingest
from circfin.loops.from_store import snapshot
from circfin.risk.country import AI_KINDS, INSTRUMENTS, exposure_by_institution
from circfin.risk.exposures import EXPOSURE_RULES, build_exposures

from .conftest import SEED, write

# Bank Syndicate lends $10B to Project X (an SPV): BNP 50 %, SocGen and Deutsche Bank no share
# (they split the other 50 % equally: $2.5B each, an estimate). Syndicate Two lends OpenAI an
# undisclosed amount (BNP and Deutsche Bank). Fund buys $3B of OpenAI equity and lends Project X
# $1B (low confidence). CoreWeave gives BNP $1B of warrants; BNP backstops $0.5B of CoreWeave
# capacity. Not counted: BNP's $4B Acme bond (Acme is no AI company), Deutsche Bank's announced
# guarantee, OpenAI's cloud order from CoreWeave (commercial). SocGen's credit line to CoreWeave
# has no amount. Nvidia (a chipmaker, not an institution by default) holds $2B of OpenAI.
T = {
    "deals.csv": """deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence
L1,2025-03-01,Bank Syndicate,Project X,loan,10000000000,exact,funded,loan,https://example.org/l1,high
U1,2025-04-01,Syndicate Two,OpenAI,loan,,undisclosed,funded,loan,https://example.org/u1,high
E1,2025-02-01,Fund,OpenAI,equity_investment,3000000000,exact,completed,round,https://example.org/e1,high
S1,2025-05-01,Fund,Project X,spv_financing,1000000000,exact,funded,spv,https://example.org/s1,low
W1,2025-03-15,CoreWeave,BNP Paribas,warrant,1000000000,exact,signed,warrants,https://example.org/w1,medium
K1,2025-06-01,BNP Paribas,CoreWeave,capacity_backstop,500000000,up_to,signed,backstop,https://example.org/k1,high
B1,2025-06-01,BNP Paribas,Acme,bond,4000000000,exact,funded,bond,https://example.org/b1,high
G1,2025-06-01,Deutsche Bank,CoreWeave,guarantee,2000000000,exact,announced,guarantee,https://example.org/g1,high
C1,2025-07-01,Societe Generale,CoreWeave,credit_facility,,undisclosed,signed,revolver,https://example.org/c1,medium
P1,2025-07-01,OpenAI,CoreWeave,cloud_commitment,5000000000,exact,signed,cloud,https://example.org/p1,high
N1,2025-01-01,Nvidia,OpenAI,equity_investment,2000000000,exact,completed,stake,https://example.org/n1,high
""",
    "entities.csv": """entity_id,name,kind,country,equity_usd,as_of,source_url
openai,OpenAI,ai_lab,US,,,
coreweave,CoreWeave,neocloud,US,,,
project-x,Project X,spv,US,,,
nvidia,Nvidia,chipmaker,US,,,
acme,Acme,other,US,,,
bnp-paribas,BNP Paribas,bank,FR,,,
societe-generale,Societe Generale,bank,fr,50000000000,2025-06-30,https://example.org/sg
deutsche-bank,Deutsche Bank,bank,DE,,,
fund,Fund,asset_manager,GB,,,
bank-syndicate,Bank Syndicate,bank,,,,
syndicate-two,Syndicate Two,bank,,,,
""",
    "fin.csv": """entity_id,as_of,equity_usd,total_assets_usd,total_liabilities_usd,basis,source_url
BNP Paribas,2025-09-30,100000000000,,,10-Q,https://example.org/bnp
Deutsche Bank,2025-09-30,,1000000000000,940000000000,10-Q,https://example.org/db
""",
    "members.csv": """deal_id,side,member,share,source_url
L1,payer,BNP Paribas,0.5,
L1,payer,Societe Generale,,
L1,payer,Deutsche Bank,,
U1,payer,BNP Paribas,,
U1,payer,Deutsche Bank,,
""",
}


@pytest.fixture
def web(store, tmp_path):
    ingest(store, [write(tmp_path / "t" / name, text) for name, text in T.items()])
    return store


def by_id(rep):
    return {i.id: i for i in rep.institutions}


def test_each_institution_by_instrument_equity_and_undisclosed(web):
    rep = exposure_by_institution(snapshot(web, as_of="2025-12-31"))
    got = by_id(rep)
    assert list(got) == ["bnp-paribas", "fund", "deutsche-bank", "societe-generale"]  # largest first
    bnp = got["bnp-paribas"]
    # its half of the $10B loan, the warrants it holds, the backstop at its cap; not the Acme bond
    assert bnp.exposure_usd == pytest.approx(5e9 + 1e9 + 0.5e9)
    assert bnp.by_instrument == pytest.approx({"loan": 5e9, "warrant": 1e9, "capacity_backstop": 0.5e9})
    assert (bnp.equity_usd, bnp.equity_figure, bnp.equity_as_of) == (100e9, "equity_usd", "2025-09-30")
    assert bnp.exposure_to_equity == pytest.approx(0.065)
    assert (bnp.undisclosed_deals, bnp.undisclosed_deal_ids, bnp.estimated_usd) == (1, ["U1"], 0.0)
    sg = got["societe-generale"]
    assert (sg.exposure_usd, sg.estimated_usd, sg.country) == (pytest.approx(2.5e9), pytest.approx(2.5e9), "FR")
    assert sg.exposure_to_equity == pytest.approx(2.5e9 / 50e9)
    assert sg.undisclosed_deal_ids == ["C1"]
    db = got["deutsche-bank"]  # equity from its balance sheet: 1000 - 940; the announced guarantee is not counted
    assert (db.exposure_usd, db.equity_usd, db.equity_figure) == (
        pytest.approx(2.5e9), pytest.approx(60e9), "total_assets_usd - total_liabilities_usd")
    assert db.by_instrument == pytest.approx({"loan": 2.5e9}) and db.undisclosed_deal_ids == ["U1"]
    fund = got["fund"]
    assert fund.by_instrument == pytest.approx({"equity_investment": 3e9, "spv_financing": 1e9})
    assert (fund.equity_usd, fund.exposure_to_equity) == (None, None)
    # the syndicates hold nothing themselves: their members carry every share
    assert "bank-syndicate" not in got and "syndicate-two" not in got
    assert rep.total_usd == pytest.approx(6.5e9 + 4e9 + 2.5e9 + 2.5e9)


def test_a_deficit_is_shown_with_no_ratio(web, tmp_path):
    # a later quarter leaves Deutsche Bank in deficit: its equity is that figure, not an older
    # positive balance sheet, and no share of a deficit is computed
    ingest(web, [write(tmp_path / "deficit.csv", "entity_id,as_of,equity_usd,basis,source_url\n"
                                                  "Deutsche Bank,2025-12-31,-5000000000,10-K,https://example.org/d\n")])
    db = by_id(exposure_by_institution(snapshot(web, as_of="2026-01-31")))["deutsche-bank"]
    assert (db.equity_usd, db.equity_figure, db.equity_as_of) == (-5e9, "equity_usd", "2025-12-31")
    assert db.exposure_usd == pytest.approx(2.5e9) and db.exposure_to_equity is None
    assert db.to_dict()["exposure_to_equity"] is None


def test_country_totals_count_a_shared_undisclosed_deal_once(web):
    rep = exposure_by_institution(snapshot(web, as_of="2025-12-31"))
    countries = [c.to_dict() for c in rep.by_country]
    assert countries == [
        {"country": "FR", "exposure_usd": pytest.approx(9e9), "institutions": 2, "undisclosed_deals": 2,
         "managed_usd": 0.0},
        {"country": "GB", "exposure_usd": pytest.approx(4e9), "institutions": 1, "undisclosed_deals": 0,
         "managed_usd": 0.0},
        {"country": "DE", "exposure_usd": pytest.approx(2.5e9), "institutions": 1, "undisclosed_deals": 1,
         "managed_usd": 0.0},
    ]


def test_filters_country_kind_target_confidence_and_date(web):
    snap = snapshot(web, as_of="2025-12-31")
    assert list(by_id(exposure_by_institution(snap, countries=["fr"]))) == ["bnp-paribas", "societe-generale"]
    # every kind: Nvidia's OpenAI stake counts too; commercial deals still do not (CoreWeave holds nothing)
    every = by_id(exposure_by_institution(snap, kinds=None))
    assert every["nvidia"].by_instrument == {"equity_investment": 2e9} and "coreweave" not in every
    assert "openai" not in every  # it buys cloud: no investor, lender or guarantor is exposed
    # one target: OpenAI
    one = by_id(exposure_by_institution(snap, to=["openai"]))
    assert {k: (v.exposure_usd, v.undisclosed_deal_ids) for k, v in one.items()} == {
        "fund": (3e9, []), "bnp-paribas": (0.0, ["U1"]), "deutsche-bank": (0.0, ["U1"])}
    # medium confidence and up: Fund's low-confidence SPV loan drops out
    medium = by_id(exposure_by_institution(snap, confidences=("high", "medium")))
    assert medium["fund"].exposure_usd == pytest.approx(3e9)
    high = by_id(exposure_by_institution(snap, confidences=("high",)))
    assert high["bnp-paribas"].exposure_usd == pytest.approx(5.5e9)  # the medium warrant drops out
    # as of a date before the loan: no loan, and BNP's equity figure is not known yet
    early = by_id(exposure_by_institution(snapshot(web, as_of="2025-02-28")))
    assert set(early) == {"fund"} and early["fund"].exposure_usd == pytest.approx(3e9)
    banks = by_id(exposure_by_institution(snapshot(web, as_of="2025-04-30"), kinds=["bank"]))
    assert banks["bnp-paribas"].equity_usd is None and banks["bnp-paribas"].exposure_usd == pytest.approx(6e9)


def test_bad_arguments(web):
    snap = snapshot(web)
    with pytest.raises(ValueError, match="unknown kind 'banks'"):
        exposure_by_institution(snap, kinds=["banks"])
    with pytest.raises(ValueError, match="no entity with id 'nobody'"):
        exposure_by_institution(snap, to=["nobody"])


def _parent_snap():
    import pandas as pd

    from circfin.loops.from_store import Snapshot

    ents = [{"id": i, "name": i.title(), "kind": k, "parent": p, "country": c}
            for i, k, p, c in [("openai", "ai_lab", None, "US"), ("stargate", "spv", "openai", "US"),
                               ("site", "other", "stargate", "US"), ("acme", "other", None, "US"),
                               ("bank", "bank", None, "FR"), ("bank2", "bank", None, "DE")]]
    deals = pd.DataFrame([
        {"deal_id": d, "date": "2025-01-01", "payer": a, "payee": b, "type": t, "amount_usd": v,
         "status": "funded", "confidence": "high"}
        for d, a, b, t, v in [("L", "bank", "site", "loan", 10e9), ("E", "bank", "openai", "equity_investment", 3e9),
                              ("B", "bank2", "acme", "bond", 4e9)]])
    return Snapshot(deals=deals, entities=ents)


def test_a_named_target_brings_its_subsidiaries_and_mixes_with_ai():
    snap = _parent_snap()
    # exposure to OpenAI includes its SPV's site (its parent chain reaches OpenAI)
    rep = exposure_by_institution(snap, to=["openai"])
    assert {i.id: i.exposure_usd for i in rep.institutions} == {"bank": pytest.approx(13e9)}
    assert rep.subsidiaries == {"stargate": "openai", "site": "openai"}
    assert rep.to_dict()["subsidiaries"] == [{"id": "site", "of": "openai"}, {"id": "stargate", "of": "openai"}]
    alone = exposure_by_institution(snap, to=["openai"], subsidiaries=False)
    assert {i.id: i.exposure_usd for i in alone.institutions} == {"bank": pytest.approx(3e9)}
    assert alone.subsidiaries == {}
    # the nearest named ancestor owns a subsidiary; a named entity is nobody's subsidiary
    both = exposure_by_institution(snap, to=["openai", "stargate"])
    assert both.subsidiaries == {"site": "stargate"}
    # the AI class (by kind: the site is of kind other) together with a named entity
    mixed = exposure_by_institution(snap, to=["ai", "acme"])
    assert mixed.to == "ai,acme" and set(mixed.targets) == {"openai", "stargate", "acme"}
    assert {i.id: i.exposure_usd for i in mixed.institutions} == {"bank2": pytest.approx(4e9),
                                                                 "bank": pytest.approx(3e9)}
    assert exposure_by_institution(snap).to == "ai"


def test_holdings_managed_for_clients_are_listed_apart_not_set_against_equity():
    from dataclasses import replace

    # the bank holds $2B of OpenAI's equity for itself and $30B for its custody clients
    snap = replace(_parent_snap(),
                   assets=[{"asset_id": "openai", "issuer": "openai", "class": "equity"}],
                   holdings=[{"holder": "bank", "asset": "openai", "value_usd": 2e9, "capacity": "own"},
                             {"holder": "bank2", "asset": "openai", "value_usd": 30e9, "capacity": "managed"}])
    rep = exposure_by_institution(snap, to=["openai"], subsidiaries=False)
    got = by_id(rep)
    assert got["bank"].exposure_usd == pytest.approx(5e9)  # its $3B stake and its own $2B of shares
    assert got["bank"].by_instrument["holdings"] == pytest.approx(2e9) and got["bank"].managed_usd == 0
    assert got["bank2"].exposure_usd == 0 and "holdings" not in got["bank2"].by_instrument
    assert got["bank2"].managed_usd == pytest.approx(30e9)
    assert [h["capacity"] for h in got["bank2"].holdings] == ["managed"]
    assert rep.total_usd == pytest.approx(5e9)
    de = next(c for c in rep.by_country if c.country == "DE")
    assert (de.exposure_usd, de.managed_usd) == (0, pytest.approx(30e9))


def test_instrument_sides_agree_with_the_shock_models():
    for typ, (side, _) in INSTRUMENTS.items():
        assert EXPOSURE_RULES[typ][0] == side, typ
        assert EXPOSURE_RULES[typ][1] in ("equity", "claim"), typ
    assert set(AI_KINDS) == {"ai_lab", "chipmaker", "hyperscaler", "neocloud", "datacenter", "spv"}


def test_cli_json_and_table(web, cli):
    out = cli("exposure", "--as-of", "2025-12-31", "--format", "json", check=True)
    data = json.loads(out.stdout)
    bnp = data["institutions"][0]
    assert {k: bnp[k] for k in ("id", "name", "country", "equity_usd", "undisclosed_deals")} == {
        "id": "bnp-paribas", "name": "BNP Paribas", "country": "FR", "equity_usd": 100e9, "undisclosed_deals": 1}
    assert bnp["exposure_usd"] == pytest.approx(6.5e9) and bnp["exposure_to_equity"] == pytest.approx(0.065)
    assert bnp["by_instrument"]["loan"] == pytest.approx(5e9)
    assert data["by_country"][0] == {"country": "FR", "exposure_usd": pytest.approx(9e9), "institutions": 2,
                                     "undisclosed_deals": 2, "managed_usd": 0.0}
    fr = json.loads(cli("exposure", "--country", "DE", "--to", "OpenAI,Project X", "--format", "json",
                        check=True).stdout)
    assert [(i["id"], i["exposure_usd"], i["undisclosed_deals"]) for i in fr["institutions"]] == [
        ("deutsche-bank", pytest.approx(2.5e9), 1)]
    table = cli("exposure", "--kind", "all", "--min-confidence", "high", check=True).stdout
    assert "BNP Paribas" in table and "Nvidia" in table and "By country" in table and "6.50%" not in table
    assert "listed equity and bonds held" in table
    mixed = json.loads(cli("exposure", "--to", "ai,Acme", "--as-of", "2025-12-31", "--format", "json",
                           check=True).stdout)
    assert mixed["to"] == "ai,acme"
    assert mixed["institutions"][0]["exposure_usd"] == pytest.approx(10.5e9)  # BNP: + its Acme bond
    bad = cli("exposure", "--to", "Nobdy Inc")
    assert bad.returncode == 1 and "no entity called" in bad.stderr
    assert cli("exposure", "--kind", "banks").returncode == 1
    assert "Example:" in cli("exposure", "--help", check=True).stdout


def test_seed_french_banks_are_in_it(store):
    ingest(store, [SEED])
    rep = exposure_by_institution(snapshot(store))
    got = by_id(rep)
    assert got["bnp-paribas"].exposure_usd > 0 and got["bnp-paribas"].country == "FR"
    assert got["bnp-paribas"].by_instrument.get("loan", 0) > 0  # its share of the Project Jupiter loan
    fr = next(c for c in rep.by_country if c.country == "FR")
    assert fr.exposure_usd >= got["bnp-paribas"].exposure_usd and fr.institutions >= 2
    assert fr.exposure_usd == pytest.approx(sum(i.exposure_usd for i in rep.institutions if i.country == "FR"))
    assert all(i.kind in ("bank", "private_credit", "hedge_fund", "asset_manager", "sovereign_fund")
               for i in rep.institutions)
    # nothing lost: every kind, every entity a target -> the shock models' equity and claim
    # records of these deal types, dollar for dollar
    snap = snapshot(store)
    every = exposure_by_institution(snap, to=[e["id"] for e in snap.entities], kinds=None)
    net = build_exposures(snap.deals, snap.entities, participants=snap.participants)
    issuers = {a["asset_id"]: a["issuer"] for a in snap.assets}
    held = sum(h["value_usd"] for h in snap.holdings if issuers.get(h["asset"]) and h["capacity"] == "own")
    managed = sum(h["value_usd"] for h in snap.holdings if issuers.get(h["asset"]) and h["capacity"] == "managed")
    assert held > 0  # the seed's own holdings of listed equity count too, at their reported value
    assert every.total_usd == pytest.approx(sum(r.amount_usd for r in net.records if r.type in INSTRUMENTS)
                                            + held)
    # holdings managed for clients (the 13F stakes) are listed apart, not in the exposure
    assert sum(i.managed_usd for i in every.institutions) == pytest.approx(managed)
    nt = by_id(rep)["northern-trust"]
    assert nt.managed_usd == pytest.approx(47_331_798_000) and "holdings" not in nt.by_instrument
    assert nt.holdings[0]["capacity"] == "managed"
    us = next(c for c in rep.by_country if c.country == "US")
    assert us.managed_usd == pytest.approx(sum(i.managed_usd for i in rep.institutions if i.country == "US"))
    magnetar = by_id(rep)["magnetar"]
    assert magnetar.by_instrument["holdings"] == pytest.approx(4.9e9)
    assert magnetar.holdings[0]["asset"] == "coreweave"
    assert every.total_usd > rep.total_usd
