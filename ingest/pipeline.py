"""Ingest files into a store: read, validate everything, then write once.

The write is one atomic unit on both stores (one query on FalkorDB, one
transaction on Neo4j), made of batched ``UNWIND $rows`` statements. Rows that
match what the graph already holds are not written at all, so ingesting the
same file twice changes nothing, and a changed row updates its deal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import queries
from ..errors import InputError, QueryError, RowError, ValidationError
from ..graph.model import FINANCIAL_FIELDS
from ..store.base import GraphStore, Statement
from .readers import SUFFIXES, RawTable, read_file
from .validate import Plan, build_plan, forbidden_char, name_key

__all__ = ["IngestReport", "collect_files", "delete_deals", "ingest", "plan_ingest", "stored_entities"]

Progress = Callable[[str, int, int], None]

_DEAL_FIELDS = ("date", "payer", "payee", "type", "amount_usd", "amount_qualifier", "status",
                "description", "source_url", "confidence")
_ENTITY_FIELDS = ("name", "kind", "aliases", "country", "source_url", "sec_cik", "tickers", "lei", "cusips")
_HISTORY_FIELDS = ("ev_days", "ev_statuses")
# What upsert_deals stores of a row (deal_hash); "hash" is stored beside them.
_HASHED = ("deal_id", "date", "day", "date_from", "payer", "payee", "type", "amount_usd",
           "amount_qualifier", "status", "description", "source_url", "source_kind", "confidence",
           "ev_days", "ev_statuses")
_FIN_FIELDS = ("as_of", "day", *FINANCIAL_FIELDS, "basis", "source_url")
_MEMBER_FIELDS = ("deal_id", "side", "member", "share", "share_basis", "role", "source_url")
_SOURCE_FIELDS = ("deal_id", "rank", "url", "kind", "publisher", "published")
_EVENT_FIELDS = ("deal_id", "date", "day", "status", "source_url")
_ASSET_FIELDS = ("name", "class", "issuer", "depth_usd", "source_url", "implied")
_HOLDING_FIELDS = ("as_of", "day", "value_usd", "shares", "capacity", "source_url")


@dataclass
class IngestReport:
    files: list[str] = field(default_factory=list)
    entities_new: int = 0
    entities_updated: int = 0
    entities_unchanged: int = 0
    entities_auto: int = 0
    deals_new: list[str] = field(default_factory=list)
    deals_updated: list[str] = field(default_factory=list)
    deals_unchanged: int = 0
    # participants, sources, events: deals whose set changed / stayed; financials: rows
    links: dict[str, dict[str, int]] = field(default_factory=lambda: {
        k: {"new": 0, "updated": 0, "unchanged": 0}
        for k in ("participants", "sources", "events", "financials", "holdings", "assets")})
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    closed_loops: list[Any] | None = None  # with watch_loops: loops the new deals close

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "entities": {"new": self.entities_new, "updated": self.entities_updated,
                         "unchanged": self.entities_unchanged, "created_from_deals": self.entities_auto},
            "deals": {"new": len(self.deals_new), "updated": len(self.deals_updated),
                      "unchanged": self.deals_unchanged},
            # participants, sources, events: how many deals' lists; financials, holdings, assets: rows
            **{k: dict(v) for k, v in self.links.items()},
            "new_deal_ids": self.deals_new,
            "updated_deal_ids": self.deals_updated,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            **({"closed_loops": [lp.to_dict() for lp in self.closed_loops]}
               if self.closed_loops is not None else {}),
        }


def collect_files(paths: Iterable[Path | str]) -> list[Path]:
    """The files named, with folders expanded to their data files (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not found:
                raise InputError(f"{p}: no .csv, .json, .yaml or .yml files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return list(dict.fromkeys(out))


def stored_entities(store: GraphStore) -> list[dict[str, Any]]:
    return store.read(queries.load("entities").text)


def _norm(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    return v


def _same(a: Mapping[str, Any], b: Mapping[str, Any], fields: Sequence[str]) -> bool:
    for f in fields:
        x, y = a.get(f), b.get(f)
        if x is not y and x != y and _norm(x) != _norm(y):  # equal values skip _norm
            return False
    return True


def deal_hash(rec: Mapping[str, Any]) -> str:
    """A digest of everything ``upsert_deals`` stores of a deal (its row, as
    validated, with its status history): equal digests, equal stored deals, so
    an unchanged row is known by one short value read back.

    >>> a = {"deal_id": "d1", "amount_usd": 5.0, "ev_days": [], "ev_statuses": []}
    >>> deal_hash(a) == deal_hash({**a, "amount_usd": 5}), deal_hash(a) == deal_hash({**a, "amount_usd": 6})
    (True, False)
    """
    # _norm of each value, its common kinds (text, whole numbers, nothing) passed as they are
    values = [v if (t := type(v)) is str or t is int or v is None else _norm(v)
              for v in map(rec.get, _HASHED)]
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def plan_ingest(store: GraphStore, paths: Iterable[Path | str],
                progress: Progress | None = None, *, tables: Sequence[RawTable] = ()
                ) -> tuple[Plan, list[str]]:
    """Read and validate every file (and ``tables``, rows made in memory, e.g. from SEC
    filings); raise ValidationError listing every problem."""
    planned = _plan(store, paths, progress, tables)
    return planned.plan, planned.files


def _plan(store: GraphStore, paths: Iterable[Path | str], progress: Progress | None,
          given_tables: Sequence[RawTable] = ()) -> _Planned:
    """plan_ingest, and what the write needs of the reads made for it: the stored
    deals the input names (read once, used twice), how many deals the graph holds
    when that was read (else None), every stored entity when they were all read, and
    whether the graph is at the current schema version. A stored deal the input gives
    holds ``hash`` and its history only (:func:`deal_hash`), or its whole row when it
    was stored without a hash."""
    files = collect_files(paths)
    tables: list[RawTable] = list(given_tables)
    errors: list[RowError] = []
    for i, f in enumerate(files):
        if progress:
            progress(f"reading {f.name}", i, len(files))
        got, errs = read_file(f)
        tables.extend(got)
        errors.extend(errs)
    if errors:
        raise ValidationError(errors)
    if progress:
        progress(f"validating {sum(len(t.rows) for t in tables):,} rows", len(files), len(files))
    keys = sorted({str(r.values.get("deal_id") or "").lower()
                   for t in tables if t.kind == "deals" for r in t.rows} - {""})
    # Every stored deal the input names: the hash and history of the deals it gives (to
    # compare before writing), the fewer columns links are checked against for the others.
    given = sorted({v for t in tables if t.kind == "deals" for r in t.rows
                    if isinstance(v := r.values.get("deal_id"), str)})
    named = sorted({v for t in tables if t.kind not in ("entities", "deals") for r in t.rows
                    if isinstance(v := r.values.get("deal_id"), str)} - set(given))
    # A deals file names a few entities: only those are read, when the graph's name keys
    # can be trusted to find them (else every entity).
    name_keys = (_wanted_name_keys(tables) if tables and all(t.kind == "deals" for t in tables)
                 else None)
    # One round trip: the schema version, and (in case it is current) the input's deals
    # and their case twins by the Deal key index, and the entities the deals name.
    q = queries.load
    reads: list[Statement] = [(q("write_state").text, {})]
    if len(keys) <= 5000:
        reads.append((q("deal_keys").text, {"keys": keys}))
    if name_keys is not None:
        reads.append((q("entities_named").text, {"keys": name_keys}))
    answers = store.read_many(reads)
    state = answers[0]
    current = bool(state) and state[0].get("version") == _schema_version(store)
    rollup_missing = bool(state) and bool(state[0].get("rollup_missing"))
    n_stored = None
    if current and len(keys) <= 5000:  # the input's deals and their twins, by index
        twins = [r["deal_id"] for r in answers[1]]
        gave = set(given)
        stored_deals = {i: r for r in answers[1] if (i := r["deal_id"]) in gave}
    elif len(keys) <= 256:  # a few ids: the database compares them in one scan
        twins = [r["deal_id"] for r in store.read(q("deal_ids_like").text, {"keys": keys})]
        stored_deals = _by_ids(store, "deal_hashes", given, "deal_id")
    else:  # many: `IN` a long list costs the scan that list's length per deal; a set does not
        wanted, gave = set(keys), set(given)
        states, histories = store.read_many([(q("deal_states").text, {}), (q("deal_histories").text, {})])
        n_stored = len(states)
        twins = [i for r in states if (i := r["deal_id"]).lower() in wanted]
        had = {r["deal_id"]: r for r in histories}
        stored_deals = {i: {**r, "ev_days": (h := had.get(i) or {}).get("ev_days") or [],
                            "ev_statuses": h.get("ev_statuses") or []}
                        for r in states if (i := r["deal_id"]) in gave}
    unhashed = [i for i, r in stored_deals.items() if not r.get("hash")]
    stored_deals.update(_by_ids(store, "deals_by_id", unhashed, "deal_id"))
    stored_deals.update(_by_ids(store, "history_by_deal", named, "deal_id"))
    stored_assets = ({r["asset_id"]: r for r in store.read(queries.load("assets").text)}
                     if any(t.kind in ("assets", "holdings") for t in tables) else {})
    named_entities = (_named_entities(answers[-1], name_keys)
                      if current and name_keys is not None else None)
    every_entity = stored_entities(store) if named_entities is None else None
    plan = build_plan(tables, every_entity if every_entity is not None else named_entities or [],
                      twins, stored_deals, stored_assets=stored_assets)
    plan.stored_assets = stored_assets
    if plan.errors:
        raise ValidationError(plan.errors)
    return _Planned(plan, [str(f) for f in files], stored_deals, n_stored, every_entity, current,
                    rollup_missing)


@dataclass
class _Planned:
    plan: Plan
    files: list[str]
    stored_deals: dict[str, Any]
    n_stored: int | None  # deals in the graph, when they were all read
    every_entity: list[dict[str, Any]] | None  # every stored entity, when they were all read
    current: bool  # the graph is at _schema_version(store)
    rollup_missing: bool  # the graph has deals but no roll-up (read with the version)


# The stored layout: Deal.key on every deal, every entity's name keys complete. Bump it
# when what the graph must hold for the indexed look-ups changes.
_LAYOUT = 2


def _schema_version(store: GraphStore) -> str:
    return f"{_LAYOUT}/{store.schema_version}"


def _own_keys(e: Mapping[str, Any]) -> list[str]:
    """A stored entity's name keys from its id, name and aliases, in the order an
    ingest writes them."""
    texts = [e["id"], e.get("name") or e["id"], *(e.get("aliases") or [])]
    return list(dict.fromkeys(name_key(t) for t in texts))


def _resolver_keys(e: Mapping[str, Any]) -> set[str]:
    """The name keys validation resolves a stored entity by (validate.build_plan)."""
    return {*_own_keys(e), *(e.get("name_keys") or [])}


def _wanted_name_keys(tables: Sequence[RawTable]) -> list[str] | None:
    """The name keys of the deals' payers and payees (None: more than one read takes, or
    one is blank or holds characters validation refuses: then it reads every entity)."""
    texts = {v for t in tables for r in t.rows for side in ("payer", "payee")
             if isinstance(v := r.values.get(side), str)}
    if any(forbidden_char(t) is not None for t in texts):
        return None
    wanted = sorted({name_key(t) for t in texts})
    return wanted if wanted and "" not in wanted and len(wanted) <= 5000 else None


def _named_entities(rows: Sequence[dict[str, Any]], wanted: Sequence[str]) -> list[dict[str, Any]] | None:
    """The entities_named rows for the ``wanted`` keys: the stored entities the deals'
    payers and payees name, and every entity sharing a name key with one of them. None
    when a payer or payee names none of them, or two of them share a key: then
    validation needs every entity (a new name is checked against all of them, and a
    shared key resolves as the whole graph orders it)."""
    found = {r["id"]: r for r in rows}
    holder: dict[str, str] = {}
    for eid, e in found.items():
        for k in _resolver_keys(e):
            if holder.setdefault(k, eid) != eid:
                return None
    if any(k not in holder for k in wanted):
        return None
    return sorted(found.values(), key=lambda e: str(e["id"]))


def _by_ids(store: GraphStore, query: str, ids: Sequence[str], key: str) -> dict[str, Any]:
    """The rows of a by-id query, keyed by ``key`` (5,000 ids a read)."""
    out: dict[str, Any] = {}
    text = queries.load(query).text
    param = "keys" if query in ("financials_by_key", "holdings_by_key") else "ids"
    for i in range(0, len(ids), 5000):
        for r in store.read(text, {param: list(ids[i:i + 5000])}):
            out[r[key]] = r
    return out


def _grouped(store: GraphStore, query: str, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The rows of a by-deal query, grouped by deal id (5,000 ids a read)."""
    out: dict[str, list[dict[str, Any]]] = {}
    text = queries.load(query).text
    for i in range(0, len(ids), 5000):
        for r in store.read(text, {"ids": list(ids[i:i + 5000])}):
            out.setdefault(r["deal_id"], []).append(r)
    return out


def _same_set(new: Sequence[Mapping[str, Any]], old: Sequence[Mapping[str, Any]],
              fields: Sequence[str]) -> bool:
    def norm(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(tuple(repr(_norm(r.get(f))) for f in fields) for r in rows)
    return norm(new) == norm(old)


def _changed_sets(report: IngestReport, what: str, deal_ids: Sequence[str],
                  new: Sequence[Mapping[str, Any]], old: Mapping[str, list[dict[str, Any]]],
                  fields: Sequence[str]) -> list[str]:
    """The deals whose list of ``what`` differs from the stored one; counts them."""
    by_deal: dict[str, list[Mapping[str, Any]]] = {d: [] for d in deal_ids}
    for r in new:
        by_deal[r["deal_id"]].append(r)
    changed = []
    for did, rows in by_deal.items():
        stored = old.get(did, [])
        if stored and _same_set(rows, stored, fields):
            report.links[what]["unchanged"] += 1
        else:
            report.links[what]["updated" if stored else "new"] += 1
            changed.append(did)
    return changed


def _batches(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def ingest(store: GraphStore, paths: Iterable[Path | str], *, batch_size: int = 2000,
           dry_run: bool = False, progress: Progress | None = None,
           watch_loops: Callable[[GraphStore, list[dict[str, Any]]], list[Any]] | None = None,
           tables: Sequence[RawTable] = ()) -> IngestReport:
    """Validate the files, then write what is new or changed in one atomic unit.

    ``watch_loops(store, new_deals)``, called before the write, gives the loops
    the new deals close, kept in ``report.closed_loops``; e.g.
    ``functools.partial(circfin.loops.from_store.watch_new_deals, max_len=6)``.
    (Ingest sits below the loop engine, so the caller hands it in.)
    ``tables``: rows made in memory (e.g. from SEC filings), validated like the files'.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    planned = _plan(store, paths, progress, tables)
    plan, files, stored_deals, n_stored = planned.plan, planned.files, planned.stored_deals, planned.n_stored
    report = IngestReport(files=files, warnings=list(plan.warnings), dry_run=dry_run)

    # The stored entities again, just before writing, when this ingest writes any (a
    # deals file that names only stored entities compares none and skips the read).
    touched = plan.entities or plan.auto_entities or plan.parent_cleared
    stored = {e["id"]: e for e in stored_entities(store)} if touched else {}
    entity_rows = []
    for rec in plan.entities:
        old = stored.get(rec["id"])
        if old is None:
            report.entities_new += 1
            entity_rows.append(rec)
        elif not _same(rec, old, _ENTITY_FIELDS):
            report.entities_updated += 1
            entity_rows.append(rec)
        else:
            report.entities_unchanged += 1
    new_parents = {p["id"]: p["parent"] for p in plan.parents}
    parent_changed = [eid for eid in plan.parent_cleared
                      if (stored.get(eid) or {}).get("parent") != new_parents.get(eid)]
    auto_rows = [a for a in plan.auto_entities if a["id"] not in stored]
    report.entities_auto = len(auto_rows)

    deal_rows = []
    for rec in plan.deals:
        rec["ev_days"], rec["ev_statuses"] = plan.histories.get(rec["deal_id"], ([], []))
        rec["hash"] = deal_hash(rec)
        old = stored_deals.get(rec["deal_id"])  # read while planning: every deal the input names
        if old is None:
            report.deals_new.append(rec["deal_id"])
            deal_rows.append(rec)
        elif (rec["hash"] != old["hash"] if old.get("hash")
              else not _same(rec, old, (*_DEAL_FIELDS, "source_kind", *_HISTORY_FIELDS))):
            report.deals_updated.append(rec["deal_id"])
            deal_rows.append(rec)
        else:
            report.deals_unchanged += 1
    written_ids = {d["deal_id"] for d in deal_rows}

    # Members, further sources and events: a deal's whole list is written again when
    # it differs from the stored one.
    member_deals = _changed_sets(report, "participants", plan.participant_deals, plan.participants,
                                 _grouped(store, "participants_by_deal", plan.participant_deals),
                                 _MEMBER_FIELDS)
    stored_sources = _grouped(store, "sources_by_deal", plan.source_deals)
    source_deals = _changed_sets(report, "sources", plan.source_deals, plan.sources, stored_sources,
                                 _SOURCE_FIELDS)
    event_deals = _changed_sets(report, "events", plan.event_deals, plan.events,
                                _grouped(store, "events_by_deal", plan.event_deals), _EVENT_FIELDS)
    member_set, source_set, event_set = set(member_deals), set(source_deals), set(event_deals)
    members = [m for m in plan.participants if m["deal_id"] in member_set]
    extra_sources = [x for x in plan.sources if x["deal_id"] in source_set]
    events = [e for e in plan.events if e["deal_id"] in event_set]
    histories = [{"deal_id": d, "ev_days": plan.histories[d][0], "ev_statuses": plan.histories[d][1]}
                 for d in event_deals if d not in written_ids]
    for f in plan.financials:
        f["key"] = f"{f['entity_id']}|{f['as_of']}"
    old_fin = _by_ids(store, "financials_by_key", [f["key"] for f in plan.financials], "key")
    fin_rows = []
    for f in plan.financials:
        old = old_fin.get(f["key"])
        if old is not None and _same(f, old, _FIN_FIELDS):
            report.links["financials"]["unchanged"] += 1
        else:
            report.links["financials"]["updated" if old else "new"] += 1
            fin_rows.append(f)
    asset_rows = []
    for a in plan.assets:
        old = plan.stored_assets.get(a["id"])
        if old is None or (not a["implied"] and not _same(a, {**old, "implied": bool(old.get("implied"))},
                                                           _ASSET_FIELDS)):
            report.links["assets"]["updated" if old else "new"] += 1
            asset_rows.append(a)
        else:
            report.links["assets"]["unchanged"] += 1
    old_held = _by_ids(store, "holdings_by_key", [h["key"] for h in plan.holdings], "key")
    holding_rows = []
    for h in plan.holdings:
        old = old_held.get(h["key"])
        if old is not None and _same(h, old, _HOLDING_FIELDS):
            report.links["holdings"]["unchanged"] += 1
        else:
            report.links["holdings"]["updated" if old else "new"] += 1
            holding_rows.append(h)
    if watch_loops is not None:
        if progress:
            progress("finding the loops the new deals close", 0, 1)
        new_ids = set(report.deals_new)
        report.closed_loops = watch_loops(
            store, [d for d in plan.deals if d["deal_id"] in new_ids])
    if dry_run:
        return report

    q = queries.load
    statements: list[Statement] = []
    if not planned.current:  # brought up to the current layout, in the same atomic write
        statements.append((q("backfill_deal_keys").text, {}))
        every = planned.every_entity if planned.every_entity is not None else stored_entities(store)
        fill = [{"id": e["id"], "name_keys": [*had, *(k for k in _own_keys(e) if k not in had)]}
                for e in every if not set(_own_keys(e)) <= set(had := list(e.get("name_keys") or []))]
        for rows in _batches(fill, batch_size):
            statements.append((q("backfill_name_keys").text, {"rows": rows}))
    migrating = len(statements)
    for rows in _batches(entity_rows, batch_size):
        statements.append((q("upsert_entities").text, {"rows": rows}))
    for rows in _batches(auto_rows, batch_size):
        statements.append((q("ensure_entities").text, {"rows": rows}))
    if parent_changed:
        for i in range(0, len(parent_changed), batch_size):
            statements.append((q("clear_parents").text, {"ids": parent_changed[i:i + batch_size]}))
        changed = set(parent_changed)
        links = [p for p in plan.parents if p["id"] in changed]
        for rows in _batches(links, batch_size):
            statements.append((q("set_parents").text, {"rows": rows}))
    # Clear the edges of every deal about to be written, new ones too: another ingest
    # may have written the same deal since we read, and its edges must not double up.
    written = [d["deal_id"] for d in deal_rows]
    for chunk in (written[i:i + batch_size] for i in range(0, len(written), batch_size)):
        statements.append((q("clear_deal_edges").text, {"ids": chunk}))
        statements.append((q("clear_deal_links").text, {"ids": chunk}))
    for rows in _batches(deal_rows, batch_size):
        statements.append((q("upsert_deals").text, {"rows": rows}))
    # A deal's own source_url (its first source) lives on the deal; Source nodes are
    # its further sources, so writing deals alone touches no Source node.
    for chunk in (source_deals[i:i + batch_size] for i in range(0, len(source_deals), batch_size)):
        statements.append((q("clear_sources").text, {"ids": chunk}))
    for rows in _batches(extra_sources, batch_size):
        statements.append((q("add_sources").text, {"rows": rows}))
    dropped = sorted({r["url"] for d in source_deals for r in stored_sources.get(d, [])})
    for i in range(0, len(dropped), batch_size):  # the URLs that may no longer be cited
        statements.append((q("drop_orphan_sources").text, {"urls": dropped[i:i + batch_size]}))
    for chunk in (member_deals[i:i + batch_size] for i in range(0, len(member_deals), batch_size)):
        statements.append((q("clear_participants").text, {"ids": chunk}))
    for rows in _batches(members, batch_size):
        statements.append((q("add_participants").text, {"rows": rows}))
    for chunk in (event_deals[i:i + batch_size] for i in range(0, len(event_deals), batch_size)):
        statements.append((q("clear_events").text, {"ids": chunk}))
    for rows in _batches(events, batch_size):
        statements.append((q("add_events").text, {"rows": rows}))
    for rows in _batches(histories, batch_size):
        statements.append((q("set_histories").text, {"rows": rows}))
    for rows in _batches(fin_rows, batch_size):
        statements.append((q("upsert_financials").text, {"rows": rows}))
    for i in range(0, len(asset_rows), batch_size):
        chunk = asset_rows[i:i + batch_size]
        statements.append((q("clear_asset_issuers").text, {"ids": [a["id"] for a in chunk]}))
        statements.append((q("upsert_assets").text, {"rows": chunk}))
    for rows in _batches(holding_rows, batch_size):
        statements.append((q("upsert_holdings").text, {"rows": rows}))
    if len(statements) > migrating:
        # The roll-up: only the deals written or given a new history, unless a parent
        # link changed (every deal under it moves), the graph has no roll-up yet, or
        # the write touches so many of the graph's deals that one scan costs less.
        touched_ids = [*written, *(str(h["deal_id"]) for h in histories)]
        whole = (bool(parent_changed) or planned.rollup_missing
                 or (n_stored is not None and 3 * len(touched_ids) > n_stored + len(report.deals_new)))
        statements += queries.rollup_statements(None if whole else touched_ids, batch_size=batch_size)
        keys = sorted({k for r in (*entity_rows, *auto_rows) for k in r.get("name_keys") or ()})
        if keys:  # last: a name now held by two entities fails the whole write
            statements.append((q("guard_unique_keys").text, {"keys": keys}))
        if not planned.current:  # the indexes, before the write that records them
            statements.append((q("set_schema_version").text, {"version": _schema_version(store)}))
            store.ensure_schema()
        if progress:
            progress(f"writing {len(deal_rows):,} deals, {len(entity_rows) + len(auto_rows):,} "
                     f"entities and {len(members) + len(extra_sources) + len(events) + len(fin_rows):,} "
                     f"members, sources, events and financials and {len(asset_rows) + len(holding_rows):,} "
                     "assets and holdings in one atomic unit", 0, 1)
        try:
            store.write(statements)
        except QueryError:
            # Another ingest may have changed the graph since we validated (e.g. given
            # one of our names to another entity). Nothing was written; validating
            # again against the graph as it is now names the row to fix, if any.
            plan_ingest(store, files, tables=tables)
            raise
    return report


def delete_deals(store: GraphStore, deal_ids: Sequence[str]) -> int:
    """Delete deals by id, all or none; InputError naming any id the graph does not hold."""
    ids = list(dict.fromkeys(deal_ids))
    if not ids:
        raise InputError("name at least one deal id to delete")
    found = {r["deal_id"] for chunk in (ids[i:i + 5000] for i in range(0, len(ids), 5000))
             for r in store.read(queries.load("deals_by_id").text, {"ids": chunk})}
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise InputError(f"no deal with id {shown}; nothing deleted")
    urls = sorted({r["url"] for rows in _grouped(store, "sources_by_deal", ids).values() for r in rows})
    statements: list[Statement] = [(queries.load("delete_deals").text, {"ids": ids[i:i + 2000]})
                                   for i in range(0, len(ids), 2000)]
    statements += [(queries.load("drop_orphan_sources").text, {"urls": urls[i:i + 2000]})
                   for i in range(0, len(urls), 2000)]
    statements.extend(queries.rollup_statements(None if _rollup_missing(store) else ids))
    store.write(statements)
    return len(ids)


def _rollup_missing(store: GraphStore) -> bool:
    """The graph has deals but no PAYS_TOP: the next write builds the whole roll-up."""
    rows = store.read(queries.load("rollup_missing").text)
    return bool(rows and rows[0]["missing"])
