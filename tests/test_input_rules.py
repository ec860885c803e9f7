"""The input rules validation enforces beyond one row's shape: characters no field may
hold, one entity per name, case-insensitive ids, look-alike names, strict numbers,
dates and countries, no duplicate keys, no empty files, alias lists kept whole.

Each test names the defect it guards against; the bad-input corpus
(tests/bad_inputs/) has one file per case for the CLI's message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circfin import queries
from circfin.errors import ValidationError
from circfin.ingest import ingest
from circfin.ingest.readers import RawRow, RawTable, read_file
from circfin.ingest.validate import COUNTRY_CODES, build_plan, forbidden_char, parse_money

from .conftest import DEALS_HEADER, ENTITIES_HEADER, write

URL = "https://example.com/src"
PROPS = settings(max_examples=300, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
NEVER = ({chr(c) for c in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}
         | set(BIDI) | {"\u2028", "\u2029"})


def never_ok(c: str, multiline: bool) -> bool:
    return c in NEVER or 0xD800 <= ord(c) <= 0xDFFF or (not multiline and c in "\t\n")


def plan_of(tmp_path: Path, name: str, text: str, stored=(), stored_deal_ids=None):
    tables, errors = read_file(write(tmp_path / name, text))
    assert errors == [], errors
    return build_plan(tables, list(stored), stored_deal_ids)


def messages(plan) -> list[str]:
    return [str(e) for e in plan.errors]


# --- item 2: characters no field may hold -----------------------------------------

DEAL = {"deal_id": "D1", "date": "2024-05", "payer": "Alpha", "payee": "Beta", "type": "loan",
        "amount_usd": "5", "amount_qualifier": "exact", "status": "signed", "description": "a deal",
        "source_url": URL, "confidence": "high"}
ENTITY = {"entity_id": "e1", "name": "Gamma", "kind": "bank", "aliases": "Gam;G Co", "parent": None,
          "country": "US", "revenue_usd": "7", "equity_usd": None, "market_cap_usd": None,
          "backlog_usd": None, "source_url": URL}
NASTY = sorted(NEVER | {"\t", "\n", "\u200b", "\ufeff", "\u00a0", "i", chr(0xD800), chr(0xDFFF)})
chars = st.sampled_from(NASTY) | st.characters()


def _all_text(plan) -> list[tuple[str, str]]:
    out = []
    for rec in [*plan.entities, *plan.auto_entities, *plan.deals]:
        for k, v in rec.items():
            for t in (v if isinstance(v, list) else [v]):
                if isinstance(t, str):
                    out.append((k, t))
    return out


@PROPS
@given(table=st.sampled_from(["deals", "entities"]), col=st.sampled_from(sorted({*DEAL, *ENTITY})),
       at=st.integers(0, 40), insert=st.text(chars, min_size=1, max_size=3))
def test_accepted_text_never_holds_controls_bidi_or_surrogates(table, col, at, insert):
    """Defect 2: a NUL at the end of a source_url passed validation and broke the write.
    Any text validation accepts, in any field of either table, holds none of the
    characters no field may hold; a field still holding one after trimming is refused
    naming that field."""
    base = dict(DEAL if table == "deals" else ENTITY)
    if col not in base:
        return
    old = base[col] or ""
    at = min(at, len(old))
    base[col] = old[:at] + insert + old[at:]
    row = RawRow("f.json", 3, {k: (None if v is None else v.strip(" \t\n\r") or None)
                               for k, v in base.items()})
    plan = build_plan([RawTable("f.json", table, [row])], [])
    for field, text in _all_text(plan):
        multiline = field == "description"
        assert not any(never_ok(c, multiline) for c in text), (field, text)
        assert "\r" not in text, (field, text)
    kept = row.values[col]
    if kept is not None and any(never_ok(c, col == "description") for c in kept.replace("\r\n", "\n")):
        assert any(e.field == col and e.line == 3 for e in plan.errors), plan.errors


@PROPS
@given(doc=st.fixed_dictionaries({k: st.text(chars, max_size=8) for k in DEAL}))
def test_random_text_in_every_deal_field_via_json(tmp_path, doc):
    """The same through the JSON reader, which turns \\u escapes into any code point."""
    p = tmp_path / "r.json"
    p.write_text(json.dumps([DEAL, doc]), encoding="utf-8")
    tables, errors = read_file(p)
    if errors:
        return
    plan = build_plan(tables, [])
    for field, text in _all_text(plan):
        assert not any(never_ok(c, field == "description") for c in text), (field, text)


def test_description_may_hold_line_feeds_and_tabs_but_no_other_control(tmp_path):
    text = DEALS_HEADER + f'D1,2024,a,b,loan,1,exact,signed,"line one\r\n\tline two",{URL},high\n'
    plan = plan_of(tmp_path, "d.csv", text)
    assert plan.errors == [] and plan.deals[0]["description"] == "line one\n\tline two"
    assert forbidden_char("a\rb", multiline=True).startswith("contains a carriage return")
    for bad in ("\x1b[31m", "\x00", "\u202e", "\x85", "\u2028"):
        assert forbidden_char(f"x{bad}y", multiline=True) is not None, repr(bad)


def test_nul_at_the_end_of_a_source_url_is_refused_before_any_write(store, tmp_path):
    """Defect 2, end to end: the JSON \\u0000 and the YAML "\\0" of the report."""
    row = {**DEAL, "source_url": URL + "\u0000"}
    j = write(tmp_path / "d.json", json.dumps([row]))
    y = write(tmp_path / "d.yaml", "- " + "\n  ".join(
        f"{k}: {json.dumps(v)}" for k, v in row.items()).replace("\\u0000", "\\0") + "\n")
    for path in (j, y):
        with pytest.raises(ValidationError) as exc:
            ingest(store, [path])
        e = exc.value.errors[0]
        assert (e.path, e.line, e.field) == (str(path), 1, "source_url"), str(exc.value)
        assert "U+0000" in e.message
    assert store.read(queries.load("counts").text) in ([], [{"entities": 0, "deals": 0, "pays": 0}])


# --- item 9: one entity per name, across the input and the graph --------------------

XAI = ENTITIES_HEADER + "xai,xAI,ai_lab,x-ai;X.AI Corp,,US,,,,,\nnvidia,Nvidia,chipmaker,,,US,,,,,\n"


def test_unknown_name_cannot_take_a_stored_alias_as_its_id(store, tmp_path):
    """Defect 9: 'X AI' auto-created id 'x-ai', which is xAI's alias; later files then
    resolved 'x-ai' to the new entity and the loop through xAI disappeared."""
    ingest(store, [write(tmp_path / "e.csv", XAI)])
    deals = write(tmp_path / "d.csv", DEALS_HEADER + f"D1,2024,X AI,Nvidia,loan,5,exact,signed,,{URL},high\n")
    with pytest.raises(ValidationError) as exc:
        ingest(store, [deals])
    e = exc.value.errors[0]
    assert (e.line, e.field) == (2, "payer")
    assert "'x-ai', already names entity 'xai'" in e.message
    # by its alias, the deal goes to xAI
    write(deals, DEALS_HEADER + f"D1,2024,x-ai,Nvidia,loan,5,exact,signed,,{URL},high\n")
    rep = ingest(store, [deals])
    assert rep.entities_auto == 0
    d = store.read(queries.load("deals").text)[0]
    assert (d["payer"], d["payee"]) == ("xai", "nvidia")


def test_entity_row_cannot_take_another_entitys_name_or_alias(store, tmp_path):
    ingest(store, [write(tmp_path / "e.csv", XAI)])
    cases = {"alias of a stored entity": ("acme,Acme,bank,X.AI Corp,,,,,,,", "aliases", "X.AI Corp"),
             "name of a stored entity": ("acme,Nvidia,bank,,,,,,,,", "name", "Nvidia"),
             "id of a stored entity": ("acme,Acme,bank,NVIDIA,,,,,,,", "aliases", "NVIDIA")}
    for what, (row, field, text) in cases.items():
        p = write(tmp_path / "more.csv", ENTITIES_HEADER + row + "\n")
        with pytest.raises(ValidationError) as exc:
            ingest(store, [p])
        e = exc.value.errors[0]
        assert (e.line, e.field) == (2, field), (what, str(exc.value))
        assert f"{text!r} already names entity" in e.message, what


def test_auto_entities_keep_their_id_as_a_name_key(tmp_path):
    """So the store's unique-key guard sees the id, and a later 'acme-capital' finds it."""
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER
                   + f"D1,2024,Acme Capital,Beta,loan,5,exact,signed,,{URL},high\n"
                   + f"D2,2024,acme-capital,Beta,loan,5,exact,signed,,{URL},high\n")
    assert plan.errors == []
    acme = next(a for a in plan.auto_entities if a["id"] == "acme-capital")
    assert acme["name_keys"] == ["acme-capital", "acme capital"]
    assert {d["payer"] for d in plan.deals} == {"acme-capital"}


def test_unknown_name_whose_id_is_an_earlier_new_entitys_is_refused(tmp_path):
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER
                   + f"D1,2024,Acme Capital,Beta,loan,5,exact,signed,,{URL},high\n"
                   + f"D2,2024,Acme Capital.,Beta,loan,5,exact,signed,,{URL},high\n")
    assert [(e.line, e.field) for e in plan.errors] == [(3, "payer")]
    assert "already names entity 'acme-capital'" in plan.errors[0].message


def test_the_same_name_without_accents_is_refused_not_split(tmp_path):
    """'Societe Generale' is not 'Société Générale' by name, but would take its id."""
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER
                   + f"D1,2024,Société Générale,Beta,loan,5,exact,signed,,{URL},high\n"
                   + f"D2,2024,Societe Generale,Beta,loan,5,exact,signed,,{URL},high\n")
    assert [(e.line, e.field) for e in plan.errors] == [(3, "payer")]
    assert "'societe-generale', already names entity 'societe-generale'" in plan.errors[0].message


def test_names_without_ascii_letters_still_get_distinct_ids(tmp_path):
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER
                   + f"D1,2024,华为,腾讯,loan,5,exact,signed,,{URL},high\n")
    assert plan.errors == []
    assert sorted(a["id"] for a in plan.auto_entities) == ["u534e-u4e3a", "u817e-u8baf"]


def test_a_name_with_no_ascii_letters_does_not_take_a_plain_name(tmp_path):
    """Found by the fuzz test: 'Þ' got the fallback id 'entity', and then a payee
    'ENTITY' resolved to it, a self-deal between two different names."""
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER + f"D1,2024,Þ,ENTITY,loan,5,exact,signed,,{URL},high\n"
                   + f"D2,2024,Ærø Capital,!!,loan,5,exact,signed,,{URL},high\n")
    assert plan.errors == [], plan.errors
    assert sorted(a["id"] for a in plan.auto_entities) == ["aero-capital", "entity", "th", "u0021-u0021"]


def test_long_names_cut_to_the_same_id_get_a_suffix(tmp_path):
    a, b = "Alpha " * 20 + "One", "Alpha " * 20 + "Two"
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER + f"D1,2024,{a},{b},loan,5,exact,signed,,{URL},high\n")
    assert plan.errors == [], plan.errors
    ids = [a["id"] for a in plan.auto_entities]
    assert ids[1] == ids[0] + "-2" and len(ids[0]) <= 80


# --- item 10: duplicate keys -------------------------------------------------------

def test_json_duplicate_key_names_its_line(tmp_path):
    p = write(tmp_path / "d.json", '[{"deal_id": "D1", "date": "2024", "payer": "a", "payee": "b",\n'
              ' "type": "loan", "amount_usd": 5000000000, "status": "signed",\n'
              f' "source_url": "{URL}", "confidence": "high",\n "amount_usd": 1}}]')
    tables, errors = read_file(p)
    assert tables == [] and [(e.line, e.field) for e in errors] == [(4, "amount_usd")]
    assert "appears twice" in errors[0].message


def test_yaml_duplicate_key_names_its_line_and_aliases_stay_refused(tmp_path):
    p = write(tmp_path / "d.yaml", "deals:\n  - deal_id: D1\n    payer: a\n    payee: b\n    payer: c\n")
    _, errors = read_file(p)
    assert [(e.line, e.field) for e in errors] == [(5, "payer")]
    bomb = write(tmp_path / "b.yaml", "deals:\n  - &r {deal_id: D1}\n  - *r\n")
    assert "not allowed" in read_file(bomb)[1][0].message
    tag = write(tmp_path / "t.yaml", "deals:\n  - deal_id: !!python/name:os.system D1\n")
    _, errors = read_file(tag)  # tags are never constructed: only the missing columns count
    assert errors and all(e.message == "missing required deals column" for e in errors), errors


# --- item 11: ids are case-insensitive ------------------------------------------------

def test_deal_ids_differing_only_in_case_are_refused_in_the_input(tmp_path):
    """Defect 11: 'D7' and 'd7' were two deals, so a $5B leg showed as $10B."""
    plan = plan_of(tmp_path, "d.csv", DEALS_HEADER
                   + f"D7,2024,a,b,loan,5000000000,exact,signed,,{URL},high\n"
                   + f"d7,2024,a,b,loan,5000000000,exact,signed,,{URL},high\n")
    assert [(e.line, e.field) for e in plan.errors] == [(3, "deal_id")]
    assert "'d7' and 'D7'" in plan.errors[0].message and "differ only in case" in plan.errors[0].message


def test_deal_id_differing_only_in_case_from_a_stored_one_is_refused(tmp_path):
    text = DEALS_HEADER + f"d7,2024,a,b,loan,5,exact,signed,,{URL},high\n"
    plan = plan_of(tmp_path, "d.csv", text, stored_deal_ids=["D7", "D8"])
    assert [(e.line, e.field) for e in plan.errors] == [(2, "deal_id")]
    assert "stored deal 'D7'" in plan.errors[0].message
    assert plan_of(tmp_path, "d.csv", text.replace("d7", "D7"), stored_deal_ids=["D7"]).errors == []


def test_ingest_refuses_a_case_twin_of_a_stored_deal(store, tmp_path):
    ingest(store, [write(tmp_path / "a.csv", DEALS_HEADER + f"D7,2024,a,b,loan,5,exact,signed,,{URL},high\n")])
    with pytest.raises(ValidationError, match="differs only in case"):
        ingest(store, [write(tmp_path / "b.csv", DEALS_HEADER
                             + f"d7,2024,a,b,loan,5,exact,signed,,{URL},high\n")])


def test_entity_ids_differing_only_in_case_are_refused(store, tmp_path):
    ingest(store, [write(tmp_path / "e.csv", XAI)])
    with pytest.raises(ValidationError) as exc:
        ingest(store, [write(tmp_path / "f.csv", ENTITIES_HEADER + "NVIDIA,Nvidia Corp,chipmaker,,,,,,,,\n")])
    e = exc.value.errors[0]
    assert (e.line, e.field) == (2, "entity_id") and "stored entity 'nvidia'" in e.message


# --- item 12: look-alike names ---------------------------------------------------------

def test_lookalike_of_a_known_name_is_refused_unless_declared(store, tmp_path):
    """Defect 12: 'Nvіdia' with a Cyrillic і silently became a second Nvidia."""
    ingest(store, [write(tmp_path / "e.csv", XAI)])
    fake = "Nv\u0456dia"
    deals = write(tmp_path / "d.csv", DEALS_HEADER + f"D1,2024,{fake},xAI,loan,5,exact,signed,,{URL},high\n")
    with pytest.raises(ValidationError) as exc:
        ingest(store, [deals])
    e = exc.value.errors[0]
    assert (e.line, e.field) == (2, "payer")
    assert "looks like 'Nvidia' (entity 'nvidia')" in e.message and "CYRILLIC" in e.message
    # an entities row says it is a different entity: accepted, with a warning
    declared = write(tmp_path / "e2.csv", ENTITIES_HEADER + f"nvidia-ua,{fake},other,,,UA,,,,,\n")
    rep = ingest(store, [declared, deals])
    assert any("looks like 'Nvidia'" in w for w in rep.warnings), rep.warnings
    d = store.read(queries.load("deals").text)[0]
    assert d["payer"] == "nvidia-ua"


@pytest.mark.parametrize(("known", "fake"), [
    ("OpenAI", "OpenA\u0406"),     # Cyrillic capital І
    ("Oracle", "0racle"),          # digit zero
    ("Microsoft", "Mіcrosoft"),    # Cyrillic і
    ("Meta", "Rneta"),             # rn for m
    ("Nvidia", "Nvi\u200bdia"),   # zero-width space
    ("CoreWeave", "CoreWeаve"),    # Cyrillic а
])
def test_lookalikes(tmp_path, known, fake):
    text = DEALS_HEADER + (f"D1,2024,{known},Zeta,loan,5,exact,signed,,{URL},high\n"
                           f"D2,2024,{fake},Zeta,loan,5,exact,signed,,{URL},high\n")
    plan = plan_of(tmp_path, "d.csv", text)
    assert [(e.line, e.field) for e in plan.errors] == [(3, "payer")], messages(plan)
    assert f"looks like {known!r}" in plan.errors[0].message


@pytest.mark.parametrize(("a", "b"), [("Société Générale", "Société Généreuse"), ("IBM", "LBM"),
                                      ("Alpha", "Alpha 2"), ("Anthropic", "Anthropic PBC")])
def test_different_names_are_not_lookalikes(tmp_path, a, b):
    text = DEALS_HEADER + (f"D1,2024,{a},Zeta,loan,5,exact,signed,,{URL},high\n"
                           f"D2,2024,{b},Zeta,loan,5,exact,signed,,{URL},high\n")
    assert plan_of(tmp_path, "d.csv", text).errors == []


# --- item 13: no lenient parsing -----------------------------------------------------

@pytest.mark.parametrize(("text", "words"), [
    ("10_00", "'_' separators"), ("1_000.5", "'_' separators"), ("\u0661\u0660", "ASCII 0-9"),
    ("\uff15", "ASCII 0-9"), ("5\u00a0000", "not a number"), ("0x10", "not a number"),
    ("+5", "not a number"), ("1e", "not a number"), ("-5", "negative"), ("Infinity", "finite"),
    ("9" * 5000, r"10\^15"),
])
def test_amounts_are_ascii_decimals_only(text, words):
    with pytest.raises(ValueError, match=words) as exc:
        parse_money(text)
    assert len(str(exc.value)) < 200  # a huge value is cut short in the message


def test_amounts_still_accepted():
    assert [parse_money(t) for t in ("0", "1000", "12.50", "1.5e9", "1E3", ".5", "-0")] == [
        0, 1000, 12.5, 1500000000, 1000, 0.5, 0]


def test_json_numbers_are_read_exactly(tmp_path):
    rows = [{**DEAL, "amount_usd": 0}]
    text = json.dumps(rows).replace('"amount_usd": 0', '"amount_usd": 123456789012345.67')
    plan = plan_of(tmp_path, "d.json", text)
    assert plan.errors == [] and plan.deals[0]["amount_usd"] == 123456789012345.67


@pytest.mark.parametrize("date", ["\u0662\u0660\u0662\u0664", "２０２４-01", "2024-\u0660\u0661", "2024\n"])
def test_dates_are_ascii_digits_only(tmp_path, date):
    row = RawRow("d.csv", 2, {**DEAL, "date": date})
    plan = build_plan([RawTable("d.csv", "deals", [row])], [])
    assert [e.field for e in plan.errors] == ["date"], plan.errors


def test_countries_are_assigned_iso_codes(tmp_path):
    assert len(COUNTRY_CODES) == 250 and {"US", "GB", "CN", "TW", "XK"} <= COUNTRY_CODES
    assert not {"ZZ", "UK", "EU", "AN", "XX"} & COUNTRY_CODES
    for code, ok in (("us", True), ("ZZ", False), ("UK", False), ("U1", False)):
        plan = plan_of(tmp_path, "e.csv", ENTITIES_HEADER + f"e1,Alpha,bank,,,{code},,,,,\n")
        assert (plan.errors == []) is ok, (code, plan.errors)


@pytest.mark.parametrize(("name", "text"), [
    ("h.csv", DEALS_HEADER), ("h.csv", ENTITIES_HEADER + "\n\n"), ("e.json", "[]"),
    ("e.json", '{"deals": [], "entities": []}'), ("e.yaml", "deals: []\nentities: []\n"),
])
def test_a_data_file_without_rows_is_refused(tmp_path, name, text):
    tables, errors = read_file(write(tmp_path / name, text))
    assert tables == [] and [(e.path, e.line) for e in errors] == [(str(tmp_path / name), None)]
    assert "no rows" in errors[0].message


def test_an_empty_section_beside_rows_is_fine(tmp_path):
    doc = {"entities": [{"entity_id": "e1", "name": "A", "kind": "bank"}], "deals": []}
    tables, errors = read_file(write(tmp_path / "e.json", json.dumps(doc)))
    assert errors == [] and [len(t.rows) for t in tables] == [1, 0]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_alias_lists_keep_each_item_whole_and_strings_split_on_semicolons(tmp_path, fmt):
    import yaml

    doc = {"entities": [{"entity_id": "e1", "name": "Alpha", "kind": "bank",
                         "aliases": ["Alpha; Beta Holdings", "ALP"]},
                        {"entity_id": "e2", "name": "Gamma", "kind": "bank", "aliases": "G1;G2"}]}
    text = json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc)
    plan = plan_of(tmp_path, f"e.{fmt}", text)
    assert plan.errors == []
    aliases = {e["id"]: e["aliases"] for e in plan.entities}
    assert aliases == {"e1": ["Alpha; Beta Holdings", "ALP"], "e2": ["G1", "G2"]}


def test_names_with_tabs_or_newlines_are_refused(tmp_path):
    rows = [{**DEAL, "payer": "Open\nAI"}, {**DEAL, "deal_id": "D2", "payee": "Be\tta"}]
    plan = plan_of(tmp_path, "d.json", json.dumps(rows, indent=0))
    assert sorted((e.field, e.message.split(" (")[0]) for e in plan.errors) == [
        ("payee", "contains a tab"), ("payer", "contains a line break")]


def test_seed_data_still_passes(tmp_path):
    root = Path(__file__).resolve().parent.parent / "seed"
    tables = [t for f in ("entities.csv", "deals.csv") for t in read_file(root / f)[0]]
    plan = build_plan(tables, [])
    assert plan.errors == [] and plan.deals
