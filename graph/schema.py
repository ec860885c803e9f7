"""What circfin puts in the graph: labels, relationship types, properties.

This is the whitelist: circfin never builds a label or relationship type from
input text, and :func:`label` / :func:`rel_type` refuse anything not listed.
The Cypher linter checks the catalogue against the same lists, so a misspelt
property in a .cypher file fails the tests.

    (:Entity)-[:PAYS {deal_id, type, status, amount_usd, day, ...}]->(:Entity)   one per deal
    (:Entity)-[:MADE]->(:Deal)-[:TO]->(:Entity)                                  the deal, with provenance
    (:Entity)-[:PART_OF]->(:Entity)                                              subsidiary, SPV or JV -> parent
    (:Entity)-[:PAYS_TOP {same as PAYS}]->(:Entity)   derived: each deal between top-most ancestors
    (:ReportRun {id, at, keys})                                                  one per recorded report
    (:Loop {key, ids, length, first_seen, last_seen})-[:THROUGH {payee, ids, amount_usd}]->(:Entity)
    (:Loop)-[:HAS_DEAL]->(:Deal)                                                 a loop as the last report saw it
    (:Entity)-[:MEMBER_OF {side, share, share_basis, role, source_url}]->(:Deal)  a syndicate's member
    (:Deal)-[:CITES {rank}]->(:Source {url, kind, publisher, published})         further sources, rank 1..
    (:Deal)-[:HAS_EVENT]->(:Event {date, day, status, source_url})               the deal's life
    (:Entity)-[:REPORTED]->(:Financials {key, entity_id, as_of, day, ..._usd, basis, source_url})
    (:Asset {id, name, class, depth_usd, source_url, implied})-[:ISSUED_BY]->(:Entity)  a traded asset
    (:Schema {version})                        one node: the indexes and stored layout the graph has
    (:Revision {token})                        one node: a new random token with every write (store.base)
    (:Entity)-[:HOLDS {key, as_of, day, value_usd, shares, capacity, source_url}]->(:Asset)  a dated holding

An entity's listed equity is the Asset whose id is the entity's id (class equity,
issued by it, ``implied: true`` when only holdings named it).

A deal's events are also kept on its Deal, PAYS and PAYS_TOP as two parallel
lists, ``ev_days`` and ``ev_statuses`` (in the order they happened), so a query
finds a deal's status as of a date without a join.
"""

from __future__ import annotations

__all__ = ["LABELS", "PROPERTY_KEYS", "REL_TYPES", "label", "rel_type"]

LABELS: tuple[str, ...] = ("Entity", "Deal", "Loop", "ReportRun", "Source", "Event", "Financials",
                           "Asset", "Candidate", "Schema", "Revision")
REL_TYPES: tuple[str, ...] = ("PAYS", "PAYS_TOP", "MADE", "TO", "PART_OF", "HAS_DEAL", "THROUGH",
                              "MEMBER_OF", "CITES", "HAS_EVENT", "REPORTED", "HOLDS", "ISSUED_BY")

ENTITY_PROPERTIES = (
    "id", "name", "kind", "aliases", "name_keys", "country", "revenue_usd", "equity_usd",
    "market_cap_usd", "backlog_usd", "source_url", "sec_cik", "tickers", "lei", "cusips",
)
DEAL_PROPERTIES = (
    "id", "date", "day", "date_from", "type", "amount_usd", "amount_qualifier", "status",
    "description", "source_url", "confidence", "payer", "payee", "source_kind", "ev_days",
    "ev_statuses", "hash",  # hash: ingest.pipeline.deal_hash
    "key",  # the id lower-cased (ids are ASCII), indexed: case twins are found by it
)
PAYS_PROPERTIES = (
    "deal_id", "date", "day", "type", "amount_usd", "amount_qualifier", "status", "confidence",
    "ev_days", "ev_statuses",
)
LINK_PROPERTIES = (  # MEMBER_OF, CITES, Source, Event, Financials
    "side", "member", "share", "share_basis", "role", "rank", "url", "kind", "publisher", "published", "entity_id",
    "as_of", "revenue_usd", "equity_usd", "total_assets_usd", "total_liabilities_usd",
    "market_cap_usd", "backlog_usd", "shares_outstanding", "public_float_usd", "basis",
)
LOOP_PROPERTIES = ("key", "ids", "length", "score", "flags", "first_seen", "last_seen", "score_parts",
                   "scored_at")
REPORT_PROPERTIES = ("id", "at", "keys")
ASSET_PROPERTIES = (  # Asset, HOLDS
    "id", "name", "class", "depth_usd", "source_url", "implied", "key", "as_of", "day", "value_usd",
    "shares", "capacity",
)
CANDIDATE_PROPERTIES = (  # deal candidates found in filings (circfin sec filings, circfin review)
    "id", "filer", "counterparty", "items", "date", "filed", "amount_usd", "evidence", "source_url",
    "accession", "status", "found", "reviewed", "deal_id",
)
SCHEMA_PROPERTIES = ("version", "token")  # Schema.version, Revision.token
PROPERTY_KEYS: tuple[str, ...] = tuple(sorted(set(
    ENTITY_PROPERTIES + DEAL_PROPERTIES + PAYS_PROPERTIES + LOOP_PROPERTIES + REPORT_PROPERTIES
    + LINK_PROPERTIES + ASSET_PROPERTIES + CANDIDATE_PROPERTIES + SCHEMA_PROPERTIES
)))


def label(name: str) -> str:
    """A whitelisted node label, backticked for splicing into Cypher."""
    if name not in LABELS:
        raise ValueError(f"label {name!r} is not one of circfin's: {', '.join(LABELS)}")
    return f"`{name}`"


def rel_type(name: str) -> str:
    """A whitelisted relationship type, backticked for splicing into Cypher."""
    if name not in REL_TYPES:
        raise ValueError(f"relationship type {name!r} is not one of circfin's: {', '.join(REL_TYPES)}")
    return f"`{name}`"
