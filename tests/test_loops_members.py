"""`circfin loops --members`: a syndicate's legs become its members', so loops through one bank appear."""

from __future__ import annotations

import json

from .conftest import write

DEALS = """deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence
L1,2025-03-01,Bank Syndicate,Oracle,loan,18000000000,exact,funded,loan,https://www.reuters.com/l1,high
B1,2025-04-01,Oracle,JPMorgan,cloud_commitment,1000000000,exact,signed,cloud,https://www.reuters.com/b1,high
"""
MEMBERS = """deal_id,side,member,share,source_url
L1,payer,JPMorgan,0.4,
L1,payer,Deutsche Bank,,
"""


def test_members_open_a_syndicate_up(cli, tmp_path):
    write(tmp_path / "deals.csv", DEALS)
    write(tmp_path / "members.csv", MEMBERS)
    cli("ingest", str(tmp_path), check=True)
    plain = json.loads(cli("loops", "--format", "json", check=True).stdout)
    assert plain == []  # the syndicate lends, JPMorgan is paid: no loop without members
    found = json.loads(cli("loops", "--members", "--format", "json", check=True).stdout)
    assert [lp["ids"] for lp in found] == [["jpmorgan", "oracle"]]
    leg = next(leg for lp in found for leg in lp["legs"] if leg["payer_id"] == "jpmorgan")
    assert leg["deal_ids"] == ["L1@jpmorgan"] and leg["amount_usd"] == 7_200_000_000


def test_members_refuses_the_cypher_engine(cli, tmp_path):
    write(tmp_path / "deals.csv", DEALS)
    cli("ingest", str(tmp_path), check=True)
    proc = cli("loops", "--members", "--engine", "cypher")
    assert proc.returncode == 1 and "--members needs the memory engine" in proc.stderr


def test_ingest_says_what_the_new_tables_wrote(cli, tmp_path):
    write(tmp_path / "deals.csv", DEALS)
    write(tmp_path / "members.csv", MEMBERS)
    first = cli("ingest", str(tmp_path), check=True).stdout
    assert "wrote: deals' members 1 new, 0 updated, 0 unchanged" in first
    again = cli("ingest", str(tmp_path), check=True).stdout
    assert "wrote: deals' members 0 new, 0 updated, 1 unchanged" in again
    assert "events" not in again  # no events table: no line for it


BOND = """deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence
B9,2025-09-01,Bondholders,Oracle,bond,18000000000,exact,completed,notes,https://www.reuters.com/b9,high
"""


def test_a_bookrunner_is_named_but_holds_nothing(cli, tmp_path):
    write(tmp_path / "deals.csv", BOND)
    write(tmp_path / "members.csv", "deal_id,side,member,share,role,source_url\n"
                                     "B9,payer,Goldman Sachs,,arranger,\nB9,payer,Pimco,0.25,,\n")
    cli("ingest", str(tmp_path), check=True)
    deal = json.loads(cli("deals", "--format", "json", check=True).stdout)["deals"][0]
    roles = {p["entity"]: (p["role"], p["share"]) for p in deal["participants"]}
    assert roles == {"Goldman Sachs": ("arranger", None), "Pimco": ("member", 0.25)}
    shock = json.loads(cli("shock", "Oracle", "--format", "json", check=True).stdout)
    losers = {h["id"]: h["loss_usd"] for h in shock["hits"]}
    assert "goldman-sachs" not in losers  # it sold the notes; it does not hold them
    assert losers["pimco"] == 0.25 * 18_000_000_000  # what it holds, at a full loss


def test_an_arranger_with_a_share_is_refused(cli, tmp_path):
    write(tmp_path / "deals.csv", BOND)
    write(tmp_path / "members.csv", "deal_id,side,member,share,role,source_url\n"
                                     "B9,payer,Goldman Sachs,0.1,arranger,\n")
    proc = cli("ingest", str(tmp_path))
    assert proc.returncode == 1 and "members.csv:2: field 'share'" in proc.stderr
    assert "an arranger holds no share" in proc.stderr
