"""`circfin audit`: each check on hand-built snapshots (the exact ids it finds, and
nothing on clean data), then the command end to end on ingested files and the seed."""

from __future__ import annotations

import datetime as _dt
import json
import math
import random
import string
from pathlib import Path
from typing import Any

import pandas as pd

from circfin import queries
from circfin.analytics import audit as A
from circfin.loops.from_store import Snapshot

from .conftest import write

EPOCH = _dt.date(1970, 1, 1)


def day(iso: str) -> int:
    return (_dt.date.fromisoformat(iso) - EPOCH).days


def deal(deal_id: str, **kw: Any) -> dict[str, Any]:
    d = {"deal_id": deal_id, "date": "2025-01-10", "payer": "a", "payee": "b", "type": "loan",
         "amount_usd": 1e9, "amount_qualifier": "exact", "status": "signed", "description": "",
         "source_url": "https://www.reuters.com/x", "source_kind": "news", "confidence": "high",
         "ev_days": [], "ev_statuses": []}
    d.update(kw)
    if "day" not in kw:
        d["day"] = day(d["date"] + "-01" * (2 - d["date"].count("-")))  # a partial date: its first day
    return d


def entity(eid: str, name: str | None = None, kind: str = "other", aliases: list[str] | None = None,
           **kw: Any) -> dict[str, Any]:
    return {"id": eid, "name": name or eid, "kind": kind, "aliases": aliases or [], "name_keys": [],
            "country": None, "parent": None, "source_url": None, "financials": {}, **kw}


def snap(deals: list[dict[str, Any]] = (), entities: list[dict[str, Any]] | None = None, *,
         participants: list[dict[str, Any]] = (), events: list[dict[str, Any]] = (),
         financials: list[dict[str, Any]] = (), sources: list[dict[str, Any]] | None = None,
         as_of: str | None = None) -> Snapshot:
    frame = pd.DataFrame(list(deals), columns=list(queries.load("deals").returns))
    if entities is None:  # every payer and payee, with no name of note
        ids = sorted({d[s] for d in deals for s in ("payer", "payee")})
        entities = [entity(i) for i in ids]
    return Snapshot(frame, list(entities), list(participants), list(events), list(financials),
                    sources, as_of)


def ids(findings: list[A.Finding], check: str | None = None) -> list[tuple[str, ...]]:
    return [f.ids for f in findings if check is None or f.check == check]


# ---- deals ---------------------------------------------------------------------------------


def test_undisclosed_amounts_are_the_deals_without_an_amount():
    s = snap([deal("A"), deal("B", amount_usd=None, amount_qualifier="undisclosed"),
              deal("C", amount_usd=math.nan, amount_qualifier="approx"), deal("D", amount_qualifier="up_to")])
    found = A.undisclosed_amounts(s)
    assert ids(found) == [("B",), ("C",)]
    assert {f.severity for f in found} == {"info"}
    assert A.undisclosed_amounts(snap([deal("A"), deal("D", amount_qualifier="estimate")])) == []


def test_weak_sources_only_when_every_source_rank_0_included_is_an_aggregator_or_other():
    deals = [deal("A"), deal("B"), deal("C", source_kind="news"), deal("D", source_kind="aggregator")]
    sources = [
        {"deal_id": "A", "rank": 0, "url": "u0", "kind": "other"},
        {"deal_id": "A", "rank": 1, "url": "u1", "kind": "aggregator"},
        {"deal_id": "B", "rank": 0, "url": "u2", "kind": "aggregator"},
        {"deal_id": "B", "rank": 1, "url": "u3", "kind": "filing"},  # one good source is enough
    ]  # C and D have no source rows: their own source_kind decides
    found = A.weak_sources(snap(deals, sources=sources))
    assert ids(found) == [("A",), ("D",)]
    assert "all 2 sources are aggregator or other" in found[0].message
    assert {f.severity for f in found} == {"warning"}
    # without the sources table read, the deal's own source_kind is all there is
    assert ids(A.weak_sources(snap(deals, sources=None))) == [("D",)]
    clean = [{"deal_id": "A", "rank": 0, "url": "u", "kind": "company"}]
    assert A.weak_sources(snap([deal("A", source_kind="other")], sources=clean)) == []


def test_deals_without_events_as_of_a_date():
    deals = [deal("A", ev_days=[day("2025-01-10")], ev_statuses=["signed"]), deal("B"),
             deal("C", ev_days=[day("2025-09-01")], ev_statuses=["signed"])]
    assert ids(A.deals_without_events(snap(deals))) == [("B",)]
    # as of June 2025, C's only event has not happened yet
    assert ids(A.deals_without_events(snap(deals, as_of="2025-06-30"))) == [("B",), ("C",)]
    assert A.deals_without_events(snap(deals[:1])) == []


def test_status_event_disagreement_against_the_latest_event():
    ev = [day("2025-01-10"), day("2025-03-01")]
    deals = [deal("A", status="funded", ev_days=ev, ev_statuses=["signed", "funded"]),
             deal("B", status="signed", ev_days=ev, ev_statuses=["announced", "funded"]),
             deal("C", status="cancelled"),  # no events: nothing to disagree with
             # two events on one day: the later one in the list is the latest
             deal("D", status="completed", ev_days=[ev[0], ev[0]], ev_statuses=["funded", "completed"])]
    found = A.status_event_disagreement(snap(deals))
    assert ids(found) == [("B",)]
    assert found[0].severity == "error"
    assert "'signed'" in found[0].message and "'funded'" in found[0].message
    # as of a day before B's latest event, that event does not exist yet
    assert A.status_event_disagreement(snap(deals, as_of="2025-02-01")) == []
    # a snapshot as of a date holds statuses derived from events: the stored ones are passed
    as_of = [dict(d, status=d["ev_statuses"][-1]) if d["ev_statuses"] else d for d in deals]
    assert A.status_event_disagreement(snap(as_of, as_of="2025-12-31")) == []
    recorded = {"A": "funded", "B": "signed", "C": "cancelled", "D": "completed"}
    assert ids(A.status_event_disagreement(snap(as_of, as_of="2025-12-31"), recorded)) == [("B",)]
    assert A.status_event_disagreement(snap([deals[0], deals[2], deals[3]])) == []


def test_stale_statuses_after_365_days_without_an_event():
    today = _dt.date(2026, 1, 1)
    deals = [deal("A", date="2024-06-01", status="signed"),  # 579 days, no events
             deal("B", date="2024-06-01", status="signed", ev_days=[day("2025-06-01")], ev_statuses=["signed"]),
             deal("C", date="2020-01-01", status="completed"),  # done: not stale
             deal("D", date="2025-01-01", status="announced"),  # exactly 365 days: not yet
             deal("E", date="2024-12-31", status="stalled"),  # 366 days
             deal("F", date="2024-06", status="announced")]  # a month: its day is its first
    found = A.stale_statuses(snap(deals), today=today)
    assert ids(found) == [("A",), ("E",), ("F",)]
    assert "deal date 2024-06 " in found[2].message and "still 'announced'" in found[2].message
    # as of a date: the snapshot's day is the reference, and only events up to it count
    assert ids(A.stale_statuses(snap(deals, as_of="2025-07-01"), today=today)) == [("A",), ("F",)]
    ev_late = [deal("G", date="2023-01-01", ev_days=[day("2023-01-01"), day("2025-12-01")],
                    ev_statuses=["announced", "signed"])]
    assert ids(A.stale_statuses(snap(ev_late, as_of="2025-06-30"))) == [("G",)]
    assert A.stale_statuses(snap(ev_late), today=today) == []


# ---- participants --------------------------------------------------------------------------


def member(deal_id: str, side: str, eid: str, share: float, basis: str = "disclosed") -> dict[str, Any]:
    return {"deal_id": deal_id, "side": side, "member": eid, "share": share, "share_basis": basis,
            "source_url": None}


def test_shares_over_one_and_sides_partly_undisclosed():
    deals = [deal("L1"), deal("L2"), deal("L3"), deal("L4")]
    participants = [
        member("L1", "payer", "m1", 0.7), member("L1", "payer", "m2", 0.5),  # 1.2: error
        member("L2", "payer", "m1", 0.4), member("L2", "payer", "m2", 0.3),  # 0.7 disclosed: info
        member("L2", "payee", "m3", 1.0),
        member("L3", "payer", "m1", 0.4), member("L3", "payer", "m2", 0.3, "equal_split"),
        member("L3", "payer", "m3", 0.3, "equal_split"),  # split fills the side
        member("L4", "payer", "m1", 0.1), member("L4", "payer", "m2", 0.2),
        member("L4", "payer", "m3", 0.7),  # 1.0000000000000002: rounding, not an error
    ]
    s = snap(deals, participants=participants)
    over = A.shares_over_one(s)
    assert ids(over) == [("L1",)] and over[0].severity == "error" and "1.2" in over[0].message
    part = A.side_partly_undisclosed(s)
    assert ids(part) == [("L2",)] and part[0].severity == "info" and "payer" in part[0].message
    clean = snap(deals[2:], participants=participants[5:])
    assert A.shares_over_one(clean) == [] and A.side_partly_undisclosed(clean) == []


def test_syndicates_without_members_by_name_kind_and_lending():
    entities = [entity("syn", "JPMorgan-led bank syndicate", "bank"),
                entity("slash", "JPMorgan/Goldman", "bank"),
                entity("chips", "Samsung/SK Hynix", "chipmaker"),  # '/' but not a financier
                entity("acme", "Acme Capital", "other"),  # kind other that lends
                entity("shop", "Some Shop", "other"),  # kind other that buys chips
                entity("holders", "Bond investors (Oracle notes)", "asset_manager"),
                entity("b", "Borrower", "hyperscaler")]
    deals = [deal("L1", payer="syn"), deal("L2", payer="syn"), deal("L3", payer="slash"),
             deal("L4", payer="acme", type="credit_facility"), deal("P1", payer="shop", type="chip_purchase"),
             deal("P2", payer="b", payee="chips", type="chip_purchase"), deal("B1", payer="holders"),
             deal("E1", payer="b", payee="holders", type="equity_investment")]
    participants = [member("L2", "payer", "m1", 1.0), member("E1", "payee", "m1", 1.0)]
    found = A.syndicates_without_members(snap(deals, entities, participants=participants))
    assert ids(found) == [("L1", "syn"), ("L3", "slash"), ("L4", "acme"), ("B1", "holders")]
    assert {f.severity for f in found} == {"warning"}
    assert "payer of deal L1" in found[0].message
    members = [member(d, "payer", "m1", 1.0) for d in ("L1", "L3", "L4", "B1")]
    assert A.syndicates_without_members(snap(deals, entities, participants=participants + members)) == []


# ---- financials ----------------------------------------------------------------------------


def fin(eid: str, as_of: str) -> dict[str, Any]:
    return {"entity_id": eid, "as_of": as_of, "day": day(as_of), "revenue_usd": 1e9, "equity_usd": None,
            "total_assets_usd": None, "total_liabilities_usd": None, "market_cap_usd": None,
            "backlog_usd": None, "basis": None, "source_url": None}


def test_entities_without_financials_or_with_stale_ones():
    entities = [entity("fresh", "Fresh"), entity("old", "Old"), entity("none", "None Inc"),
                entity("idle", "Idle"), entity("syn", "Bank syndicate", "bank"), entity("m", "Member")]
    deals = [deal("D1", payer="fresh", payee="old"), deal("D2", payer="syn", payee="none")]
    participants = [member("D2", "payer", "m", 1.0)]
    # as of 2026-06-30 the cutoff is 2024-12-30: 18 months before
    financials = [fin("old", "2023-01-01"), fin("old", "2024-12-29"), fin("fresh", "2024-12-30"),
                  fin("idle", "2020-01-01")]
    s = snap(deals, entities, participants=participants, financials=financials, as_of="2026-06-30")
    missing = A.no_financials(s)
    assert ids(missing) == [("m",), ("none",)]  # 'syn' is a syndicate, 'idle' in no deal
    assert {f.severity for f in missing} == {"warning"}
    stale = A.stale_financials(s)
    assert ids(stale) == [("old",)] and "2024-12-29" in stale[0].message and stale[0].severity == "info"
    # a snapshot without as_of is judged on `today`; rows after it do not count
    s2 = snap(deals, entities, participants=participants, financials=[*financials, fin("none", "2027-01-01")])
    assert ids(A.no_financials(s2, today=_dt.date(2026, 6, 30))) == [("m",), ("none",)]
    clean = snap(deals[:1], entities[:2], financials=[fin("old", "2026-01-01"), fin("fresh", "2026-01-01")],
                 as_of="2026-06-30")
    assert A.no_financials(clean) == [] and A.stale_financials(clean) == []


def test_eighteen_months_before_the_end_of_a_month_clamps_the_day():
    entities = [entity("x", "X Corp", "hyperscaler")]
    deals = [deal("D1", payer="x", payee="x")]
    # 2026-08-31 less 18 months is 2025-02-28 (no 31 February)
    on = snap(deals, entities, financials=[fin("x", "2025-02-28")], as_of="2026-08-31")
    before = snap(deals, entities, financials=[fin("x", "2025-02-27")], as_of="2026-08-31")
    assert A.stale_financials(on) == [] and ids(A.stale_financials(before)) == [("x",)]


# ---- names ---------------------------------------------------------------------------------


def test_confusable_names_share_a_skeleton():
    entities = [entity("nvidia", "Nvidia", "chipmaker"), entity("fake", "Nv\u0456dia", "chipmaker"),
                entity("caps", "NVIDIA", aliases=["Nvidia Corp"]),  # the same name key: not a look-alike
                entity("small-l", "META", aliases=[]), entity("meta2", "MET\u0391")]  # Greek capital alpha
    found = A.confusable_names(snap([], entities))
    assert ids(found) == [("caps", "fake"), ("fake", "nvidia"), ("meta2", "small-l")]
    assert "U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I" in found[1].message
    assert found[0].severity == "warning"
    assert A.confusable_names(snap([], [entity("nvidia", "Nvidia"), entity("meta", "Meta")])) == []


def test_confusable_names_as_written_small_l_for_capital_i():
    found = A.confusable_names(snap([], [entity("n", "NVIDIA"), entity("l", "NVlDlA")]))
    assert ids(found) == [("l", "n")]


def test_near_duplicate_names_by_edit_distance():
    entities = [entity("oc", "Oracle Corp"), entity("oc2", "Oracle Corp."),  # 1 edit, >= 5 chars
                entity("amd", "AMD"), entity("amx", "AMX"),  # 1 edit but too short
                entity("f1", "Fund 1"), entity("f2", "Fund 2"),  # numbered siblings
                entity("ms", "Morgan Stanley Senior Funding"), entity("ms2", "Morgan Stanly Senior Fundin"),
                entity("cw", "CoreWeave", aliases=["CoreWeave Inc"]), entity("cw2", "CW", aliases=["Coreweave inc."]),
                entity("self", "Lambda Labs", aliases=["Lambda Lab"]),  # one entity's own names
                entity("nv", "Nvidia"), entity("nv2", "Nv\u0456dia"),  # a look-alike: confusable_names says it
                entity("meta", "Meta"), entity("beta", "Beta")]
    found = A.near_duplicate_names(snap([], entities))
    assert ids(found) == [("cw", "cw2"), ("ms", "ms2"), ("oc", "oc2")]
    assert "'CoreWeave Inc' (cw) and 'Coreweave inc.' (cw2): 1 edit apart" in found[0].message
    assert "2 edits apart (similarity 0.93)" in found[1].message
    assert {f.severity for f in found} == {"warning"}
    assert A.near_duplicate_names(snap([], entities), chunk=1) == found  # one name per block
    # the same name key in two entities (written by hand) is distance 0
    same = A.near_duplicate_names(snap([], [entity("x", "Blue Owl"), entity("y", "blue  owl")]))
    assert ids(same) == [("x", "y")] and "the same name" in same[0].message
    assert A.near_duplicate_names(snap([], entities[2:6])) == []


def test_near_duplicates_in_blocks_find_pairs_across_blocks():
    rng = random.Random(11)
    entities = [entity(f"e{i:03}", "".join(rng.choices(string.ascii_lowercase, k=12))) for i in range(40)]
    entities.append(entity("dup", entities[3]["name"] + "s"))
    assert ids(A.near_duplicate_names(snap([], entities), chunk=7)) == [("dup", "e003")]


# ---- all -----------------------------------------------------------------------------------


def test_audit_runs_every_check_worst_first():
    entities = [entity("a", "Alpha Corp", "hyperscaler"), entity("b", "Bank syndicate", "bank")]
    deals = [deal("X", payer="a", payee="b", status="signed", ev_days=[day("2025-01-10")], ev_statuses=["funded"],
                  amount_usd=None, amount_qualifier="undisclosed")]
    found = A.audit(snap(deals, entities, financials=[fin("a", "2025-06-01")]), today=_dt.date(2025, 12, 1))
    assert [(f.check, f.severity, f.ids) for f in found] == [
        ("status_event_disagreement", "error", ("X",)),
        ("syndicates_without_members", "warning", ("X", "b")),
        ("undisclosed_amounts", "info", ("X",)),
    ]
    assert found[0].to_dict() == {"check": "status_event_disagreement", "severity": "error", "ids": ["X"],
                                  "message": found[0].message}
    assert set(A.CHECKS) == {"status_event_disagreement", "shares_over_one", "confusable_names",
                             "near_duplicate_names", "weak_sources", "syndicates_without_members",
                             "no_financials", "stale_statuses", "stale_financials", "undisclosed_amounts",
                             "deals_without_events", "side_partly_undisclosed"}
    assert A.audit(snap([], [])) == []


# ---- the command -----------------------------------------------------------------------------

KEYS = {"check", "severity", "ids", "message"}


# A syndicated loan L1 with its members, sources and events; two deals without either.
TABLES = {
    "deals.csv": """deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,source_url,confidence
L1,2025-03-01,Bank Syndicate,Oracle,loan,18000000000,exact,funded,Loan,https://www.reuters.com/x,high
D2,2025-01-10,Oracle,Nvidia,chip_purchase,40000000000,approx,signed,chips,https://nvidianews.nvidia.com/y,medium
D3,2025-02-01,Nvidia,Bank Syndicate,equity_investment,1000000,exact,completed,odd,https://example.org/z,low
""",
    "entities.csv": """entity_id,name,kind,country,revenue_usd,equity_usd,as_of,source_url
oracle,Oracle,hyperscaler,US,57000000000,20000000000,2025-05-31,https://www.oracle.com/ir
nvidia,Nvidia,chipmaker,US,130000000000,,2025-01-26,
""",
    "events.csv": """deal_id,date,status,source_url
L1,2025-03-01,announced,
L1,2025-06-01,signed,
L1,2025-09-01,funded,
""",
    "fin.csv": """entity_id,as_of,equity_usd,total_assets_usd,basis,source_url
Oracle,2025-11-30,24000000000,200000000000,10-Q,https://www.sec.gov/q
""",
    "members.csv": """deal_id,side,member,share,source_url
L1,payer,JPMorgan,0.4,
L1,payer,Deutsche Bank,,
L1,payer,MUFG,,
""",
    "sources.csv": """deal_id,url,kind,publisher,published
L1,https://www.sec.gov/Archives/x,,SEC,2025-03-05
L1,https://www.bloomberg.com/news/y,,Bloomberg,
""",
    # a declared look-alike: ingest warns, keeps it, and the audit reports it
    "lookalike.csv": "entity_id,name,kind,country\nnvidia-look,Nv\u0456dia,chipmaker,US\n",
}


def _tables(tmp_path: Path) -> Path:
    d = tmp_path / "t11"
    for name, text in TABLES.items():
        write(d / name, text)
    return d


def test_audit_command_on_ingested_tables(cli, store, tmp_path):
    d = _tables(tmp_path)
    ing = cli("ingest", str(d))
    assert ing.returncode == 0, ing.stderr
    assert "looks like 'Nvidia'" in ing.stderr
    r = cli("audit", "--as-of", "2025-12-31", "--format", "json")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert all(set(f) == KEYS for f in found)
    by = {(f["check"], tuple(f["ids"])): f for f in found}
    assert by[("confusable_names", ("nvidia", "nvidia-look"))]["severity"] == "warning"
    assert ("syndicates_without_members", ("D3", "bank-syndicate")) in by  # L1's members are given
    assert ("syndicates_without_members", ("L1", "bank-syndicate")) not in by
    assert ("weak_sources", ("D3",)) in by and ("weak_sources", ("L1",)) not in by
    assert {i for c, i in by if c == "deals_without_events"} == {("D2",), ("D3",)}
    assert {i for c, i in by if c == "no_financials"} == {("deutsche-bank",), ("jpmorgan",), ("mufg",)}
    assert not [f for f in found if f["severity"] == "error"]
    assert cli("audit", "--as-of", "2025-12-31", "--fail-on", "error").returncode == 0
    assert cli("audit", "--as-of", "2025-12-31", "--fail-on", "warning").returncode == 3

    # a graph written by hand or an older version: L1's status against its last event
    store.write([("MATCH (d:Deal {id: 'L1'}) SET d.status = 'signed'", {})])
    r = cli("audit", "--format", "json", "--fail-on", "error")
    assert r.returncode == 3
    errors = [f for f in json.loads(r.stdout) if f["severity"] == "error"]
    assert [(f["check"], f["ids"]) for f in errors] == [("status_event_disagreement", ["L1"])]
    # before its last event (2025-09-01) L1 has nothing to disagree with
    assert cli("audit", "--as-of", "2025-08-31", "--fail-on", "error").returncode == 0

    table = cli("audit", "--as-of", "2025-12-31")
    assert table.returncode == 0
    assert "confusable_names (warning, 1)" in table.stdout
    assert "Audit as of 2025-12-31" in table.stdout and "nvidia-look" in table.stdout


def test_audit_command_on_the_seed(cli):
    assert cli("seed").returncode == 0
    r = cli("audit", "--format", "json")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert found and all(set(f) == KEYS for f in found)
    assert {f["severity"] for f in found} <= {"error", "warning", "info"}
    assert all(f["ids"] and f["check"] in A.CHECKS for f in found)
    checks = {f["check"] for f in found}
    assert {"undisclosed_amounts", "syndicates_without_members", "weak_sources"} <= checks
    synd = [f["ids"] for f in found if f["check"] == "syndicates_without_members"]
    assert ["D008", "coreweave-2023-gpu-lenders"] in synd  # its lenders are not named anywhere
    assert ["D019", "openai-revolver-banks"] not in synd  # the seed names these banks


def test_audit_command_refuses_bad_options(cli):
    r = cli("audit", "--as-of", "someday")
    assert r.returncode == 1 and "--as-of" in r.stderr
    assert cli("audit", "--fail-on", "info").returncode == 2
    empty = cli("audit")
    assert empty.returncode == 0 and "no findings" in empty.stdout
    assert json.loads(cli("audit", "--format", "json", check=True).stdout) == []
    help_ = cli("audit", "--help", check=True).stdout
    assert "Example:" in help_ and "Exit code 0 whatever is found" in help_
