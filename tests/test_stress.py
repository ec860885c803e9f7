"""circfin stress: one scenario through credit, fire sales and margin calls.

Small stores with numbers worked by hand (the geometric series of leverage-targeting
sales, a partial payer's creditor, a stablecoin issuer's forced sales), the
scenario file's errors as file:line: field, and the shipped scenarios on the seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from circfin.errors import ValidationError
from circfin.ingest import ingest
from circfin.loops.from_store import snapshot
from circfin.risk.stress import load_scenario, run_stress, stress
from tests.conftest import write

U = "https://example.com/s"
SEED = Path(__file__).resolve().parent.parent / "seed"
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _load(store, tmp_path, **tables: str) -> None:
    ingest(store, [write(tmp_path / f"{k}.csv", v) for k, v in tables.items()])


def _scenario(tmp_path, text: str):
    return load_scenario(write(tmp_path / "s.yaml", text))


ENT = "entity_id,name,kind,country\n"


def test_a_leverage_targeting_bank_sells_into_its_own_price_fall(store, tmp_path):
    # bank: total assets 1e12, equity 1e11 (leverage 9), holds 1e11 of ChipCo's equity
    # (depth 1e12). A 10 % fall costs 1e10; it sells 9 x 1e10 spread by weight 0.1, so 9e9,
    # and the price falls 0.009; each next round is 0.09 of the last (9 x 0.1 x 1e11/1e12).
    _load(store, tmp_path,
          entities=ENT + "bank,A Bank,bank,DE\nchipco,ChipCo,chipmaker,US\n",
          financials="entity_id,as_of,total_assets_usd,equity_usd\nbank,2025-06-30,1e12,1e11\n",
          assets="asset_id,name,class,issuer,depth_usd\nchipco,ChipCo shares,equity,chipco,1e12\n",
          holdings=f"holder,asset,as_of,value_usd,source_url\nbank,chipco,2025-06-30,1e11,{U}\n")
    sc = _scenario(tmp_path, "shocks:\n  - equity_of: [ChipCo]\n    fall: 0.1\nchannels: [fire_sale]\n"
                             "rounds: 40\n")
    res = run_stress(sc, snapshot(store))
    bank = next(e for e in res.entities if e["id"] == "bank")
    assert bank["by_channel"]["price"] == pytest.approx(1e10)
    assert bank["by_channel"]["fire_sale"] == pytest.approx(9e8 / (1 - 0.09), rel=1e-9)
    assert bank["by_channel"]["credit"] == 0 and bank["by_channel"]["margin"] == 0
    assert res.price_fall["chipco"] == pytest.approx(0.1 + 0.009 / (1 - 0.09), rel=1e-9)
    assert bank["country"] == "DE" and res.by_country[0]["country"] == "DE"
    assert res.negative_equity == []


def test_a_partial_payers_lender_loses_what_it_does_not_pay(store, tmp_path):
    # The lab owes the bank a 5e10 loan and pays half: the bank (equity 1e11) loses 2.5e10.
    _load(store, tmp_path,
          entities=ENT + "bank,A Bank,bank,FR\nlab,The Lab,ai_lab,US\n",
          financials="entity_id,as_of,equity_usd\nbank,2025-06-30,1e11\n",
          deals="deal_id,date,payer,payee,type,amount_usd,status,source_url,confidence\n"
                f"D1,2025-01-15,bank,lab,loan,5e10,funded,{U},high\n")
    sc = _scenario(tmp_path, "partial_payers:\n  - entity: The Lab\n    pays: 0.5\n")
    res = run_stress(sc, snapshot(store))
    losses = {e["id"]: e for e in res.entities}
    assert losses["bank"]["by_channel"]["credit"] == pytest.approx(2.5e10)
    assert "lab" not in losses  # not paying is not its own loss
    assert res.total_loss_usd == pytest.approx(2.5e10)
    assert res.amplification == pytest.approx(1.0) and res.cut_legs == []
    assert [c["country"] for c in res.by_country] == ["FR"]


def test_a_stablecoin_run_is_met_by_selling_reserves(store, tmp_path):
    # 20 % of the issuer's 1e11 liabilities are redeemed: it sells 2e10 pro rata to its
    # reserves (1e10 of bills, depth 1e12: -1 %; 1e10 of bitcoin, depth 1e11: -10 %). The
    # next round it loses 5e10 x 0.01 + 5e10 x 0.1 on what it holds, and a fund holding
    # 1e10 of bitcoin loses 1e9. Neither targets leverage, so nothing more moves.
    _load(store, tmp_path,
          entities=ENT + "coin,CoinCo,crypto,SV\nfund,A Fund,asset_manager,CH\n",
          financials="entity_id,as_of,total_liabilities_usd\ncoin,2025-06-30,1e11\n",
          assets="asset_id,name,class,depth_usd\nust,Bills,treasury,1e12\nbtc,Bitcoin,crypto,1e11\n",
          holdings="holder,asset,as_of,value_usd,source_url\n"
                   f"coin,ust,2025-06-30,5e10,{U}\ncoin,btc,2025-06-30,5e10,{U}\n"
                   f"fund,btc,2025-06-30,1e10,{U}\n")
    sc = _scenario(tmp_path, "redemptions:\n  - issuer: CoinCo\n    share: 0.2\n")
    res = run_stress(sc, snapshot(store))
    losses = {e["id"]: e["by_channel"]["fire_sale"] for e in res.entities}
    assert losses == pytest.approx({"coin": 5.5e9, "fund": 1e9})
    assert res.price_fall == pytest.approx({"ust": 0.01, "btc": 0.1})
    assert [e["round"] for e in _rounds(res, "fund")] == [2]


def _rounds(res, eid):
    e = next(x for x in res.entities if x["id"] == eid)
    return [{"round": t + 1, **r} for t, r in enumerate(e["by_round"]) if r]


def test_a_called_hedge_fund_sells_and_deepens_the_fall(store, tmp_path):
    # equity 1e9 on 3e9 of ChipCo: a 20 % fall leaves 0.4e9 on 2.4e9, below the 25 % haircut
    _load(store, tmp_path,
          entities=ENT + "fund,Levered,hedge_fund,US\nchipco,ChipCo,chipmaker,US\n",
          financials="entity_id,as_of,equity_usd\nfund,2025-06-30,1e9\n",
          assets="asset_id,name,class,issuer,depth_usd\nchipco,ChipCo shares,equity,chipco,1e10\n",
          holdings=f"holder,asset,as_of,value_usd,source_url\nfund,chipco,2025-06-30,3e9,{U}\n")
    sc = _scenario(tmp_path, "shocks:\n  - asset: chipco\n    fall: 0.2\n")
    res = run_stress(sc, snapshot(store))
    fund = next(e for e in res.entities if e["id"] == "fund")
    assert fund["by_channel"]["price"] == pytest.approx(6e8)
    assert fund["by_channel"]["margin"] > 0
    extra = res.price_fall["chipco"] - 0.2
    assert extra > 0
    # its loss beyond the shock is its holding times the extra fall its sales caused
    assert fund["by_channel"]["margin"] + fund["by_channel"]["fire_sale"] == pytest.approx(3e9 * extra, rel=1e-6)
    off = run_stress(_scenario(tmp_path, "shocks:\n  - asset: chipco\n    fall: 0.2\nchannels: [credit]\n"),
                     snapshot(store))
    assert off.price_fall == {"chipco": pytest.approx(0.2)}


def _custodian(store, tmp_path, capacity: str | None):
    # A custodian bank (equity 1e9, total assets 2e10: leverage 19) holds 5e9 of ChipCo
    # (depth 1e12). ChipCo falls 30 %: the stake loses 1.5e9, more than the bank's equity.
    col, cell = ("capacity,", f"{capacity},") if capacity else ("", "")
    _load(store, tmp_path,
          entities=ENT + "cust,A Custodian,bank,US\nchipco,ChipCo,chipmaker,US\n",
          financials="entity_id,as_of,total_assets_usd,equity_usd\ncust,2025-06-30,2e10,1e9\n",
          assets="asset_id,name,class,issuer,depth_usd\nchipco,ChipCo shares,equity,chipco,1e12\n",
          holdings=f"holder,asset,as_of,value_usd,{col}source_url\ncust,chipco,2025-06-30,5e9,{cell}{U}\n")
    sc = _scenario(tmp_path, "shocks:\n  - equity_of: [ChipCo]\n    fall: 0.3\ncredit: clearing\n")
    return run_stress(sc, snapshot(store))


def test_a_managed_stake_loses_for_the_clients_not_the_manager(store, tmp_path):
    res = _custodian(store, tmp_path, "managed")
    assert [h["capacity"] for h in snapshot(store).holdings] == ["managed"]  # stored and read back
    assert res.entities == [] and res.negative_equity == [] and res.defaults == []
    assert res.total_loss_usd == 0
    # the manager does not sell its clients' stake: the price falls by the shock alone
    assert res.price_fall == {"chipco": pytest.approx(0.3)}
    assert res.managed_loss_usd == pytest.approx(1.5e9)
    (m,) = res.managed
    assert (m["id"], m["managed_usd"], m["loss_usd"]) == ("cust", pytest.approx(5e9), pytest.approx(1.5e9))
    assert m["by_asset"] == {"chipco": pytest.approx(1.5e9)}


@pytest.mark.parametrize("capacity", ["own", None])  # no capacity column: own, as before
def test_the_same_stake_as_its_own_pushes_the_bank_under(store, tmp_path, capacity):
    res = _custodian(store, tmp_path, capacity)
    assert [h["capacity"] for h in snapshot(store).holdings] == ["own"]
    (bank,) = res.entities
    assert bank["by_channel"]["price"] == pytest.approx(1.5e9)
    assert bank["by_channel"]["fire_sale"] > 0 and res.price_fall["chipco"] > 0.3  # it sells
    assert res.negative_equity == ["cust"] and res.managed == [] and res.managed_loss_usd == 0


def test_re_ingesting_a_holding_as_managed_updates_it(store, tmp_path):
    _custodian(store, tmp_path, None)
    res = _custodian(store, tmp_path / "again", "managed")
    assert res.entities == [] and res.managed_loss_usd == pytest.approx(1.5e9)


@pytest.mark.parametrize("text,line,fld,phrase", [
    ("name: x\nshocks:\n  - asset: a\n    fall: 1.5\n", 3, "shocks.fall", "not a fraction"),
    ("shocks:\n  - class: metal\n    fall: 0.1\n", 2, "shocks.class", "'metal' is not one of"),
    ("shocks:\n  - asset: a\n    class: equity\n    fall: 0.1\n", 2, "shocks", "exactly one of"),
    ("name: x\nchannels: [credit, panic]\n", 2, "channels", "'panic' is not one of"),
    ("name: x\nrounds: 0\n", 2, "rounds", "not a whole number"),
    ("name: x\nshock: []\n", 2, "shock", "unknown key"),
    ("partial_payers:\n  - entity: a\n    pays: half\n", 2, "partial_payers.pays", "not a number"),
    ("redemptions:\n  - share: 0.1\n", 2, "redemptions.issuer", "is required"),
    ("name: [x\n", 2, None, "not valid YAML"),
])
def test_scenario_errors_name_file_line_and_field(tmp_path, text, line, fld, phrase):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ValidationError) as e:
        load_scenario(path)
    msg = str(e.value)
    assert f"{path}:{line}" in msg and phrase in msg, msg
    if fld:
        assert f"field {fld!r}" in msg, msg


def test_an_unknown_entity_in_a_scenario_names_its_line(store, tmp_path):
    _load(store, tmp_path, entities=ENT + "bank,A Bank,bank,DE\n")
    sc = _scenario(tmp_path, "name: x\npartial_payers:\n  - entity: Nobody Inc\n    pays: 0.5\n")
    with pytest.raises(ValidationError) as e:
        run_stress(sc, snapshot(store))
    assert "s.yaml:3: field 'partial_payers.entity'" in str(e.value)


@pytest.fixture(scope="module")
def seeded(server):
    from circfin.store.falkordb_store import FalkorDBStore

    store = FalkorDBStore(server.connect(), graph="t_stress_seed")
    store.clear()
    ingest(store, [SEED])
    try:
        yield store
    finally:
        store.clear()
        store.close()


@pytest.mark.parametrize("name", ["ai_equity_crash.yaml", "ai_crypto_run.yaml"])
def test_the_shipped_scenarios_run_on_the_seed(seeded, name):
    res = stress(seeded, SCENARIOS / name)
    d = json.loads(json.dumps(res.to_dict()))  # plain JSON
    assert d["total_loss_usd"] > 0 and d["rounds"] >= 2
    # the shipped scenarios say their credit model; OpenAI paying half its commitments
    # leaves someone unable to pay in full
    assert d["credit"] == "both" and d["defaults"] and "openai" not in d["defaults"]
    assert sum(c["loss_usd"] for c in d["by_country"]) == pytest.approx(d["total_loss_usd"])
    assert sum(k["loss_usd"] for k in d["by_kind"]) == pytest.approx(d["total_loss_usd"])
    e = d["entities"][0]
    assert set(e) >= {"id", "name", "kind", "country", "equity_usd", "loss_usd", "by_channel"}
    assert set(e["by_channel"]) >= {"credit", "fire_sale", "margin"}
    for x in d["entities"]:
        assert sum(x["by_channel"].values()) == pytest.approx(x["loss_usd"])
    # cutting the loops' closing legs only removes ways for losses to travel
    assert d["amplification"] is not None and d["amplification"] >= 1 - 1e-9
    # AI equities fall at least the scenario's 30 %; the sales of a called fund push further
    assert min(d["price_fall"][a] for a in ("coreweave", "nebius", "applied-digital")) >= 0.3 - 1e-9
    if name == "ai_crypto_run.yaml":
        assert d["price_fall"]["bitcoin"] >= 0.5 and d["price_fall"]["us-treasury-bills"] > 0
        tether = next(x for x in d["entities"] if x["id"] == "tether")
        # its bitcoin at its latest attestation (2025-12-31: $8.43B) halves
        assert tether["by_channel"]["price"] == pytest.approx(8.43e9 * 0.5)
    # the 13F stakes in Nvidia are managed for clients: they lose 30 %, but not the
    # managers' equity (Northern Trust's $47.3B stake against its $12.7B book equity)
    managers = {m["id"]: m for m in d["managed"]}
    assert set(managers) == {"northern-trust", "legal-general", "dimensional"}
    assert managers["northern-trust"]["managed_usd"] == pytest.approx(47_331_798_000)
    assert not {"northern-trust", "legal-general", "dimensional"} & set(d["defaults"] + d["negative_equity"])
    if name == "ai_equity_crash.yaml":
        assert managers["northern-trust"]["by_asset"]["nvidia"] == pytest.approx(47_331_798_000 * 0.3)
        assert d["managed_loss_usd"] == pytest.approx(sum(m["loss_usd"] for m in d["managed"]))


def test_stress_cli_json(cli, tmp_path):
    cli("seed", check=True)
    out = cli("stress", "ai_crypto_run", "--format", "json", check=True)
    d = json.loads(out.stdout)
    assert d["scenario"] == "AI-plus-crypto crash with a stablecoin run" and d["entities"]
    bad = cli("stress", str(write(tmp_path / "b.yaml", "name: x\nrounds: -1\n")))
    assert bad.returncode == 1 and "b.yaml:2" in bad.stderr and "Traceback" not in bad.stderr
