"""Ingest: formats agree, bad input names file/line/field and writes nothing, re-ingest is a no-op."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from circfin import queries
from circfin.errors import InputError, ValidationError
from circfin.ingest import ingest
from circfin.loops.from_store import watch_new_deals

from .conftest import DEALS_HEADER, ENTITIES_HEADER, write

URL = "https://example.com/src"

ENTITIES = ENTITIES_HEADER + (
    "nvidia,Nvidia,chipmaker,NVIDIA Corp;NVDA,,US,130497000000,79327000000,,,https://example.com/nv\n"
    "openai,OpenAI,ai_lab,OpenAI Group PBC,,US,,,,,\n"
    "oracle,Oracle,hyperscaler,Oracle Corp,,US,,,,,\n"
    "stargate,Stargate LLC,spv,,openai,US,,,,,\n"
)
DEALS = DEALS_HEADER + (
    f"D1,2025-09-22,Nvidia,OpenAI,equity_investment,100000000000,up_to,stalled,LOI,{URL},medium\n"
    f"D2,2025-09,openai,oracle,cloud_commitment,300000000000,approx,signed,compute,{URL},high\n"
    f"D3,2025,Oracle Corp,NVDA,chip_purchase,40000000000,estimate,signed,chips,{URL},medium\n"
    f"D4,2025-10-01,OpenAI,Oracle,cloud_commitment,,,announced,more,{URL},low\n"
)


def counts(store) -> dict:
    rows = store.read(queries.load("counts").text)
    return rows[0] if rows else {"entities": 0, "deals": 0, "pays": 0}  # no graph yet


def stored_deals(store) -> dict[str, dict]:
    return {r["deal_id"]: r for r in store.read(queries.load("deals").text)}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "entities.csv", ENTITIES), write(tmp_path / "deals.csv", DEALS)


def test_csv_ingest_resolves_names_and_aliases(store, files):
    report = ingest(store, files)
    assert report.entities_new == 4 and len(report.deals_new) == 4
    deals = stored_deals(store)
    assert (deals["D3"]["payer"], deals["D3"]["payee"]) == ("oracle", "nvidia")  # by alias
    assert deals["D2"]["day"] is not None and deals["D2"]["date"] == "2025-09"
    assert deals["D4"]["amount_usd"] is None and deals["D4"]["amount_qualifier"] == "undisclosed"
    ents = {e["id"]: e for e in store.read(queries.load("entities").text)}
    assert ents["stargate"]["parent"] == "openai"
    fin = [f for f in store.read(queries.load("financials").text) if f["entity_id"] == "nvidia"]
    assert [f["revenue_usd"] for f in fin] == [130497000000]  # one row, dated by the file
    assert ents["nvidia"]["aliases"] == ["NVIDIA Corp", "NVDA"]


def test_reingest_changes_nothing_and_updates_changed_rows(store, files, tmp_path):
    ingest(store, files)
    before = stored_deals(store)
    again = ingest(store, files)
    assert again.deals_new == [] and again.deals_updated == [] and again.deals_unchanged == 4
    assert again.entities_unchanged == 4
    assert stored_deals(store) == before
    assert counts(store) == {"entities": 4, "deals": 4, "pays": 4}
    # the same deal with a new amount, status and payer: updated in place, no duplicate
    write(files[1], DEALS.replace(
        "D1,2025-09-22,Nvidia,OpenAI,equity_investment,100000000000,up_to,stalled",
        "D1,2025-09-22,Oracle,OpenAI,equity_investment,30000000000,exact,signed"))
    rep = ingest(store, files)
    assert rep.deals_updated == ["D1"] and rep.deals_new == []
    d1 = stored_deals(store)["D1"]
    assert (d1["payer"], d1["amount_usd"], d1["status"]) == ("oracle", 30000000000, "signed")
    assert counts(store) == {"entities": 4, "deals": 4, "pays": 4}
    pays = store.read("MATCH (a:Entity)-[r:PAYS {deal_id: 'D1'}]->(b:Entity) RETURN a.id AS a, b.id AS b")
    assert pays == [{"a": "oracle", "b": "openai"}]


def test_json_and_yaml_match_csv(store, files, tmp_path):
    import csv

    ents = list(csv.DictReader(files[0].open()))
    deals = list(csv.DictReader(files[1].open()))
    doc = {"entities": ents, "deals": deals}
    jpath = write(tmp_path / "all.json", json.dumps(doc, indent=1))
    ingest(store, [jpath])
    via_json = stored_deals(store)
    store.clear()
    import yaml

    ypath = write(tmp_path / "all.yaml", yaml.safe_dump(doc))
    ingest(store, [ypath])
    assert stored_deals(store) == via_json
    store.clear()
    ingest(store, files)
    assert stored_deals(store) == via_json


def test_unknown_party_becomes_entity_of_kind_other_with_warning(store, tmp_path):
    p = write(tmp_path / "d.csv", DEALS_HEADER +
              f"X1,2024,Acme Capital,Beta Labs,loan,5,exact,funded,,{URL},high\n"
              f"X2,2024,beta labs,ACME capital,loan,6,exact,funded,,{URL},high\n")
    rep = ingest(store, [p])
    assert rep.entities_auto == 2 and len(rep.warnings) == 2
    assert "Acme Capital" in rep.warnings[0] and "d.csv:2" in rep.warnings[0]
    ents = {e["id"]: e for e in store.read(queries.load("entities").text)}
    assert ents["acme-capital"]["kind"] == "other"
    assert stored_deals(store)["X2"]["payee"] == "acme-capital"


@pytest.mark.parametrize(("row", "line", "field", "words"), [
    (f"D9,2025-02-30,nvidia,openai,loan,1,exact,signed,,{URL},high", 6, "date", "no day 30"),
    (f"D9,2025-13,nvidia,openai,loan,1,exact,signed,,{URL},high", 6, "date", "month 13"),
    (f"D9,2025,nvidia,openai,gift,1,exact,signed,,{URL},high", 6, "type", "not one of"),
    (f"D9,2025,nvidia,openai,loan,-5,exact,signed,,{URL},high", 6, "amount_usd", "negative"),
    (f"D9,2025,nvidia,openai,loan,lots,exact,signed,,{URL},high", 6, "amount_usd", "not a number"),
    (f"D9,2025,nvidia,openai,loan,1e30,exact,signed,,{URL},high", 6, "amount_usd", "10^15"),
    (f"D9,2025,nvidia,NVDA,loan,1,exact,signed,,{URL},high", 6, "payee", "same entity"),
    (f"D9,2025,nvidia,openai,loan,1,exact,maybe,,{URL},high", 6, "status", "not one of"),
    ("D9,2025,nvidia,openai,loan,1,exact,signed,,ftp://x,high", 6, "source_url", "http"),
    (f"D9,2025,nvidia,openai,loan,,up_to,signed,,{URL},high", 6, "amount_qualifier", "needs an amount"),
    (f"D1,2025,nvidia,openai,loan,1,exact,signed,,{URL},high", 6, "deal_id", "already defined at"),
    (f"D9,2025,nvidia,openai,loan,1,exact,signed,,{URL}", 6, None, "has 10 fields"),
    (f"D 9,2025,nvidia,openai,loan,1,exact,signed,,{URL},high", 6, "deal_id", "not a valid id"),
])
def test_bad_row_names_file_line_field_and_writes_nothing(store, files, row, line, field, words):
    write(files[1], DEALS + row + "\n")
    with pytest.raises(ValidationError) as exc:
        ingest(store, files)
    e = exc.value.errors[0]
    assert (Path(e.path).name, e.line, e.field) == ("deals.csv", line, field), str(exc.value)
    assert words in e.message
    assert counts(store) == {"entities": 0, "deals": 0, "pays": 0}


def test_one_bad_file_blocks_the_good_ones(store, files, tmp_path):
    bad = write(tmp_path / "more.csv", DEALS_HEADER + f"Z1,2024,a,b,loan,x,exact,signed,,{URL},high\n")
    with pytest.raises(ValidationError):
        ingest(store, [*files, bad])
    assert counts(store)["deals"] == 0


@pytest.mark.parametrize(("text", "words"), [
    ("deal_id,date,payer\nD1,2024,a\n", "missing required"),
    (DEALS_HEADER.replace("status", "deal_id"), "appears twice"),
    (DEALS_HEADER.strip() + ",colour\n", "unknown deals column"),
    ("", "empty"),
    ("name,kind\nx,y\n", "cannot tell which table this is"),
])
def test_bad_headers(store, tmp_path, text, words):
    with pytest.raises(ValidationError) as exc:
        ingest(store, [write(tmp_path / "f.csv", text)])
    assert words in str(exc.value)


def test_encodings(store, tmp_path):
    body = DEALS_HEADER + f"B1,2024,Ärger AG,Öl GmbH,loan,1,exact,signed,,{URL},high\n"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + body.encode())
    ingest(store, [bom])  # a UTF-8 BOM is fine
    latin = tmp_path / "latin.csv"
    latin.write_bytes(body.encode("latin-1"))
    with pytest.raises(ValidationError, match=r"latin.csv:2: not UTF-8"):
        ingest(store, [latin])
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(body.encode("utf-16"))
    with pytest.raises(ValidationError, match="UTF-16"):
        ingest(store, [utf16])


def test_json_errors_carry_lines(store, tmp_path):
    rows = [{"deal_id": "J1", "date": "2024", "payer": "a", "payee": "b", "type": "loan",
             "amount_usd": 5, "status": "signed", "source_url": URL, "confidence": "high"},
            {"deal_id": "J2", "date": "2024", "payer": "a", "payee": "b", "type": "loan",
             "amount_usd": -1, "status": "signed", "source_url": URL, "confidence": "high"}]
    p = write(tmp_path / "d.json", json.dumps(rows, indent=2))
    with pytest.raises(ValidationError) as exc:
        ingest(store, [p])
    e = exc.value.errors[0]
    assert (e.line, e.field) == (13, "amount_usd")  # the line where that row opens
    bomb = write(tmp_path / "bomb.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValidationError, match="nested too deeply|must be a JSON object"):
        ingest(store, [bomb])


def test_yaml_aliases_are_refused(store, tmp_path):
    bomb = write(tmp_path / "b.yaml", 'a: &a ["x","x"]\nb: &b [*a,*a]\ndeals: [*b]\n')
    with pytest.raises(ValidationError, match="anchors are not allowed|aliases are not allowed"):
        ingest(store, [bomb])


def test_missing_path(store, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        ingest(store, [tmp_path / "nope.csv"])


def test_dry_run_writes_nothing(store, files):
    rep = ingest(store, files, dry_run=True)
    assert len(rep.deals_new) == 4
    assert counts(store)["deals"] == 0


def test_hostile_text_is_stored_as_text(store, tmp_path):
    evil = "x'}) DETACH DELETE n //\n`MATCH (n)` {$rows} \"quote\" <script>alert(1)</script>"
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(DEALS_HEADER.strip().split(","))
    one_line = evil.replace("\n", " ")  # names are one line; only a description may hold \n
    w.writerow(["H1", "2024", one_line, "b", "loan", "1", "exact", "signed", evil, URL, "high"])
    ingest(store, [write(tmp_path / "h.csv", buf.getvalue())])
    d = stored_deals(store)["H1"]
    assert d["description"] == evil
    names = {e["name"] for e in store.read(queries.load("entities").text)}
    assert one_line in names
    assert counts(store) == {"entities": 2, "deals": 1, "pays": 1}


def _loop_keys(store, **kw):
    from circfin.loops.from_store import loops_from_store

    return {lp.key for lp in loops_from_store(store, engine="cypher", **kw)[0]}


def test_updates_cancellations_and_deletions_change_the_loops(store, files, tmp_path):
    from circfin.ingest import delete_deals

    ingest(store, files)
    assert "nvidia>openai>oracle" in _loop_keys(store)
    # cancelling the only Oracle -> Nvidia deal breaks the loop (cancelled deals do not count)
    write(files[1], DEALS.replace("chip_purchase,40000000000,estimate,signed",
                                  "chip_purchase,40000000000,estimate,cancelled"))
    assert ingest(store, files).deals_updated == ["D3"]
    assert "nvidia>openai>oracle" not in _loop_keys(store)
    assert "nvidia>openai>oracle" in _loop_keys(store, status=None)  # unless asked for
    write(files[1], DEALS)
    ingest(store, files)
    assert "nvidia>openai>oracle" in _loop_keys(store)
    with pytest.raises(InputError, match="no deal with id NOPE"):
        delete_deals(store, ["D3", "NOPE"])
    assert counts(store)["deals"] == 4  # all or nothing
    assert delete_deals(store, ["D3"]) == 1
    assert counts(store) == {"entities": 4, "deals": 3, "pays": 3}
    assert "nvidia>openai>oracle" not in _loop_keys(store)


def test_watch_loops_reports_exactly_the_loops_through_new_deals(store, files, tmp_path):
    from circfin.loops.from_store import loops_from_store

    ingest(store, files)
    new = write(tmp_path / "new.csv", DEALS_HEADER +
                f"N1,2025-11,Nvidia,Oracle,equity_investment,5,exact,signed,x,{URL},high\n"
                f"N2,2025-11,Oracle,OpenAI,loan,7,exact,signed,x,{URL},high\n"
                f"N3,2025-11,Stargate LLC,Nvidia,other,,,announced,x,{URL},low\n")
    rep = ingest(store, [new], watch_loops=partial(watch_new_deals, max_len=4))
    after, _, _ = loops_from_store(store, engine="cypher", max_len=4)
    want = {lp.key: lp for lp in after if {"N1", "N2", "N3"} & set(lp.deal_ids)}
    got = {lp.key: lp for lp in rep.closed_loops}
    assert set(got) == set(want) and got
    for k in got:
        assert [leg.deal_ids for leg in got[k].legs] == [leg.deal_ids for leg in want[k].legs]
    assert ingest(store, [new], watch_loops=partial(watch_new_deals, max_len=4)).closed_loops == []  # nothing new


@pytest.mark.parametrize("n", [3, 400])  # a few ids are compared in the database, many in a set
def test_case_twin_of_a_stored_deal_is_refused_for_small_and_large_inputs(store, tmp_path, n):
    rows = [f"X{i},2025-01-01,a,b,loan,1,exact,signed,,https://example.com/{i},high" for i in range(n)]
    ingest(store, [write(tmp_path / "d.csv", DEALS_HEADER + "\n".join(rows) + "\n")])
    rows[-1] = rows[-1].replace(f"X{n - 1},", f"x{n - 1},", 1)
    with pytest.raises(ValidationError) as exc:
        ingest(store, [write(tmp_path / "d2.csv", DEALS_HEADER + "\n".join(rows) + "\n")])
    assert f"differs only in case from the stored deal 'X{n - 1}'" in str(exc.value)


def test_a_graph_written_before_schema_versions_is_brought_up_by_its_next_write(
        store, server, files, tmp_path):
    """A graph older versions wrote (no Schema node, no Deal.key, no entity name keys)
    validates as before, and its next write back-fills them, leaving the graph a fresh
    ingest of the same files writes; from then on deals and names are looked up by index."""
    from circfin.store.falkordb_store import FalkorDBStore

    from .test_ingest_links import dump

    more = write(tmp_path / "more.csv", DEALS_HEADER +
                 f"N1,2025-11,NVIDIA Corp,oracle corp,loan,5,exact,signed,x,{URL},high\n")
    ingest(store, files)
    store.write([("MATCH (s:Schema) DELETE s RETURN count(*) AS n", {}),
                 ("MATCH (d:Deal) SET d.key = null RETURN count(*) AS n", {}),
                 ("MATCH (e:Entity) SET e.name_keys = null RETURN count(*) AS n", {})])
    assert store.read("MATCH (d:Deal) WHERE d.key IS NOT NULL RETURN count(d) AS n") == [{"n": 0}]
    twin = write(tmp_path / "twin.csv", DEALS.replace("D1,", "d1,"))
    for _ in range(2):  # as the graph was, then at the current version
        with pytest.raises(ValidationError, match="differs only in case from the stored deal 'D1'"):
            ingest(store, [twin])
        rep = ingest(store, [more])
        assert rep.warnings == [] and stored_deals(store)["N1"]["payer"] == "nvidia"
        assert stored_deals(store)["N1"]["payee"] == "oracle"
        assert store.read("MATCH (s:Schema) RETURN count(s) AS n") == [{"n": 1}]
    assert store.read("MATCH (d:Deal) RETURN d.id AS i, d.key AS k ORDER BY i") == [
        {"i": i, "k": i.lower()} for i in ("D1", "D2", "D3", "D4", "N1")]
    fresh = FalkorDBStore(server.connect(), graph=f"{store.graph_name}_fresh")
    try:
        ingest(fresh, [*files, more])
        assert dump(store) == dump(fresh)
    finally:
        fresh.clear()
