"""Write the malformed-input corpus and its expectations (run: python tests/bad_inputs/generate.py).

Each case is a small file plus what circfin must say about it: the line and
field it names and a phrase of the message. Huge inputs (100 MB lines, files
over the size limit) are made at test time instead of being committed.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
D = ("deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,"
     "source_url,confidence\n")
E = ("entity_id,name,kind,aliases,parent,country,revenue_usd,equity_usd,market_cap_usd,"
     "backlog_usd,source_url\n")
U = "https://example.com/s"
OK1 = f"D1,2024-01-15,Alpha,Beta,loan,100,exact,signed,fine,{U},high\n"


def _deal_obj(**kw: str) -> dict[str, str]:
    row = {"deal_id": "D2", "date": "2024-02-01", "payer": "Alpha", "payee": "Beta",
           "type": "loan", "amount_usd": "5", "amount_qualifier": "exact", "status": "signed",
           "description": "x", "source_url": U, "confidence": "high"}
    row.update(kw)
    return row


def _json_deals(**kw: str) -> str:
    """A JSON list: a good row on lines 2, the row with kw on line 3."""
    return ("[\n " + json.dumps(_deal_obj(deal_id="D1")) + ",\n " + json.dumps(_deal_obj(**kw))
            + "\n]\n")


def _yaml_deals(extra: str = "", **kw: str) -> str:
    """A YAML deals list with one row on lines 2-10, its values (YAML scalars as
    written) overridden by kw, and the line extra added as line 11."""
    row = {"deal_id": "D1", "date": "'2024'", "payer": "Alpha", "payee": "Beta", "type": "loan",
           "amount_usd": "5", "status": "signed", "source_url": U, "confidence": "high"}
    row.update(kw)
    lines = [f"    {k}: {v}" for k, v in row.items()]
    lines[0] = "  - " + lines[0].lstrip()
    return "deals:\n" + "\n".join(lines + ([f"    {extra}"] if extra else [])) + "\n"


def deal(**kw: str) -> str:
    row = {"deal_id": "D2", "date": "2024-02-01", "payer": "Alpha", "payee": "Beta",
           "type": "loan", "amount_usd": "5", "amount_qualifier": "exact", "status": "signed",
           "description": "x", "source_url": U, "confidence": "high"}
    row.update(kw)
    return ",".join(row[c] for c in D.strip().split(",")) + "\n"


def _tables(fmt: str = "json", **tables: list[dict[str, str]]) -> str:
    """Several tables in one JSON object or YAML mapping, one row a line."""
    out = ["{"] if fmt == "json" else []
    for i, (name, rows) in enumerate(tables.items()):
        if fmt == "json":
            out.append(f' "{name}": [')
            out += ["  " + json.dumps(r) + ("," if j < len(rows) - 1 else "") for j, r in enumerate(rows)]
            out.append(" ]" + ("," if i < len(tables) - 1 else ""))
        else:
            out.append(f"{name}:")
            out += ["  - " + json.dumps(r) for r in rows]
    return "\n".join(out + (["}"] if fmt == "json" else [])) + "\n"


def _line(text: str, marker: str) -> int:
    """The line of the one row holding marker."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


D1 = _deal_obj(deal_id="D1")  # dated 2024-02-01, Alpha pays Beta, signed
ALPHA = {"entity_id": "alpha", "name": "Alpha", "kind": "bank"}


def member(m: str, share: str = "", side: str = "payer", deal: str = "D1") -> dict[str, str]:
    return {"deal_id": deal, "side": side, "member": m, "share": share}


def link_case(phrase: str, field: str, marker: str, fmt: str = "json",
              **tables: list[dict[str, str]]) -> tuple[str, int, str, str]:
    """A case of several tables in one file; the error is on the row holding marker."""
    text = _tables(fmt, **tables)
    return text, _line(text, marker), field, phrase


# name -> (bytes or text, expected line, expected field, phrase)
CASES: dict[str, tuple[str | bytes, int | None, str | None, str]] = {
    # dates
    "date_feb30.csv": (D + OK1 + deal(date="2024-02-30"), 3, "date", "no day 30"),
    "date_month13.csv": (D + OK1 + deal(date="2024-13"), 3, "date", "month 13"),
    "date_words.csv": (D + OK1 + deal(date="last spring"), 3, "date", "not a date"),
    "date_slashes.csv": (D + OK1 + deal(date="01/02/2024"), 3, "date", "not a date"),
    "date_year_99999.csv": (D + OK1 + deal(date="99999"), 3, "date", "not a date"),
    "date_year_1066.csv": (D + OK1 + deal(date="1066"), 3, "date", "out of range"),
    "date_missing.csv": (D + OK1 + deal(date=""), 3, "date", "required"),
    "date_feb29_non_leap.csv": (D + OK1 + deal(date="2025-02-29"), 3, "date", "no day 29"),
    # amounts
    "amount_negative.csv": (D + OK1 + deal(amount_usd="-5"), 3, "amount_usd", "negative"),
    "amount_words.csv": (D + OK1 + deal(amount_usd="ten billion"), 3, "amount_usd", "not a number"),
    "amount_commas.csv": (D + OK1 + deal(amount_usd='"1,000,000"'), 3, "amount_usd", "thousands separators"),
    "amount_huge.csv": (D + OK1 + deal(amount_usd="1e40"), 3, "amount_usd", "10^15"),
    "amount_inf.csv": (D + OK1 + deal(amount_usd="inf"), 3, "amount_usd", "finite"),
    "amount_nan.csv": (D + OK1 + deal(amount_usd="NaN"), 3, "amount_usd", "finite"),
    "amount_currency_sign.csv": (D + OK1 + deal(amount_usd="$5"), 3, "amount_usd", "not a number"),
    "amount_qualifier_without_amount.csv": (D + OK1 + deal(amount_usd="", amount_qualifier="up_to"),
                                            3, "amount_qualifier", "needs an amount"),
    "amount_undisclosed_but_given.csv": (D + OK1 + deal(amount_qualifier="undisclosed"), 3,
                                         "amount_qualifier", "undisclosed"),
    "amount_qualifier_unknown.csv": (D + OK1 + deal(amount_qualifier="roughly"), 3,
                                     "amount_qualifier", "not one of"),
    # vocabularies
    "type_unknown.csv": (D + OK1 + deal(type="gift"), 3, "type", "not one of"),
    "type_missing.csv": (D + OK1 + deal(type=""), 3, "type", "required"),
    "status_unknown.csv": (D + OK1 + deal(status="rumoured"), 3, "status", "not one of"),
    "confidence_unknown.csv": (D + OK1 + deal(confidence="certain"), 3, "confidence", "not one of"),
    "confidence_missing.csv": (D + OK1 + deal(confidence=""), 3, "confidence", "required"),
    "source_missing.csv": (D + OK1 + deal(source_url=""), 3, "source_url", "required"),
    "source_not_http.csv": (D + OK1 + deal(source_url="javascript:alert(1)"), 3, "source_url", "http"),
    "source_with_space.csv": (D + OK1 + deal(source_url='"https://x.org/a b"'), 3, "source_url", "http"),
    # parties and ids
    "self_deal.csv": (D + OK1 + deal(payer="Alpha", payee="Alpha"), 3, "payee", "same entity"),
    "self_deal_by_case.csv": (D + OK1 + deal(payer="alpha", payee="ALPHA "), 3, "payee", "same entity"),
    "payer_missing.csv": (D + OK1 + deal(payer=""), 3, "payer", "required"),
    "deal_id_missing.csv": (D + OK1 + deal(deal_id=""), 3, "deal_id", "required"),
    "deal_id_spaces.csv": (D + OK1 + deal(deal_id='"D 2"'), 3, "deal_id", "not a valid id"),
    "deal_id_quote.csv": (D + OK1 + deal(deal_id="D2'--"), 3, "deal_id", "not a valid id"),
    "deal_id_duplicate_different.csv": (D + OK1 + deal(deal_id="D1"), 3, "deal_id", "already defined"),
    "control_chars_in_name.csv": (D + OK1 + deal(payer="Al\x07pha"), 3, "payer", "control character U+0007"),
    # structure
    "too_few_fields.csv": (D + OK1 + "D2,2024,Alpha,Beta,loan\n", 3, None, "has 5 fields"),
    "too_many_fields.csv": (D + OK1 + OK1.strip() + ",extra\n", 3, None, "has 12 fields"),
    "header_missing_column.csv": (D.replace(",confidence", "") + "D1,2024,a,b,loan,1,exact,signed,x," + U + "\n",
                                  1, "confidence", "missing required"),
    "header_duplicate_column.csv": (D.replace("description", "status"), 1, "status", "appears twice"),
    "header_unknown_column.csv": (D.strip() + ",notes\n", 1, "notes", "unknown deals column"),
    "header_ambiguous.csv": ("deal_id,entity_id,name\nD1,e1,x\n", 1, None, "cannot tell which table this is"),
    "no_id_column.csv": ("name,kind\nx,bank\n", 1, None, "cannot tell which table this is"),
    "empty.csv": ("", None, None, "empty"),
    "whitespace_only.csv": ("  \n\n \n", None, None, "empty"),
    "unclosed_quote.csv": (D + OK1 + 'D2,2024,"Alpha,Beta,loan,1,exact,signed,x,' + U + ",high\n",
                           3, None, "bad CSV"),
    # encodings
    "latin1.csv": ((D + deal(payer="Société Générale")).encode("latin-1"), 2, None, "not UTF-8"),
    "utf16.csv": ((D + OK1).encode("utf-16"), 1, None, "UTF-16"),
    "nul_byte.csv": ((D + OK1 + "D2,2024,Al\x00pha,Beta,loan,1,exact,signed,x," + U + ",high\n").encode(),
                     3, None, "NUL byte"),
    # entities
    "entity_kind_unknown.csv": (E + "e1,Alpha,unicorn,,,,,,,,\n", 2, "kind", "not one of"),
    "entity_country_bad.csv": (E + "e1,Alpha,bank,,,USA,,,,,\n", 2, "country", "two-letter"),
    "entity_revenue_negative.csv": (E + "e1,Alpha,bank,,,US,-1,,,,\n", 2, "revenue_usd", "negative"),
    "entity_parent_unknown.csv": (E + "e1,Alpha,spv,,ghost,US,,,,,\n", 2, "parent", "not a known entity"),
    "entity_parent_self.csv": (E + "e1,Alpha,spv,,e1,US,,,,,\n", 2, "parent", "its own parent"),
    "entity_parent_cycle.csv": (E + "e1,Alpha,spv,,e2,US,,,,,\ne2,Beta,spv,,e1,US,,,,,\n", 2, "parent",
                                "cycle"),
    "entity_alias_clash.csv": (E + "e1,Alpha,bank,Gamma,,,,,,,\ne2,Gamma,bank,,,,,,,,\n", 3, "name",
                               "already names entity"),
    "entity_duplicate_id.csv": (E + "e1,Alpha,bank,,,,,,,,\ne1,Alpha2,bank,,,,,,,,\n", 3, "entity_id",
                                "already defined"),
    "entity_name_missing.csv": (E + "e1,,bank,,,,,,,,\n", 2, "name", "required"),
    # JSON
    "json_not_rows.json": ('{"deals": 5}', 1, "deals", "must be a list"),
    "json_unknown_key.json": ('{"deal": []}', 1, "deal", "unknown key"),
    "json_scalar_top.json": ('"hello"', 1, None, "JSON must be"),
    "json_row_not_object.json": ('[\n  {"deal_id": "D1", "date": "2024", "payer": "a", "payee": "b", '
                                 '"type": "loan", "amount_usd": 1, "status": "signed", "source_url": "'
                                 + U + '", "confidence": "high"},\n  [1, 2]\n]', 3, None, "must be a JSON object"),
    "json_nested_value.json": ('[{"deal_id": "D1", "date": "2024", "payer": {"x": 1}, "payee": "b", '
                               '"type": "loan", "amount_usd": 1, "status": "signed", "source_url": "'
                               + U + '", "confidence": "high"}]', 1, "payer", "single value"),
    "json_boolean_amount.json": ('[{"deal_id": "D1", "date": "2024", "payer": "a", "payee": "b", '
                                 '"type": "loan", "amount_usd": true, "status": "signed", "source_url": "'
                                 + U + '", "confidence": "high"}]', 1, "amount_usd", "true/false"),
    "json_syntax.json": ('[{"deal_id": "D1",\n "date": 2024,,}]', 2, None, "bad JSON"),
    "json_trailing_garbage.json": ('[]\nxyz', 2, None, "extra data"),
    "json_nan_literal.json": ('[{"deal_id": "D1", "date": "2024", "payer": "a", "payee": "b", '
                              '"type": "loan", "amount_usd": NaN, "status": "signed", "source_url": "'
                              + U + '", "confidence": "high"}]', 1, "amount_usd", "finite"),
    "json_nesting_bomb.json": ("[" * 50_000 + "]" * 50_000, 1, None, "nested too deeply"),
    # YAML
    "yaml_billion_laughs.yaml": ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
                                 "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                                 "deals: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n", 1, None, "not allowed"),
    "yaml_syntax.yaml": ("deals:\n  - deal_id: D1\n    date: [unclosed\n", 4, None, "bad YAML"),
    "yaml_scalar.yaml": ("just text\n", 1, None, "YAML must be"),
    "yaml_nested_value.yaml": ("- deal_id: D1\n  date: '2024'\n  payer: {x: 1}\n  payee: b\n  type: loan\n"
                               "  amount_usd: 1\n  status: signed\n  source_url: " + U + "\n  confidence: high\n",
                               3, "payer", "single value"),
    "yaml_bad_date.yaml": ("deals:\n  - deal_id: D1\n    date: 2024-02-31\n    payer: a\n    payee: b\n"
                           "    type: loan\n    amount_usd: 1\n    status: signed\n    source_url: " + U
                           + "\n    confidence: high\n", 2, "date", "no day 31"),
    "yaml_python_tag.yaml": ("- !!python/object/apply:os.system ['echo pwned']\n", 1, None,
                              "must be a YAML object"),
    # characters no field may hold (item 2): every field, every format
    "source_url_nul.json": (_json_deals(source_url=U + "\x00"), 3, "source_url", "control character U+0000"),
    "source_url_nul.yaml": (_yaml_deals(source_url='"' + U + '\\0"'), 2, "source_url",
                            "control character U+0000"),
    "type_nul.json": (_json_deals(type="loan\x00"), 3, "type", "control character U+0000"),
    "date_escape.json": (_json_deals(date="2024\x1b[2J"), 3, "date", "control character U+001B"),
    "confidence_del.json": (_json_deals(confidence="high\x7f"), 3, "confidence", "control character U+007F"),
    "payer_c1_nel.csv": (D + OK1 + deal(payer="Alpha\x85"), 3, "payer", "U+0085"),
    "payer_unit_separator.csv": (D + OK1 + deal(payer="Alpha\x1f"), 3, "payer", "U+001F"),
    "payer_bidi_override.csv": (D + OK1 + deal(payer="Alpha\u202eateB"), 3, "payer",
                                "bidirectional control U+202E"),
    "payee_bidi_isolate.csv": (D + OK1 + deal(payee="Be\u2066ta"), 3, "payee", "bidirectional control U+2066"),
    "payee_lrm.csv": (D + OK1 + deal(payee="Beta\u200e"), 3, "payee", "bidirectional control U+200E"),
    "payee_arabic_letter_mark.csv": (D + OK1 + deal(payee="Be\u061cta"), 3, "payee", "U+061C"),
    "payer_newline.csv": (D + OK1 + deal(payer='"Al\npha"'), 3, "payer", "line break"),
    "payer_tab.csv": (D + OK1 + deal(payer="Al\tpha"), 3, "payer", "tab"),
    "payer_line_separator.json": (_json_deals(payer="Al\u2028pha"), 3, "payer", "line break (U+2028"),
    "payer_surrogate.json": (_json_deals(payer="Al\ud800pha"), 3, "payer", "unpaired surrogate"),
    "description_escape.csv": (D + OK1 + deal(description="ok\x1b]0;pwned\x07"), 3, "description",
                               "control character U+001B"),
    "description_lone_cr.json": (_json_deals(description="a\rb"), 3, "description", "carriage return"),
    "deal_id_bidi.json": (_json_deals(deal_id="D\u202e2"), 3, "deal_id", "bidirectional control"),
    "entity_name_newline.json": ('[{"entity_id": "e1", "name": "Open\\nAI", "kind": "ai_lab"}]', 1, "name",
                                 "line break"),
    "entity_alias_bidi.yaml": ("- entity_id: e1\n  name: Alpha\n  kind: bank\n  aliases: [Al, \"A\\u202eB\"]\n",
                               1, "aliases", "bidirectional control"),
    "entity_country_control.json": ('[{"entity_id": "e1", "name": "A", "kind": "bank", "country": "U\\u0000S"}]',
                                    1, "country", "control character"),
    "entity_kind_tab.json": ('[{"entity_id": "e1", "name": "A", "kind": "ba\\tnk"}]', 1, "kind", "tab"),
    "entity_parent_nul.json": ('[{"entity_id": "e1", "name": "A", "kind": "bank", "parent": "e\\u00002"}]',
                               1, "parent", "control character"),
    "entity_revenue_c1.json": ('[{"entity_id": "e1", "name": "A", "kind": "bank", "revenue_usd": "5\\u009b"}]',
                               1, "revenue_usd", "control character U+009B"),
    # a new name's id must not take another entity's name (item 9)
    "auto_entity_takes_alias.json": (json.dumps({
        "entities": [{"entity_id": "xai", "name": "xAI", "kind": "ai_lab", "aliases": ["x-ai"]},
                     {"entity_id": "nvidia", "name": "Nvidia", "kind": "chipmaker"}],
        "deals": [_deal_obj(payer="X AI", payee="Nvidia")]}, indent=1), 18, "payer",
        "the id it would get, 'x-ai', already names entity 'xai'"),
    "auto_entity_takes_auto_id.csv": (D + OK1 + deal(payer="Alpha.", payee="Gamma"), 3, "payer",
                                      "already names entity 'alpha'"),
    # a key twice in one row (item 10)
    "json_duplicate_key.json": ('[{"deal_id": "D1", "date": "2024", "payer": "a", "payee": "b",\n'
                                ' "type": "loan", "amount_usd": 5000000000, "status": "signed",\n'
                                ' "amount_usd": 1, "source_url": "' + U + '", "confidence": "high"}]',
                                3, "amount_usd", "appears twice"),
    "json_duplicate_section.json": ('{"deals": [' + json.dumps(_deal_obj()) + '],\n "deals": ['
                                    + json.dumps(_deal_obj(deal_id="D3")) + ']}', 2, "deals", "appears twice"),
    "yaml_duplicate_key.yaml": (_yaml_deals("payee: Gamma"), 11, "payee", "appears twice"),
    "yaml_duplicate_section.yaml": ("deals: []\ndeals: []\n", 2, "deals", "appears twice"),
    # ids are case-insensitive (item 11)
    "deal_id_case_twin.csv": (D + OK1 + deal(deal_id="d1", amount_usd="100"), 3, "deal_id",
                              "differ only in case"),
    "entity_id_case_twin.csv": (E + "e1,Alpha,bank,,,,,,,,\nE1,Beta,bank,,,,,,,,\n", 3, "entity_id",
                                "differ only in case"),
    # look-alike names (item 12)
    "lookalike_cyrillic.json": (json.dumps({
        "entities": [{"entity_id": "nvidia", "name": "Nvidia", "kind": "chipmaker"},
                     {"entity_id": "openai", "name": "OpenAI", "kind": "ai_lab"}],
        "deals": [_deal_obj(payer="Nv\u0456dia", payee="OpenAI")]}, indent=1), 15, "payer",
        "looks like 'Nvidia' (entity 'nvidia')"),
    "lookalike_cyrillic_e.csv": (D + OK1 + deal(payer="Alpha", payee="B\u0435ta"), 3, "payee",
                                           "looks like 'Beta'"),
    # lenient parsing the README rules out (item 13)
    "amount_underscore.csv": (D + OK1 + deal(amount_usd="10_00"), 3, "amount_usd", "'_' separators"),
    "amount_arabic_indic_digits.csv": (D + OK1 + deal(amount_usd="\u0661\u0660\u0660"), 3, "amount_usd",
                                       "ASCII 0-9"),
    "amount_fullwidth_digits.csv": (D + OK1 + deal(amount_usd="\uff11\uff10\uff10"), 3, "amount_usd",
                                    "ASCII 0-9"),
    "amount_plus_sign.csv": (D + OK1 + deal(amount_usd="+5"), 3, "amount_usd", "not a number"),
    "amount_underscore.json": (_json_deals(amount_usd="1_000"), 3, "amount_usd", "'_' separators"),
    "amount_underscore.yaml": (_yaml_deals(amount_usd="1_000"), 2, "amount_usd", "'_' separators"),
    "date_arabic_indic_digits.csv": (D + OK1 + deal(date="\u0662\u0660\u0662\u0664"), 3, "date", "ASCII 0-9"),
    "date_fullwidth_digits.csv": (D + OK1 + deal(date="\uff12\uff10\uff12\uff14-01"), 3, "date", "ASCII 0-9"),
    "entity_revenue_underscore.csv": (E + "e1,Alpha,bank,,,US,1_000,,,,\n", 2, "revenue_usd", "'_' separators"),
    "entity_country_zz.csv": (E + "e1,Alpha,bank,,,ZZ,,,,,\n", 2, "country", "ISO 3166-1"),
    "entity_country_uk.csv": (E + "e1,Alpha,bank,,,UK,,,,,\n", 2, "country", "ISO 3166-1"),
    "header_only.csv": (D, None, None, "no rows"),
    "header_and_blank_lines.csv": (E + "\n,,,,,,,,,,\n\n", None, None, "no rows"),
    "json_empty_sections.json": ('{"entities": [], "deals": []}', None, None, "no rows"),
    "yaml_empty_list.yaml": ("deals: []\n", None, None, "no rows"),
    "json_empty_list.json": ("[]", None, None, "no rows"),
    "json_alias_list_not_strings.json": ('[{"entity_id": "e1", "name": "A", "kind": "bank", "aliases": ["x", ["y"]]}]',
                                         1, "aliases", "list of strings"),
    "json_alias_list_empty_item.json": ('[{"entity_id": "e1", "name": "A", "kind": "bank", "aliases": ["x", " "]}]',
                                        1, "aliases", "alias 2 of the list is empty"),
    "json_huge_integer.json": ('[{"deal_id": "D1", "date": "2024", "payer": "a", "payee": "b", "type": "loan", '
                               '"amount_usd": ' + "9" * 5000 + ', "status": "signed", "source_url": "' + U
                               + '", "confidence": "high"}]', 1, "amount_usd", "10^15"),
    # participants, sources, events and financials (issue 11)
    "participants_share_above_one.json": link_case(
        "not a fraction in (0, 1]", "share", '"Gamma"',
        deals=[D1], participants=[member("Gamma", "1.5")]),
    "participants_share_above_one.yaml": link_case(
        "not a fraction in (0, 1]", "share", '"Gamma"', "yaml",
        deals=[D1], participants=[member("Delta"), member("Gamma", "1.01")]),
    "participants_share_zero.json": link_case(
        "not a fraction in (0, 1]", "share", '"Gamma"', deals=[D1], participants=[member("Gamma", "0")]),
    "participants_shares_over_one.json": link_case(
        "the payer shares of 'D1' add up to 1.1, more than 1", "share", '"Delta"',
        deals=[D1], participants=[member("Gamma", "0.6"), member("Delta", "0.5"), member("Omega", "0.9", "payee")]),
    "participants_shares_leave_nothing.json": link_case(
        "leaving nothing for 1 member(s) without a share", "share", '"Epsilon"',
        deals=[D1], participants=[member("Gamma", "0.6"), member("Delta", "0.4"), member("Epsilon")]),
    "participants_unknown_deal.csv": ("deal_id,side,member,share,source_url\nD9,payer,Gamma,,\n", 2, "deal_id",
                                      "'D9' is not a deal in this ingest or the graph"),
    "participants_unknown_deal.json": link_case(
        "'D2' is not a deal in this ingest or the graph", "deal_id", '"D2"',
        deals=[D1], participants=[member("Gamma"), member("Gamma", deal="D2")]),
    "participants_duplicate_member.json": link_case(
        "'gamma' is listed twice on the payer side of 'D1'", "member", '"gamma"',
        deals=[D1], participants=[member("Gamma", "0.2"), member("gamma", "0.3")]),
    "participants_member_is_party.json": link_case(
        "is the deal's payee itself", "member", '"member": "Beta"', deals=[D1], participants=[member("Beta")]),
    "participants_side_unknown.json": link_case(
        "'lender' is not one of payer, payee", "side", '"lender"',
        deals=[D1], participants=[member("Gamma", side="lender")]),
    "sources_unknown_deal.csv": ("deal_id,url,kind,publisher,published\nD9,https://www.ft.com/x,,,\n", 2,
                                 "deal_id", "'D9' is not a deal in this ingest or the graph"),
    "sources_duplicate_url.json": link_case(
        "is listed twice for 'D1'", "url", '"FT again"',
        deals=[D1], sources=[{"deal_id": "D1", "url": "https://www.ft.com/x", "publisher": "FT"},
                             {"deal_id": "D1", "url": "https://www.ft.com/x", "publisher": "FT again"}]),
    "sources_kind_unknown.json": link_case(
        "'blog' is not one of filing, company, news, aggregator, other", "kind", '"blog"',
        deals=[D1], sources=[{"deal_id": "D1", "url": "https://www.ft.com/x", "kind": "blog"}]),
    "sources_kind_contradicts.yaml": link_case(
        "is given as 'news' elsewhere in this ingest", "kind", '"aggregator"', "yaml",
        deals=[D1, _deal_obj(deal_id="D3")],
        sources=[{"deal_id": "D1", "url": "https://www.ft.com/x", "kind": "news"},
                 {"deal_id": "D3", "url": "https://www.ft.com/x", "kind": "aggregator"}]),
    "sources_published_future.json": link_case(
        "2199-01-01 is after today", "published", '"2199-01-01"',
        deals=[D1], sources=[{"deal_id": "D1", "url": "https://www.ft.com/x", "published": "2199-01-01"}]),
    "events_unknown_deal.csv": ("deal_id,date,status,source_url\nD9,2024-03-01,signed,\n", 2, "deal_id",
                                "'D9' is not a deal in this ingest or the graph"),
    "events_before_deal.json": link_case(
        "2024-01 is before the deal's own date 2024-02-01", "date", '"2024-01"',
        deals=[D1], events=[{"deal_id": "D1", "date": "2024-01", "status": "announced"},
                            {"deal_id": "D1", "date": "2024-02-01", "status": "signed"}]),
    "events_status_contradicts.json": link_case(
        "the latest event of 'D1' says 'funded', but the deal's status in this ingest is 'signed'",
        "status", '"funded"',
        deals=[D1], events=[{"deal_id": "D1", "date": "2024-02-01", "status": "signed"},
                            {"deal_id": "D1", "date": "2024-06", "status": "funded"}]),
    "events_status_contradicts.yaml": link_case(
        "but the deal's status in this ingest is 'signed'", "status", '"announced"', "yaml",
        deals=[D1], events=[{"deal_id": "D1", "date": "2024-02-01", "status": "announced"}]),
    "events_in_future.json": link_case(
        "2199-01-01 is after today; events are what has happened", "date", '"2199-01-01"',
        deals=[D1], events=[{"deal_id": "D1", "date": "2024-02-01", "status": "signed"},
                            {"deal_id": "D1", "date": "2199-01-01", "status": "signed"}]),
    "events_status_unknown.json": link_case(
        "'rumoured' is not one of", "status", '"rumoured"',
        deals=[D1], events=[{"deal_id": "D1", "date": "2024-02-01", "status": "rumoured"}]),
    "events_duplicate.json": link_case(
        "'D1' already has a 'signed' event on 2024-03-01", "status", '"https://www.ft.com/again"',
        deals=[D1], events=[{"deal_id": "D1", "date": "2024-03-01", "status": "signed"},
                            {"deal_id": "D1", "date": "2024-03-01", "status": "signed",
                             "source_url": "https://www.ft.com/again"}]),
    "financials_future.json": link_case(
        "2199 ends after today", "as_of", '"2199"',
        entities=[ALPHA], financials=[{"entity_id": "Alpha", "as_of": "2199", "revenue_usd": "5"}]),
    "financials_future_month.json": link_case(
        "ends after today", "as_of", '"revenue_usd": "7"',
        entities=[ALPHA], financials=[{"entity_id": "Alpha", "as_of": "2199-12", "revenue_usd": "7"}]),
    "financials_negative.json": link_case(  # equity alone may be negative (a deficit)
        "is negative", "total_assets_usd", '"-5"',
        entities=[ALPHA], financials=[{"entity_id": "alpha", "as_of": "2024-12-31", "equity_usd": "-9",
                                       "total_assets_usd": "-5"}]),
    "financials_negative.csv": ("entity_id,as_of,revenue_usd,total_liabilities_usd\ne1,2024-12-31,5,-1\n", 2,
                                "total_liabilities_usd", "is negative"),
    "financials_unknown_entity.csv": ("entity_id,as_of,revenue_usd\nghost,2024-12-31,5\n", 2, "entity_id",
                                      "'ghost' is not a known entity"),
    "financials_no_figure.json": link_case(
        "gives no figure", "as_of", '"10-K"',
        entities=[ALPHA], financials=[{"entity_id": "alpha", "as_of": "2024-12-31", "basis": "10-K"}]),
    "financials_twice_different.json": link_case(
        "as of 2024-12-31 are already given at", "as_of", '"6"',
        entities=[ALPHA], financials=[{"entity_id": "alpha", "as_of": "2024-12-31", "revenue_usd": "5"},
                                      {"entity_id": "Alpha", "as_of": "2024-12-31", "revenue_usd": "6"}]),
    "entity_financials_future.csv": ("entity_id,name,kind,revenue_usd,as_of\ne1,Alpha,bank,5,2199-06-30\n", 2,
                                     "as_of", "ends after today"),
    "financials_entity_in_deals_header.csv": ("deal_id,entity_id,as_of\nD1,e1,2024\n", 1, None,
                                              "cannot tell which table this is"),
    "participants_header_missing_side.csv": ("deal_id,member,share\nD1,Gamma,0.5\n", 1, "side",
                                             "missing required participants column"),
    # holdings and assets (issue 14)
    "holdings_unknown_holder.csv": ("holder,asset,as_of,value_usd,source_url\nghost,gold,2025-06-30,5," + U + "\n",
                                    2, "holder", "'ghost' is not a known entity"),
    "holdings_unknown_asset.json": link_case(
        "is neither an asset of an assets table nor a known entity", "asset", '"platinum"',
        entities=[ALPHA], holdings=[{"holder": "alpha", "asset": "platinum", "as_of": "2025-06-30",
                                     "value_usd": "5", "source_url": U}]),
    "holdings_negative_value.json": link_case(
        "is negative", "value_usd", '"-5"',
        entities=[ALPHA], assets=[{"asset_id": "gold", "name": "Gold", "class": "gold"}],
        holdings=[{"holder": "alpha", "asset": "gold", "as_of": "2025-06-30", "value_usd": "-5",
                   "source_url": U}]),
    "holdings_no_value.csv": ("holder,asset,as_of,value_usd,source_url\nalpha,gold,2025-06-30,," + U + "\n", 2,
                              "value_usd", "is required: the holding's market value"),
    "holdings_future.json": link_case(
        "ends after today", "as_of", '"2199-06-30"',
        entities=[ALPHA], assets=[{"asset_id": "gold", "name": "Gold", "class": "gold"}],
        holdings=[{"holder": "alpha", "asset": "gold", "as_of": "2199-06-30", "value_usd": "5",
                   "source_url": U}]),
    "holdings_no_source.csv": ("holder,asset,as_of,value_usd,source_url\nalpha,gold,2025-06-30,5,\n", 2,
                               "source_url", "is required"),
    "holdings_twice_different.json": link_case(
        "is already given at", "as_of", '"6"',
        entities=[ALPHA], assets=[{"asset_id": "gold", "name": "Gold", "class": "gold"}],
        holdings=[{"holder": "alpha", "asset": "gold", "as_of": "2025-06-30", "value_usd": "5", "source_url": U},
                  {"holder": "Alpha", "asset": "gold", "as_of": "2025-06-30", "value_usd": "6", "source_url": U}]),
    "holdings_own_equity.json": link_case(
        "issued by the holder itself", "asset", '"asset": "Alpha"',
        entities=[ALPHA], holdings=[{"holder": "alpha", "asset": "Alpha", "as_of": "2025-06-30",
                                     "value_usd": "5", "source_url": U}]),
    "holdings_capacity_unknown.json": link_case(
        "'custody' is not one of own, managed", "capacity", '"custody"',
        entities=[ALPHA], assets=[{"asset_id": "gold", "name": "Gold", "class": "gold"}],
        holdings=[{"holder": "alpha", "asset": "gold", "as_of": "2025-06-30", "value_usd": "5",
                   "capacity": "custody", "source_url": U}]),
    "assets_class_unknown.csv": ("asset_id,name,class\ngold,Gold,metal\n", 2, "class", "'metal' is not one of"),
    "assets_depth_zero.csv": ("asset_id,name,class,depth_usd\ngold,Gold,gold,0\n", 2, "depth_usd",
                              "must be above 0"),
    "assets_entity_not_equity.json": link_case(
        "names its listed equity: class must be equity", "class", '"bond"',
        entities=[ALPHA], assets=[{"asset_id": "alpha", "name": "Alpha notes", "class": "bond"}]),
    "assets_unknown_issuer.csv": ("asset_id,name,class,issuer\nxbond,X notes,bond,ghost\n", 2, "issuer",
                                  "'ghost' is not a known entity"),
    "assets_case_twin.csv": ("asset_id,name,class\ngold,Gold,gold\nGOLD,Gold bars,gold\n", 3, "asset_id",
                             "differs only in case"),
    "holdings_header_missing_value.csv": ("holder,asset,as_of,source_url\nalpha,gold,2025,https://x.org\n", 1,
                                          "value_usd", "missing required holdings column"),
    # other
    "unknown_suffix.txt": ("deal_id\n", None, None, "unknown file type"),
}


def main() -> None:
    expected = {}
    for name, (content, line, field, phrase) in CASES.items():
        path = HERE / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        expected[name] = {"line": line, "field": field, "phrase": phrase}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{len(CASES)} cases written")


if __name__ == "__main__":
    main()
