"""Deal candidates: agreements found in filings that a person has not yet reviewed.

A candidate is a ``Candidate`` node, not a ``Deal``: no analysis reads that label, so
a candidate counts nowhere until ``accept`` turns it into a deal (through the ordinary
ingest: validated, sourced by the filing, described by the sentence that was found).
``reject`` drops it from the list of open candidates and keeps the record of that.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from .. import queries
from ..errors import InputError
from ..store.base import GraphStore
from .pipeline import IngestReport, ingest
from .readers import RawRow, RawTable

__all__ = ["CANDIDATE_STATUSES", "accept", "add_candidates", "list_candidates", "reject"]

CANDIDATE_STATUSES: tuple[str, ...] = ("candidate", "accepted", "rejected")


def list_candidates(store: GraphStore, status: str | None = "candidate") -> list[dict[str, Any]]:
    """The candidates of one status (None: all), oldest filing first."""
    rows = store.read(queries.load("candidates").text)
    return [r for r in rows if status is None or r["status"] == status]


def add_candidates(store: GraphStore, rows: Sequence[dict[str, Any]], *, dry_run: bool = False,
                   ) -> tuple[list[dict[str, Any]], int]:
    """Record the candidates the graph does not hold yet (by id: a candidate found again,
    reviewed or not, is left as it is). The new ones and how many were known already."""
    known = {r["id"] for r in store.read(queries.load("candidates").text)}
    new = [dict(r, status="candidate", found=_now())
           for r in rows if r["id"] not in known]
    new = [{k: v for k, v in r.items() if v is not None} for r in new]
    if new and not dry_run:
        store.ensure_schema()
        store.write([(queries.load("create_candidates").text, {"rows": new})])
    return new, len(rows) - len(new)


def _open(store: GraphStore, cid: str) -> dict[str, Any]:
    for r in store.read(queries.load("candidates").text):
        if r["id"] == cid:
            if r["status"] != "candidate":
                raise InputError(f"candidate {cid!r} was already {r['status']} on {r['reviewed']}; "
                                 "nothing changed")
            return r
    raise InputError(f"no candidate with id {cid!r}; `circfin review list` shows them")


def accept(store: GraphStore, cid: str, *, type: str, amount_usd: float | None = None,
           payer: str | None = None, payee: str | None = None, status: str = "signed",
           confidence: str = "high", deal_id: str | None = None) -> IngestReport:
    """Turn a candidate into a deal: by default the counterparty pays the filer (a filer
    discloses what it is owed), the candidate's amount, the filing as source, the
    sentence found as description. The deal is validated like any other; nothing is
    written if it fails."""
    c = _open(store, cid)
    amount = amount_usd if amount_usd is not None else c.get("amount_usd")
    did = deal_id or cid
    values: dict[str, str | list[str] | None] = {
        "deal_id": did, "date": c["date"], "payer": payer or c["counterparty"], "payee": payee or c["filer"],
        "type": type, "amount_usd": None if amount is None else str(_plain(amount)),
        "status": status, "description": c.get("evidence"), "source_url": c["source_url"],
        "confidence": confidence}
    table = RawTable(f"candidate {cid}", "deals", [RawRow(f"candidate {cid}", 1, values)])
    report = ingest(store, [], tables=[table])
    store.write([(queries.load("review_candidate").text,
                  {"id": cid, "status": "accepted", "reviewed": _now(), "deal_id": did})])
    return report


def reject(store: GraphStore, cid: str) -> None:
    """Drop a candidate from the open list, recorded as rejected."""
    _open(store, cid)
    store.write([(queries.load("review_candidate").text,
                  {"id": cid, "status": "rejected", "reviewed": _now(), "deal_id": None})])


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _plain(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)
