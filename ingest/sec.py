"""Ingest from SEC EDGAR through edgartools: dated financials from XBRL company facts,
holdings from 13F information tables (both written through the ordinary ingest:
validated, atomic, idempotent) and deal candidates from 8-Ks (see ingest/candidates.py).

EDGAR is read either live (network, with ``EDGAR_IDENTITY="Name email"`` for SEC's
fair-access policy) or from a local mirror in edgartools' local-storage layout
(``companyfacts/CIK##########.json``, ``submissions/...``): the ``edgar_dir`` argument.

Financials: one row per 10-K or 10-Q, ``as_of`` the period the filing closes (the latest
balance-sheet date among its facts), its figures the ones that filing reports for that
date: ``equity_usd`` (StockholdersEquity, else the total including noncontrolling
interests), ``total_assets_usd`` (Assets), ``total_liabilities_usd`` (Liabilities),
``backlog_usd`` (RevenueRemainingPerformanceObligation), ``revenue_usd`` (a 10-K: the
fiscal year; a 10-Q: the trailing four quarters as edgartools' TTM calculator sums them,
the basis says which), ``shares_outstanding`` (the cover page's
dei:EntityCommonStockSharesOutstanding, summed over share classes; the basis gives its
date) and ``public_float_usd`` (dei:EntityPublicFloat, 10-K only; its date in the basis).
Each row is sourced by the filing's index URL, which holds the accession number.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..graph.model import HOLDING_CAPACITIES
from ..store.base import GraphStore
from .pipeline import IngestReport, ingest, stored_entities
from .readers import RawRow, RawTable
from .validate import cusip_check_digit, name_key, normal_cik

__all__ = [
    "DEAL_ITEMS",
    "EightK",
    "FilingFinancials",
    "ThirteenFResult",
    "amount_in",
    "company_financials",
    "edgar_source",
    "filing_url",
    "ingest_filings",
    "ingest_financials",
    "ingest_holdings",
    "issuer_key",
    "scan_8k",
    "sec_entities",
    "thirteenf_holdings",
]

_FORMS = ("10-K", "10-Q")
_EQUITY = ("us-gaap:StockholdersEquity",
           "us-gaap:StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest")
_REVENUE = ("us-gaap:Revenues", "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
            "us-gaap:SalesRevenueNet", "us-gaap:RevenueFromContractWithCustomerIncludingAssessedTax")
_SHARES = "dei:EntityCommonStockSharesOutstanding"
_FLOAT = "dei:EntityPublicFloat"
_IDENTITY_RE = re.compile(r"\S.*\s\S+@\S+\.\S+")


def filing_url(cik: str, accession: str) -> str:
    """The EDGAR index page of a filing (its URL holds the accession number).

    >>> filing_url("0001045810", "0001045810-26-000052")
    'https://www.sec.gov/Archives/edgar/data/1045810/000104581026000052/0001045810-26-000052-index.htm'
    """
    return (f"https://www.sec.gov/Archives/edgar/data/{int(cik)}/{accession.replace('-', '')}/"
            f"{accession}-index.htm")


@contextlib.contextmanager
def edgar_source(edgar_dir: Path | str | None) -> Iterator[Path | None]:
    """Point edgartools at a local EDGAR mirror (``edgar_dir``, strictly offline) or at
    SEC's servers (needs ``EDGAR_IDENTITY``), for the duration of the block; the
    environment edgartools reads is restored after it."""
    keys = ("EDGAR_USE_LOCAL_DATA", "EDGAR_LOCAL_DATA_DIR", "EDGAR_ALLOW_NETWORK_FALLBACK")
    saved = {k: os.environ.get(k) for k in keys}
    try:
        if edgar_dir is not None:
            root = Path(edgar_dir)
            if not root.is_dir():
                raise InputError(f"--edgar-dir {root}: no such folder (a local EDGAR mirror: "
                                 "companyfacts/CIK##########.json, submissions/, filings)")
            from edgar.storage import use_local_storage

            use_local_storage(str(root), allow_network_fallback=False)
            yield root
        else:
            identity = (os.environ.get("EDGAR_IDENTITY") or "").strip()
            if not _IDENTITY_RE.fullmatch(identity):
                raise InputError('reading SEC EDGAR needs EDGAR_IDENTITY="Your Name you@example.org" '
                                 "(SEC's fair-access policy), or --edgar-dir DIR for a local mirror")
            import edgar
            from edgar.storage import use_local_storage

            edgar.set_identity(identity)
            use_local_storage(False)
            yield None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def sec_entities(store: GraphStore, names: Sequence[str] | None) -> list[dict[str, Any]]:
    """The stored entities named (by id, name or alias), or every one with a ``sec_cik``
    (``names`` None); InputError for a name no entity has, or an entity without a CIK."""
    entities = stored_entities(store)
    if names is None:
        return [e for e in entities if e.get("sec_cik")]
    return _unique(_resolve(entities, names, need_cik=True))


def _unique(found: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in found:
        if e not in out:
            out.append(dict(e))
    return out


@dataclass
class FilingFinancials:
    """The figures one 10-K or 10-Q reports for the period it closes."""

    entity_id: str
    cik: str
    accession: str
    form: str
    filed: str
    as_of: str
    figures: dict[str, int | float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def source_url(self) -> str:
        return filing_url(self.cik, self.accession)

    @property
    def basis(self) -> str:
        return "; ".join([f"SEC {self.form} {self.accession} filed {self.filed}, XBRL", *self.notes])

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "as_of": self.as_of, "form": self.form,
                "accession": self.accession, "filed": self.filed, **self.figures,
                "basis": self.basis, "source_url": self.source_url}


def _load_facts(cik: str, edgar_dir: Path | None) -> Any:
    """edgartools' EntityFacts of a CIK: from the local mirror or SEC's servers."""
    from edgar.entity.parser import EntityFactsParser

    if edgar_dir is not None:
        path = edgar_dir / "companyfacts" / f"CIK{cik}.json"
        if not path.is_file():
            raise InputError(f"{path}: no such file: no company facts for CIK {cik} in the mirror; "
                             "nothing written")
        from edgar.entity.entity_facts import load_company_facts_from_local

        try:
            data = load_company_facts_from_local(int(cik))  # edgartools' local-storage reader
        except ValueError as e:  # orjson.JSONDecodeError is a ValueError
            raise InputError(f"{path}: not valid JSON ({e}); nothing written") from None
        where = str(path)
    else:
        from edgar.entity.entity_facts import download_company_facts_from_sec
        from edgar.exceptions import CompanyFactsNotFoundError

        try:
            data = download_company_facts_from_sec(int(cik))
        except CompanyFactsNotFoundError:
            raise InputError(f"SEC EDGAR has no company facts for CIK {cik}; nothing written") from None
        where = f"company facts of CIK {cik}"
    _check_facts(data, where, cik)
    try:
        return EntityFactsParser.parse_company_facts(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{where}: edgartools cannot read these company facts ({type(e).__name__}: "
                         f"{e}); nothing written") from None


def _bad(message: str) -> InputError:
    return InputError(f"{message}; nothing written")


def _check_facts(data: Any, where: str, cik: str) -> None:
    """The shape of a company-facts document, each problem named by its field."""
    if not isinstance(data, dict):
        raise _bad(f"{where}: not a company-facts object (a JSON object with cik and facts)")
    got = data.get("cik")
    if got is None or normal_cik(str(got)) != cik:
        raise _bad(f"{where}: field 'cik' is {got!r}, not {int(cik)}; wrong file?")
    facts = data.get("facts")
    if not isinstance(facts, dict):
        raise _bad(f"{where}: field 'facts' is missing or not an object")
    for tax, concepts in facts.items():
        if not isinstance(concepts, dict):
            raise _bad(f"{where}: field 'facts.{tax}' is not an object of concepts")
        for name, concept in concepts.items():
            units = concept.get("units") if isinstance(concept, dict) else None
            if not isinstance(units, dict):
                raise _bad(f"{where}: field 'facts.{tax}.{name}.units' is missing or not an object")
            for unit, items in units.items():
                if not isinstance(items, list):
                    raise _bad(f"{where}: field 'facts.{tax}.{name}.units.{unit}' is not a list")
                for i, it in enumerate(items):
                    if (not isinstance(it, dict) or not isinstance(it.get("end"), str)
                            or not isinstance(it.get("val"), (int, float)) or isinstance(it.get("val"), bool)
                            or not isinstance(it.get("accn"), str)):
                        raise _bad(f"{where}: field 'facts.{tax}.{name}.units.{unit}[{i}]' needs "
                                         "'end' (a date), 'val' (a number) and 'accn'")


def _plain(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


def company_financials(entity_id: str, cik: str, edgar_dir: Path | None,
                       since: str | None = None) -> list[FilingFinancials]:
    """One :class:`FilingFinancials` per 10-K and 10-Q of the company, oldest first,
    periods ending on or after ``since``."""
    facts = _load_facts(cik, edgar_dir)
    all_facts = list(facts)
    by_accn: dict[str, list[Any]] = {}
    for f in all_facts:
        if f.form_type in _FORMS and f.accession and f.period_end is not None:
            by_accn.setdefault(f.accession, []).append(f)
    periods: dict[str, FilingFinancials] = {}
    for accn, fs in by_accn.items():
        instants = [f.period_end for f in fs if f.taxonomy == "us-gaap" and f.period_type == "instant"]
        if not instants:
            continue
        end = max(instants)
        if since is not None and end.isoformat() < since:
            continue
        form = fs[0].form_type
        filed = max(f.filing_date for f in fs if f.filing_date is not None)
        rec = FilingFinancials(entity_id, cik, accn, form, filed.isoformat(), end.isoformat())

        def at_end(concept: str, unit: str = "USD", fs: list[Any] = fs, end: _dt.date = end) -> Any:
            hits = [f for f in fs if f.concept == concept and f.unit == unit and f.period_end == end
                    and f.period_type == "instant" and f.numeric_value is not None and not f.dimensions]
            return hits[-1] if hits else None

        for concept in _EQUITY:
            hit = at_end(concept)
            if hit is not None:
                rec.figures["equity_usd"] = _plain(hit.numeric_value)
                if concept != _EQUITY[0]:
                    rec.notes.append("equity incl. noncontrolling interests")
                break
        for fld, concept in (("total_assets_usd", "us-gaap:Assets"),
                             ("total_liabilities_usd", "us-gaap:Liabilities"),
                             ("backlog_usd", "us-gaap:RevenueRemainingPerformanceObligation")):
            hit = at_end(concept)
            if hit is not None:
                rec.figures[fld] = _plain(hit.numeric_value)
        if "backlog_usd" in rec.figures:
            rec.notes.append("backlog: RPO")
        _revenue(rec, facts, fs, end)
        shares = [f for f in fs if f.concept == _SHARES and f.numeric_value is not None]
        if shares:
            when = max(f.period_end for f in shares)
            rec.figures["shares_outstanding"] = _plain(sum(f.numeric_value for f in _distinct(shares, when)))
            rec.notes.append(f"shares on {when.isoformat()}")
        floats = [f for f in fs if f.concept == _FLOAT and f.numeric_value is not None]
        if floats:
            when = max(f.period_end for f in floats)
            rec.figures["public_float_usd"] = _plain(sum(f.numeric_value for f in _distinct(floats, when)))
            rec.notes.append(f"float on {when.isoformat()}")
        if not rec.figures:
            continue
        prev = periods.get(rec.as_of)
        if prev is None or (prev.filed, prev.accession) < (rec.filed, rec.accession):
            periods[rec.as_of] = rec  # an amended or later filing for the same period wins
    return [periods[k] for k in sorted(periods)]


def _distinct(fs: list[Any], when: _dt.date) -> list[Any]:
    """The facts dated ``when``, one per value and share class (a fact repeated in one
    filing counts once)."""
    seen: dict[tuple[Any, ...], Any] = {}
    for f in fs:
        if f.period_end == when:
            seen.setdefault((f.numeric_value, str(f.dimensions), f.context_ref), f)
    return list(seen.values())


def _revenue(rec: FilingFinancials, facts: Any, fs: list[Any], end: _dt.date) -> None:
    """Revenue of the filing's period: the fiscal year (10-K) or trailing four quarters (10-Q)."""
    if rec.form == "10-K":
        for concept in _REVENUE:
            hits = [f for f in fs if f.concept == concept and f.unit == "USD" and f.period_end == end
                    and f.period_start is not None and 350 <= (end - f.period_start).days <= 380
                    and f.numeric_value is not None and not f.dimensions]
            if hits:
                rec.figures["revenue_usd"] = _plain(hits[-1].numeric_value)
                rec.notes.append("revenue: fiscal year")
                return
        return
    try:
        metric = facts.get_ttm_revenue(as_of=end)
    except (KeyError, ValueError):
        return
    if metric.as_of_date != end or metric.has_gaps:
        return  # no four consecutive quarters ending at this period: say nothing
    rec.figures["revenue_usd"] = _plain(metric.value)
    rec.notes.append("revenue: trailing four quarters")


def financials_table(rows: Sequence[FilingFinancials]) -> RawTable:
    """The rows as a financials table for the ingest, each row named by its filing."""
    table = RawTable("SEC EDGAR", "financials")
    for i, r in enumerate(rows, 1):
        values: dict[str, str | list[str] | None] = {
            "entity_id": r.entity_id, "as_of": r.as_of, "basis": r.basis, "source_url": r.source_url}
        for k, v in r.figures.items():
            values[k] = repr(v) if isinstance(v, float) else str(v)
        table.rows.append(RawRow(f"SEC EDGAR {r.form} {r.accession}", i, values))
    return table


def ingest_financials(store: GraphStore, names: Sequence[str] | None, *, edgar_dir: Path | None,
                      since: str | None = None, dry_run: bool = False,
                      ) -> tuple[list[FilingFinancials], IngestReport, list[str]]:
    """Read the financials of the entities named (None: every one with a ``sec_cik``) and
    write them: the rows, the ingest's report and the warnings (an entity of ``--all``
    that the mirror holds no company facts for is skipped, said so)."""
    entities = sec_entities(store, names)
    if not entities:
        raise InputError("no entity has a sec_cik; give the listed filers one in an entities file "
                         "(column sec_cik); nothing written")
    rows: list[FilingFinancials] = []
    warnings: list[str] = []
    for e in entities:
        cik = str(e["sec_cik"])
        if names is None and edgar_dir is not None \
                and not (edgar_dir / "companyfacts" / f"CIK{cik}.json").is_file():
            warnings.append(f"{e['id']}: no company facts for CIK {cik} in {edgar_dir}; skipped")
            continue
        got = company_financials(e["id"], cik, edgar_dir, since)
        if not got:
            warnings.append(f"{e['id']}: CIK {cik} has no 10-K or 10-Q figures"
                            + (f" for periods since {since}" if since else ""))
        rows.extend(got)
    report = ingest(store, [], tables=[financials_table(rows)], dry_run=dry_run) if rows \
        else IngestReport(dry_run=dry_run)
    return rows, report, warnings


# -- 13F holdings -------------------------------------------------------------------------

_SUFFIXES = re.compile(
    r"\b(?:the|incorporated|inc|corporation|corp|company|co|limited|ltd|plc|holdings?|group|"
    r"class [a-z]|cl [a-z]|new|de|sa|nv|ag|se|lp|llc)\b")


def issuer_key(name: str) -> str:
    """An issuer's name without punctuation and corporate suffixes, to match a 13F's
    ``nameOfIssuer`` to an entity's name or alias.

    >>> issuer_key("NVIDIA CORPORATION"), issuer_key("Nvidia Corp"), issuer_key("JPMORGAN CHASE & CO")
    ('nvidia', 'nvidia', 'jpmorgan chase')
    """
    text = re.sub(r"[^a-z0-9 ]+", " ", name.lower().replace("&amp;", "&"))
    return " ".join(_SUFFIXES.sub(" ", text).split())


@dataclass
class ThirteenFResult:
    """What one 13F information table gives: the positions kept (one per issuer in the
    graph), those matched by name only (to review), and the CUSIPs of issuers outside it."""

    holder: str
    as_of: str
    source_url: str
    value_unit: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    by_name: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    skipped_options: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"holder": self.holder, "as_of": self.as_of, "source_url": self.source_url,
                "value_unit": self.value_unit, "holdings": self.rows, "matched_by_name": self.by_name,
                "unmatched": self.unmatched, "skipped_options": self.skipped_options}


def read_infotable(path: Path) -> Any:
    """A 13F information table (XML) as edgartools' data frame; InputError naming the file."""
    from edgar.thirteenf.parsers.infotable_xml import parse_infotable_xml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read it ({e}); nothing written") from None
    if "infoTable" not in text:
        raise InputError(f"{path}: not a 13F information table (no infoTable element); nothing written")
    try:
        return parse_infotable_xml(text)
    except Exception as e:  # lxml's errors and edgartools' own: the file is unreadable
        raise InputError(f"{path}: edgartools cannot read this information table ({type(e).__name__}: "
                         f"{e}); nothing written") from None


def thirteenf_holdings(holder: str, table: Any, *, as_of: str, source_url: str, where: str,
                       entities: Sequence[Mapping[str, Any]], value_unit: str | None = None,
                       capacity: str = "managed") -> ThirteenFResult:
    """The positions of one 13F information table (edgartools' frame) in issuers the graph
    holds, matched by CUSIP (an entity's ``cusips``), then by issuer name (name or alias,
    without corporate suffixes; listed in ``by_name`` for review); options (puts and
    calls) are left out. Values in dollars: ``value_unit`` ``dollars`` or ``thousands``,
    or None for edgartools' reading of the table. ``capacity``: ``managed`` (the
    default: a 13F lists what the manager has investment discretion over, mostly its
    clients' money) or ``own`` (a filer known to hold the positions for itself)."""
    from edgar.thirteenf.units import resolve_value_unit

    if value_unit not in (None, "dollars", "thousands"):
        raise InputError(f"value unit {value_unit!r}: dollars or thousands")
    if capacity not in HOLDING_CAPACITIES:
        raise InputError(f"capacity {capacity!r}: {' or '.join(HOLDING_CAPACITIES)}")
    res = resolve_value_unit(table, None, _dt.datetime.fromisoformat(as_of),
                             override=value_unit)  # type: ignore[arg-type]
    out = ThirteenFResult(holder, as_of, source_url, res.unit)
    by_cusip = {c: e["id"] for e in entities for c in (e.get("cusips") or [])}
    by_name: dict[str, str] = {}
    for e in entities:
        for n in (e.get("name"), *(e.get("aliases") or [])):
            if n and issuer_key(n):
                by_name.setdefault(issuer_key(n), e["id"])
    agg: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(table.to_dict("records")):
        cusip = str(rec.get("Cusip") or "").strip().upper()
        issuer = str(rec.get("Issuer") or "").replace("&amp;", "&")
        if len(cusip) != 9 or not cusip.isalnum() or cusip_check_digit(cusip) != cusip[8]:
            raise InputError(f"{where}: infoTable {i + 1} ({issuer[:60]!r}): field 'cusip' {cusip[:20]!r} "
                             "is not a valid CUSIP (9 characters, the last a check digit); nothing written")
        if str(rec.get("PutCall") or "").strip():
            out.skipped_options += 1
            continue
        value = rec.get("Value")
        if not isinstance(value, (int, float)) or value < 0:
            raise InputError(f"{where}: infoTable {i + 1} ({issuer[:60]!r}): field 'value' {value!r} is not "
                             "a dollar amount; nothing written")
        eid = by_cusip.get(cusip)
        how = "cusip"
        if eid is None:
            eid = by_name.get(issuer_key(issuer))
            how = "name"
        if eid is None or eid == holder:
            if eid is None:
                out.unmatched.append({"cusip": cusip, "issuer": issuer})
            continue
        shares = rec.get("SharesPrnAmount") if rec.get("Type") == "Shares" else None
        row = agg.setdefault(eid, {"holder": holder, "asset": eid, "as_of": as_of, "value_usd": 0,
                                   "shares": 0, "capacity": capacity, "source_url": source_url,
                                   "cusips": []})
        row["value_usd"] += value * res.multiplier
        if shares is not None:
            row["shares"] += shares
        if cusip not in row["cusips"]:
            row["cusips"].append(cusip)
        if how == "name":
            out.by_name.append({"cusip": cusip, "issuer": issuer, "entity_id": eid})
    out.rows = list(agg.values())
    return out


def holdings_table(results: Sequence[ThirteenFResult]) -> RawTable:
    table = RawTable("SEC EDGAR 13F", "holdings")
    for res in results:
        for i, r in enumerate(res.rows, 1):
            table.rows.append(RawRow(f"SEC EDGAR 13F of {res.holder}", i, {
                "holder": r["holder"], "asset": r["asset"], "as_of": r["as_of"],
                "value_usd": str(_plain(r["value_usd"])),
                "shares": str(_plain(r["shares"])) if r["shares"] else None,
                "capacity": r.get("capacity") or "managed", "source_url": r["source_url"]}))
    return table


def _quarter_end(quarter: str) -> str:
    m = re.fullmatch(r"([0-9]{4})-?Q([1-4])", quarter.strip().upper())
    if m is None:
        raise InputError(f"--quarter {quarter!r}: write YYYY-Qn, e.g. 2025-Q4")
    year, q = int(m.group(1)), int(m.group(2))
    return _dt.date(year, 3 * q, 30 if q in (2, 3) else 31).isoformat()


def _live_13f(cik: str, quarter: str | None) -> tuple[Any, str, str]:
    """The information table, period and URL of a manager's 13F-HR from SEC (the latest,
    or the one for ``quarter``)."""
    from edgar import Company
    from edgar.thirteenf import ThirteenF

    filings = Company(int(cik)).get_filings(form="13F-HR")
    want = _quarter_end(quarter) if quarter else None
    for filing in filings:
        # EntityFiling.report_date comes with the filing index; period_of_report reads the filing
        period = _iso(getattr(filing, "report_date", None) or filing.period_of_report)
        if want is None or period == want:
            report = ThirteenF(filing)
            table = report.raw_infotable
            if table is None:
                raise InputError(f"13F-HR {filing.accession_no} of CIK {cik} has no information table")
            return table, period, filing_url(cik, filing.accession_no)
    raise InputError(f"CIK {cik} filed no 13F-HR" + (f" for {quarter}" if quarter else "")
                     + "; nothing written")


def ingest_holdings(store: GraphStore, holder: str, *, infotable: Path | None = None,
                    as_of: str | None = None, source_url: str | None = None,
                    quarter: str | None = None, value_unit: str | None = None,
                    dry_run: bool = False, capacity: str = "managed") -> tuple[ThirteenFResult, IngestReport]:
    """Read one manager's 13F information table (a file, or SEC's latest/``quarter``'s
    filing by the manager's ``sec_cik``) and write its positions in the graph's issuers
    as holdings rows, of ``capacity`` ``managed`` (held for clients) unless told ``own``. InputError, nothing written, when none of them is in the graph."""
    entities = stored_entities(store)
    if infotable is not None:
        (manager,) = _resolve(entities, [holder], need_cik=False)
        if as_of is None or source_url is None:
            raise InputError("--infotable needs --period (the quarter end it reports) and --source-url "
                             "(the filing's EDGAR URL)")
        table, where = read_infotable(infotable), str(infotable)
    else:
        (manager,) = _resolve(entities, [holder], need_cik=True)
        table, as_of, source_url = _live_13f(str(manager["sec_cik"]), quarter)
        where = source_url
    res = thirteenf_holdings(manager["id"], table, as_of=as_of, source_url=source_url, where=where,
                             entities=entities, value_unit=value_unit, capacity=capacity)
    if not res.rows:
        shown = ", ".join(f"{u['cusip']} ({u['issuer']})" for u in res.unmatched[:5])
        raise InputError(f"{where}: none of its {len(res.unmatched)} positions is in an issuer the graph "
                         f"holds (unmatched CUSIPs: {shown}{' ...' if len(res.unmatched) > 5 else ''}); "
                         "give the issuers' entities their cusips; nothing written")
    report = ingest(store, [], tables=[holdings_table([res])], dry_run=dry_run)
    return res, report


def _resolve(entities: Sequence[Mapping[str, Any]], names: Sequence[str], *, need_cik: bool,
             ) -> list[Mapping[str, Any]]:
    by_key: dict[str, Mapping[str, Any]] = {}
    for e in entities:
        for k in (e.get("name_keys") or [name_key(e["id"])]):
            by_key.setdefault(k, e)
    out = []
    for n in names:
        hit = by_key.get(name_key(n))
        if hit is None:
            raise InputError(f"{n!r} is not a known entity; nothing written")
        e = hit
        if need_cik and not e.get("sec_cik"):
            raise InputError(f"entity {e['id']!r} has no sec_cik; give it one in an entities file "
                             "(column sec_cik) first; nothing written")
        out.append(e)
    return out


# -- 8-K deal candidates ----------------------------------------------------------------------

# The 8-K items that disclose deals, by number and by the description EDGAR's header gives.
DEAL_ITEMS: dict[str, str] = {
    "1.01": "Entry into a Material Definitive Agreement",
    "2.03": "Creation of a Direct Financial Obligation",
    "3.02": "Unregistered Sales of Equity Securities",
}
_ITEM_RE = re.compile(r"\bItem\s+([1-9]\.[0-9]{2})\b", re.IGNORECASE)
_AMOUNT_RE = re.compile(r"(?:US)?\$\s?([0-9][0-9,]*(?:\.[0-9]+)?)\s*(billion|million|thousand|bn|m)?\b",
                        re.IGNORECASE)
_SCALE = {"billion": 1e9, "bn": 1e9, "million": 1e6, "m": 1e6, "thousand": 1e3}
_SENTENCE_RE = re.compile(r"(?<=[.;])\s+(?=[A-Z(])")


def amount_in(sentence: str) -> float | None:
    """The largest dollar amount a sentence states, or None.

    >>> amount_in("a commitment of up to $6.5 billion and fees of $300,000"), amount_in("no money")
    (6500000000.0, None)
    """
    best = None
    for m in _AMOUNT_RE.finditer(sentence):
        v = float(m.group(1).replace(",", "")) * _SCALE.get((m.group(2) or "").lower(), 1.0)
        best = v if best is None or v > best else best
    return best


@dataclass
class EightK:
    """What one 8-K gives: its filer, items and the candidates found in its text."""

    accession: str
    cik: str
    filer: str | None
    filed: str
    date: str
    items: list[str]
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"accession": self.accession, "cik": self.cik, "filer": self.filer, "filed": self.filed,
                "date": self.date, "items": self.items, "candidates": self.candidates}


def _iso(v: Any) -> str:
    if isinstance(v, _dt.date):
        return v.isoformat()
    text = str(v or "")
    if re.fullmatch(r"[0-9]{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text[:10]


def scan_8k(sgml: Any, entities: Sequence[Mapping[str, Any]], where: str) -> EightK:
    """The deal candidates of one 8-K (edgartools' FilingSGML): when it reports Item 1.01,
    2.03 or 3.02, each known entity other than the filer named in its text, with the first
    sentence naming it and the largest amount that sentence states."""
    try:
        accession = str(sgml.accession_number)
        cik = normal_cik(str(sgml.cik)) or ""
        text = sgml.text() or ""
        header_items = str(sgml.header.filing_metadata.get("ITEM INFORMATION") or "")
        filed, date = _iso(sgml.filing_date), _iso(sgml.period_of_report or sgml.filing_date)
    except Exception as err:  # edgartools' parse errors: the file is not an EDGAR submission
        raise InputError(f"{where}: edgartools cannot read this filing ({type(err).__name__}: {err}); "
                         "nothing written") from None
    if not cik or not re.fullmatch(r"[0-9]{10}-[0-9]{2}-[0-9]{6}", accession):
        raise InputError(f"{where}: no filer CIK or accession number in its header; nothing written")
    items = sorted(set(_ITEM_RE.findall(text)) | {num for num, what in DEAL_ITEMS.items()
                                                    if what.lower() in header_items.lower()})
    filer = next((e["id"] for e in entities if e.get("sec_cik") == cik), None)
    out = EightK(accession, cik, filer, filed, date, items)
    if filer is None or not any(i in DEAL_ITEMS for i in items):
        return out
    sentences = [" ".join(s.split()) for s in _SENTENCE_RE.split(text)]
    for e in entities:
        if e["id"] == filer:
            continue
        names = [n for n in (e.get("name"), *(e.get("aliases") or [])) if n and len(n) >= 3]
        pats = [re.compile(rf"(?<![\w-]){re.escape(n)}(?![\w-])") for n in names]
        hit = next((s for s in sentences if any(p.search(s) for p in pats)), None)
        if hit is None:
            continue
        out.candidates.append({
            "id": f"{accession}.{e['id']}", "filer": filer, "counterparty": e["id"],
            "items": [i for i in items if i in DEAL_ITEMS], "date": date, "filed": filed,
            "amount_usd": amount_in(hit), "evidence": hit[:1000], "accession": accession,
            "source_url": filing_url(cik, accession)})
    return out


def _local_8ks(edgar_dir: Path, since: str | None) -> Iterator[tuple[Any, str]]:
    """The 8-K full submissions (``filings/*.txt``) of a local mirror."""
    from edgar.sgml.sgml_common import FilingSGML

    folder = edgar_dir / "filings"
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (the mirror's filings, as full submission .txt files)")
    for path in sorted(folder.glob("*.txt")):
        try:
            sgml = FilingSGML.from_source(path)
        except Exception as e:
            raise InputError(f"{path}: edgartools cannot read this filing ({type(e).__name__}: {e}); "
                             "nothing written") from None
        if str(sgml.form).upper() not in ("8-K", "8-K/A"):
            continue
        if since is not None and _iso(sgml.filing_date) < since:
            continue
        yield sgml, str(path)


def _live_8ks(entities: Sequence[Mapping[str, Any]], since: str | None) -> Iterator[tuple[Any, str]]:
    from edgar import Company
    from edgar.sgml.sgml_common import FilingSGML

    for e in entities:
        if not e.get("sec_cik"):
            continue
        filings = Company(int(str(e["sec_cik"]))).get_filings(form="8-K")
        if since is not None:
            filings = filings.filter(filing_date=f"{since}:")
        for filing in filings:
            yield FilingSGML.from_filing(filing), filing_url(str(e["sec_cik"]), filing.accession_no)


def ingest_filings(store: GraphStore, *, edgar_dir: Path | None, since: str | None = None,
                   dry_run: bool = False) -> tuple[list[EightK], list[dict[str, Any]], int]:
    """Scan the tracked entities' 8-Ks (a local mirror's, or SEC's) and record the deal
    candidates found: the filings read, the new candidates and how many were known."""
    from .candidates import add_candidates

    entities = stored_entities(store)
    tracked = [e for e in entities if e.get("sec_cik")]
    if not tracked:
        raise InputError("no entity has a sec_cik; give the listed filers one in an entities file "
                         "(column sec_cik); nothing written")
    source = _local_8ks(edgar_dir, since) if edgar_dir is not None else _live_8ks(tracked, since)
    ciks = {e["sec_cik"] for e in tracked}
    seen = [scan_8k(sgml, entities, where) for sgml, where in source]
    seen = [k for k in seen if k.cik in ciks]
    new, known = add_candidates(store, [c for k in seen for c in k.candidates], dry_run=dry_run)
    return seen, new, known
