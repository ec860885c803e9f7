"""The periodic report: which loops are new, which changed, which are gone.

``write_report`` finds the loops in the store, compares them with what the
last report saw, and writes ``report.md``, ``report.html`` (with the graph
page inside) and ``report.json``. Every finding cites its deals and their
source URLs.

The last report's state lives in the graph, so every machine that shares a
database sees the same "new since last"::

    (:ReportRun {id, at, keys})                     one per run: number, time, loop keys seen
    (:Loop {key, ids, length, first_seen, last_seen})
    (:Loop)-[:THROUGH {payee, ids, amount_usd}]->(payer:Entity)   per leg: deal ids, total
    (:Loop)-[:HAS_DEAL]->(:Deal)                    for clicking through in Neo4j Browser

A run is recorded only after its files are in place (each written to an
unpredictable temporary file inside ``out_dir``, then renamed), in one atomic write. A run whose
files fail records nothing, so the next run reports the same news again.
Two runs at the same moment on two machines may both take the same run
number; the later write then defines "last".

report.json::

    generated_at, as_of, run, store (its kind only: "embedded FalkorDB", "Neo4j", ...: a
    published file names no local path), params {max_len, statuses, confidences, engine, rank, top}
    since          {last_report: {id, at} or null, date: "YYYY-MM-DD" or null}
    brief          circfin.report.brief.Brief.to_dict(), from the same snapshot and loops
    summary        {loops, new, changed, gone, deals, entities, deals_not_counted
                    {status: count}, entities_without_deals}: deals and entities are those
                    that count (the graph's and the brief's); the others are listed apart
    charts         [{name, title, file}]: the charts embedded (none unless passed)
    new_loops      [{key, ids, entities, legs, bottleneck_usd, date_span, types,
                     reasons, first_seen, deals: [{id, ..., source_url}]}]
    changed_loops  [{key, entities, change: grew|shrank|changed|cancelled|gone,
                     legs_changed (grew/shrank/changed) or legs and reasons (gone),
                     last_seen, deals}]      each leg: deal_ids_before/_now, added,
                                             removed, amount_before, amount_now
    top_loops      [{...a loop..., rank, deals}]
    concentration, self_funded_demand        rows as in circfin.analytics.measures
    shock          {available: false, note} or {available: true, rows}
    candidates     [{id, filer, counterparty, items, date, filed, amount_usd, evidence,
                     source_url, accession, status, found, new}]: deal candidates found in
                     filings (circfin sec filings) not yet reviewed; they count nowhere
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import queries
from ..analytics import measures as analytics
from ..display import plain_number as _num
from ..errors import InputError
from ..graph.model import Loop, date_bounds
from ..loops.from_store import DEFAULT_STATUSES, Snapshot, at_confidence, loops_from_store, snapshot
from ..safe import atomic_write_many, check_folder, check_target, json_dumps, visible
from ..store.base import GraphStore, Statement
from .graph_page import build_graph_data, checked_loops, loop_record, render_graph_page, safe_url
from .runs import last_run
from .runs import stored_loops as _stored_loops

__all__ = ["Rank", "ReportResult", "bottleneck_rank", "build_report", "default_charts", "last_run",
           "shock_function", "store_kind", "write_report"]

# A ranking: a loop's importance (higher first); None ranks last. The default is
# the bottleneck (bottleneck_rank); by default the report ranks by circfin.risk's loop score.
Rank = Callable[[Loop], "float | None"]
Progress = Callable[[str], None]

FILES = ("report.json", "report.md", "report.html", "graph.html")
# Charts to embed: (snapshot, report data) -> [(file stem, title, SVG bytes)].
Charts = Callable[[Snapshot, dict[str, Any]], Iterable[tuple[str, str, bytes]]]
_CHART_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
CHANGE_ORDER = ("cancelled", "gone", "shrank", "grew", "changed")


def bottleneck_rank(loop: Loop) -> float | None:
    """The default ranking: how much money can have gone all the way round."""
    return loop.bottleneck_usd


@dataclass
class ReportResult:
    """What a report run found and where it wrote it."""

    out_dir: Path
    files: dict[str, Path]
    run_id: int
    generated_at: str
    data: dict[str, Any] = field(repr=False)

    @property
    def new_loops(self) -> list[dict[str, Any]]:
        loops: list[dict[str, Any]] = self.data["new_loops"]
        return loops

    @property
    def changed_loops(self) -> list[dict[str, Any]]:
        loops: list[dict[str, Any]] = self.data["changed_loops"]
        return loops

    @property
    def top_loops(self) -> list[dict[str, Any]]:
        loops: list[dict[str, Any]] = self.data["top_loops"]
        return loops

    @property
    def brief(self) -> Any:
        """The report's brief (:class:`circfin.report.brief.Brief`), as the report opens with it."""
        from .brief import Brief

        return Brief.from_dict(self.data["brief"])

    def to_dict(self) -> dict[str, Any]:
        """A summary for programs (``circfin report --format json``)."""
        return {"run": self.run_id, "generated_at": self.generated_at, "as_of": self.data.get("as_of"),
                "since": self.data["since"],
                "out_dir": str(self.out_dir), "files": {k: str(v) for k, v in self.files.items()},
                "summary": self.data["summary"],
                "new_loops": [lp["key"] for lp in self.new_loops],
                "changed_loops": [{"key": c["key"], "change": c["change"]} for c in self.changed_loops]}


def shock_function() -> Callable[..., Any] | None:
    """circfin.risk's ``shock_summary(store)``, if it has one (rows of plain records)."""
    try:
        from .. import risk
    except ImportError:
        return None
    fn = getattr(risk, "shock_summary", None)
    return fn if callable(fn) else None




def _takes_as_of(fn: Callable[..., Any], name: str = "as_of") -> bool:
    """Whether a shock function takes ``as_of`` (one without it sees only the web as it is now),
    or another keyword ``name``."""
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def _same_amount(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return round(float(a), 2) == round(float(b), 2)


def _since_day(since: str | None) -> str | None:
    if since is None or since == "last":
        return None
    try:
        return date_bounds(str(since))[0].isoformat()
    except ValueError as e:
        raise InputError(f"--since: {e}; or 'last' for changes since the last report") from None


def _now(now: _dt.datetime | None) -> _dt.datetime:
    t = now or _dt.datetime.now(_dt.UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC)


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


# ---- reading the last run's state ------------------------------------------------------

# last_run and the stored loops' state live in .runs (the brief reads them too).


# ---- comparing -------------------------------------------------------------------------

def _cite(deal_id: str, deals: Mapping[str, dict[str, Any]], names: Mapping[str, str]) -> dict[str, Any]:
    d = deals.get(deal_id)
    if d is None:
        return {"id": deal_id, "missing": True, "source_url": None}
    return {"id": deal_id, "payer": names.get(d["payer"], d["payer"]),
            "payee": names.get(d["payee"], d["payee"]), "payer_id": d["payer"], "payee_id": d["payee"],
            "type": d["type"], "amount_usd": _num(d["amount_usd"]),
            "amount_qualifier": d["amount_qualifier"], "status": d["status"], "date": d["date"],
            "confidence": d["confidence"], "source_url": d["source_url"],
            "link": safe_url(d["source_url"])}


def _loop_entry(loop: Loop, deals: Mapping[str, dict[str, Any]], names: Mapping[str, str],
                **extra: Any) -> dict[str, Any]:
    rec = loop_record(loop)
    rec.update(extra)
    rec["deals"] = [_cite(d, deals, names) for d in loop.deal_ids]
    return rec


def _compare(loop: Loop, before: dict[str, Any]) -> dict[str, Any] | None:
    """How a loop's legs differ from its stored state; None if they do not."""
    legs, grew, shrank = [], False, False
    for leg in loop.legs:
        old = before["legs"].get(leg.payer_id, {"deal_ids": [], "amount_usd": None})
        now_ids, old_ids = sorted(leg.deal_ids), sorted(old["deal_ids"])
        added = sorted(set(now_ids) - set(old_ids))
        removed = sorted(set(old_ids) - set(now_ids))
        now_amt, old_amt = _num(leg.amount_usd), old["amount_usd"]
        if not added and not removed and _same_amount(now_amt, old_amt):
            continue
        up = (now_amt or 0) > (old_amt or 0) or (old_amt is None and now_amt is not None)
        down = (now_amt or 0) < (old_amt or 0) or (now_amt is None and old_amt is not None)
        grew |= bool(added) or up
        shrank |= bool(removed) or down
        legs.append({"payer_id": leg.payer_id, "payee_id": leg.payee_id, "payer": leg.payer,
                     "payee": leg.payee, "deal_ids_before": old_ids, "deal_ids_now": now_ids,
                     "added": added, "removed": removed, "amount_before": old_amt,
                     "amount_now": now_amt})
    if not legs:
        return None
    change = "changed" if grew and shrank else "grew" if grew else "shrank"
    return {"change": change, "legs": legs}


def _why_gone(before: dict[str, Any], deals: Mapping[str, dict[str, Any]],
              statuses: set[str] | None, names: Mapping[str, str],
              later: Mapping[str, str] | None = None,
              below: Mapping[str, Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Why a loop the last report saw is no longer found, deal by deal. ``later``: deal id ->
    the as-of date, for stored deals dated after it; ``below``: deal id -> its confidence,
    for deals below the report's minimum confidence."""
    reasons, cancelled = [], False
    for payer, leg in sorted(before["legs"].items()):
        for did in leg["deal_ids"]:
            d = deals.get(did)
            if d is None and below and did in below:
                reasons.append({"deal_id": did, "reason": f"confidence {below[did]}, below the minimum"})
            elif d is None and later and did in later:
                reasons.append({"deal_id": did, "reason": f"dated after {later[did]}"})
            elif d is None:
                reasons.append({"deal_id": did, "reason": "deleted from the graph"})
            elif d["status"] == "cancelled":
                cancelled = True
                reasons.append({"deal_id": did, "reason": "cancelled"})
            elif statuses is not None and d["status"] not in statuses:
                reasons.append({"deal_id": did, "reason": f"status is now {d['status']}"})
            elif (d["payer"], d["payee"]) != (payer, leg["payee"]):
                reasons.append({"deal_id": did, "reason": "now pays "
                                f"{names.get(d['payer'], d['payer'])} → {names.get(d['payee'], d['payee'])}"})
    return ("cancelled" if cancelled else "gone"), reasons


def _gone_entry(before: dict[str, Any], deals: Mapping[str, dict[str, Any]],
                statuses: set[str] | None, names: Mapping[str, str],
                later: Mapping[str, str] | None = None,
                below: Mapping[str, Any] | None = None) -> dict[str, Any]:
    change, reasons = _why_gone(before, deals, statuses, names, later, below)
    ids = before["ids"] or before["key"].split(">")
    legs = []
    for payer in ids:
        leg = before["legs"].get(payer, {"payee": None, "deal_ids": [], "amount_usd": None})
        legs.append({"payer_id": payer, "payee_id": leg["payee"], "payer": names.get(payer, payer),
                     "payee": names.get(leg["payee"], leg["payee"]), "deal_ids_before": leg["deal_ids"],
                     "deal_ids_now": [], "added": [], "removed": leg["deal_ids"],
                     "amount_before": leg["amount_usd"], "amount_now": None})
    all_ids = [d for leg in legs for d in leg["deal_ids_before"]]
    return {"key": before["key"], "ids": ids, "entities": [names.get(i, i) for i in ids],
            "change": change, "reasons": reasons, "legs": legs, "last_seen": before["last_seen"],
            "deals": [_cite(d, deals, names) for d in all_ids]}


# ---- recording -------------------------------------------------------------------------

def _record_statements(loops: Sequence[Loop], run_id: int, at: str) -> list[Statement]:
    q = queries.load
    keys = [lp.key for lp in loops]
    rows = [{"key": lp.key, "ids": list(lp.ids), "length": lp.length} for lp in loops]
    legs = [{"key": lp.key, "payer": leg.payer_id, "payee": leg.payee_id,
             "ids": sorted(leg.deal_ids),
             "amount_usd": None if leg.amount_usd is None else float(leg.amount_usd)}
            for lp in loops for leg in lp.legs]
    statements: list[Statement] = []
    clear = sorted(set(keys))  # loops no longer found keep the state they were last seen in
    for i in range(0, len(clear), 2000):
        statements.append((q("report_clear_loop_links").text, {"keys": clear[i:i + 2000]}))
    for i in range(0, len(rows), 2000):
        statements.append((q("report_upsert_loops").text, {"rows": rows[i:i + 2000], "at": at}))
    for i in range(0, len(legs), 2000):
        statements.append((q("report_loop_legs").text, {"rows": legs[i:i + 2000]}))
    statements.append((q("report_record_run").text, {"id": run_id, "at": at, "keys": sorted(keys)}))
    return statements


def _publish(out: Path, texts: Mapping[str, str]) -> None:
    """Write the files into ``out``: each first to an unpredictable temp file beside it, then,
    once all are written, renamed into place (no half-written file is ever seen). A target
    that is not a regular file (a symlink, a device, a folder) is refused."""
    atomic_write_many({out / name: text for name, text in texts.items()}, "--out")


# ---- the report ------------------------------------------------------------------------

def default_charts(snap: Snapshot, data: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """The report's charts: the web over time (committed dollars, loops and FCI each quarter up
    to the report's date) and the top loops' legs, as SVG; none where circfin.report has no
    charts module."""
    try:
        from .charts import loop_legs_chart, timeline_chart
        from .timeline import timeline
    except ImportError:
        return []
    from ..loops.from_store import Budget

    out: list[tuple[str, str, bytes]] = []
    day = data.get("as_of") or _dt.date.today().isoformat()
    rows = timeline(snap, as_of=day, status=data["params"]["statuses"],
                    max_len=data["params"]["max_len"], budget=Budget()).rows
    if rows:
        out.append(("timeline", "The web over time: disclosed committed dollars, loops and the flow "
                                "cycling index at each quarter's end", timeline_chart(rows)))
    if data["top_loops"]:
        out.append(("top-loops", "What goes round: the top loops by risk score, leg by leg",
                    loop_legs_chart(data["top_loops"][:5])))
    return out


def store_kind(store: GraphStore) -> str:
    """What kind of store, fit to publish: no socket, path, host or graph name.

    ``describe()`` says where the store is ("embedded FalkorDB (/home/.../falkordb.sock),
    graph 'circfin'", "Neo4j at bolt://db:7687"); a published report says only its kind."""
    where = store.describe()
    kind = re.split(r" at | \(|,", where, maxsplit=1)[0].strip()
    return kind if kind and "/" not in kind and "\\" not in kind else "graph store"


def _counts(snap: Snapshot, statuses: Sequence[str] | None) -> dict[str, Any]:
    """How many deals and entities count, and how many do not and why: the same numbers
    as the graph page (counted deals, and the entities they join) and the brief."""
    frame = snap.deals
    wanted = None if statuses is None else set(statuses)
    counted = frame if wanted is None else frame[frame["status"].isin(sorted(wanted))]
    left = frame if wanted is None else frame[~frame["status"].isin(sorted(wanted))]
    not_counted: dict[str, int] = {}
    for st in left["status"] if len(left) else []:
        not_counted[str(st)] = not_counted.get(str(st), 0) + 1
    joined = set(counted["payer"]) | set(counted["payee"]) if len(counted) else set()
    return {"deals": int(len(counted)), "entities": len(joined),
            "deals_not_counted": dict(sorted(not_counted.items())),
            "entities_without_deals": sum(1 for e in snap.entities if e["id"] not in joined)}


def _sensitivity_rows(table: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The sensitivity table's rows as the report shows them: per loop length, observed
    and each null model's mean, z and p; then the distinct pairs."""
    if not table:
        return []

    def num(v: Any, digits: int) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    models = list(table["models"])
    rows: list[dict[str, Any]] = []
    for r in table["rows"]:
        row: dict[str, Any] = {"loop length": r["length"], "observed": r["observed"]}
        for m in models:
            row |= {f"{m}: null mean": num(r[m]["null_mean"], 1), f"{m}: z": num(r[m]["z"], 2),
                    f"{m}: p": num(r[m]["p_value"], 3)}
        rows.append(row)
    pairs = {"loop length": "distinct pairs", "observed": table["pairs"]["observed"]}
    for m in models:
        pairs |= {f"{m}: null mean": num(table["pairs"].get(m), 1), f"{m}: z": "", f"{m}: p": ""}
    return rows + [pairs]


def build_report(store: GraphStore, *, since: str | None = None, now: _dt.datetime | None = None,
                 max_len: int = 6, status: Iterable[str] | None = DEFAULT_STATUSES,
                 engine: str = "auto", rank: Rank | None = None, top: int = 10,
                 progress: Progress | None = None, budget: Any = None,
                 as_of: str | _dt.date | None = None,
                 confidences: Iterable[str] | None = None,
                 null_samples: int = 0) -> tuple[dict[str, Any], list[Loop], Snapshot]:
    """The report's data (report.json), the loops found, and the snapshot they came from.

    ``null_samples`` (0: none): random graphs per null model for the table of loop
    counts against both null models (``circfin significance``'s sensitivity table, loops
    of up to 5 entities, seed 1), in ``significance`` (the whole table) and
    ``sensitivity`` (its rows as the report shows them).

    ``confidences`` (None: all): only deals of these confidences count, everywhere in
    the report (``--min-confidence``); a loop gone because of it says so.

    ``as_of`` (a date; None: everything the graph holds, with current statuses):
    the web as of that day: only deals dated on or before it, each with its
    status then, and each entity's latest financials on or before it; loop
    recency is measured from it.

    ``budget`` (:class:`circfin.loops.from_store.Budget`, default its default limits)
    bounds the loop search; a report needs every loop (it records which are new
    and which are gone), so a search it cuts is an InputError that says what was cut."""
    step = progress or (lambda _msg: None)
    since_day = _since_day(since)
    if top < 0:
        raise InputError("--top must be >= 0")
    at = _iso(_now(now))
    statuses = None if status is None else list(status)
    step("reading the last report")
    prev = last_run(store)
    step("finding loops")
    whole = snapshot(store, as_of=as_of)
    snap = at_confidence(whole, confidences)
    below: dict[str, Any] = {}  # deals left out by the minimum confidence: not "deleted"
    if snap is not whole:
        kept = set(snap.deals["deal_id"])
        below = {str(d): c for d, c in zip(whole.deals["deal_id"], whole.deals["confidence"], strict=True)
                 if d not in kept}
    if rank is None:  # scored from the same snapshot as the loops (concurrent ingests)
        from ..risk.score import rank_by_score

        rank = rank_by_score(store, now=snap.as_of or _now(now), snap=snap)
    # ~1 ms a loop after the search: ranking, flags, citing deals, the page, recording.
    found, complete, note = loops_from_store(store, max_len=max_len, status=statuses, engine=engine,
                                             budget=budget, snap=snap, reserve_per_loop=1e-3)
    if not complete:
        raise InputError(f"no report written: the loop search {note}; a report needs every loop "
                         f"(it records which are new and which are gone)")
    loops = sorted(checked_loops(found), key=lambda lp: (lp.length, lp.key))
    names = snap.names
    deals = {str(r["deal_id"]): r for r in snap.deals.to_dict("records")}
    prev_keys = set(prev["keys"]) if prev else set()
    current = {lp.key: lp for lp in loops}
    step("comparing with the last report")
    stored = _stored_loops(store, prev_keys | set(current))

    new_loops = []
    for lp in loops:
        reasons = []
        if prev is None:
            reasons.append("first report")
        elif lp.key not in prev_keys:
            st = stored.get(lp.key)
            # A Loop node written by `circfin score --write` has no last_seen: the
            # report never saw it.
            reasons.append(f"back: last seen by the report of {st['last_seen']}"
                           if st and st.get("last_seen") else "not in the last report")
        if since_day and lp.date_span[1] and lp.date_span[1] >= since_day:
            reasons.append(f"a deal dated on or after {since_day}")
        if reasons:
            st = stored.get(lp.key)
            new_loops.append(_loop_entry(lp, deals, names, reasons=reasons,
                                         first_seen=st["first_seen"] if st else None))

    changed = []
    wanted = None if statuses is None else set(statuses)
    later: dict[str, str] = {}  # stored deals of gone loops dated after as_of: not deleted
    if snap.as_of is not None:
        unseen = sorted({d for key in prev_keys - set(current) if key in stored
                         for leg in stored[key]["legs"].values() for d in leg["deal_ids"]
                         if d not in deals and d not in below})
        for i in range(0, len(unseen), 2000):
            later.update({r["deal_id"]: snap.as_of for r in store.read(
                queries.load("deals_by_id").text, {"ids": unseen[i:i + 2000]})})
    for key in sorted(prev_keys):
        before = stored.get(key)
        if before is None:
            continue  # recorded by a run that failed half-way on a store without transactions
        if key in current:
            diff = _compare(current[key], before)
            if diff:
                changed.append(_loop_entry(current[key], deals, names, change=diff["change"],
                                           legs_changed=diff["legs"], last_seen=before["last_seen"]))
        else:
            changed.append(_gone_entry(before, deals, wanted, names, later, below))
    changed.sort(key=lambda c: (CHANGE_ORDER.index(c["change"]), c["key"]))

    scored = [(rank(lp), lp) for lp in loops]
    ranked = sorted((s for s in scored if s[0] is not None), key=lambda s: -float(s[0]))  # type: ignore[arg-type]
    ranked += [s for s in scored if s[0] is None]
    from ..risk.flags import deal_table, flags_for

    table = deal_table(snap.deals)
    parents = snap.parents
    top_loops = [_loop_entry(lp, deals, names, rank=_num(score),
                             flags=[f.to_dict() for f in flags_for(lp, table, parents)])
                 for score, lp in ranked[:top]]

    step("concentration and self-funded demand")
    conc = [r for r in analytics.concentration(store, status=statuses, as_of=snap.as_of,
                                               confidences=snap.confidences)
            if r["counterparties"] > 1][:top]
    own = [r for r in analytics.self_funded_demand(store, status=statuses, as_of=snap.as_of,
                                                   confidences=snap.confidences)
           if r["self_funded_usd"]][:top]
    shock_fn = shock_function()
    shock: dict[str, Any]
    wanted_kw = {"as_of": (snap.as_of, "as_of date"), "confidences": (snap.confidences, "minimum confidence")}
    if shock_fn is None:
        shock = {"available": False,
                 "note": "omitted: circfin.risk has no shock_summary(store) function yet"}
    elif lacking := [what for name, (v, what) in wanted_kw.items()
                     if v is not None and not _takes_as_of(shock_fn, name)]:
        shock = {"available": False,
                 "note": f"omitted: circfin.risk's shock_summary(store) takes no {' and no '.join(lacking)}"}
    else:
        step("shock summary")
        kw = {name: v for name, (v, _) in wanted_kw.items() if _takes_as_of(shock_fn, name)}
        shock = {"available": True, "rows": [dict(r) for r in shock_fn(store, **kw)]}

    significance = None
    if null_samples > 0:
        step("loop counts against the null models")
        from ..risk.nullmodel import sensitivity

        significance = sensitivity(snap.deals, n=null_samples, seed=1, max_len=min(max_len, 5),
                                   status=statuses)

    step("the brief")
    from .brief import build_brief

    brief = build_brief(store, snap=snap, loops=loops, confidences=snap.confidences, max_len=max_len, status=statuses,
                        last_report=prev, as_of=snap.as_of, budget=budget)

    data = {
        "generated_at": at,
        "as_of": snap.as_of,
        "run": (prev["id"] + 1) if prev else 1,
        "since": {"last_report": {"id": prev["id"], "at": prev["at"]} if prev else None,
                  "date": since_day},
        "params": {"max_len": max_len, "statuses": statuses,
                   "confidences": None if snap.confidences is None else list(snap.confidences),
                   "engine": engine,
                   "rank": getattr(rank, "__name__", repr(rank)), "top": top},
        "store": store_kind(store),
        "brief": brief.to_dict(),
        "summary": {"loops": len(loops), "new": len(new_loops), "changed": len(changed),
                    "gone": sum(1 for c in changed if c["change"] in ("gone", "cancelled")),
                    **_counts(snap, statuses)},
        "charts": [],
        "significance": significance,
        "sensitivity": _sensitivity_rows(significance),
        "new_loops": new_loops,
        "changed_loops": changed,
        "top_loops": top_loops,
        "concentration": conc,
        "self_funded_demand": own,
        "shock": shock,
        "candidates": _open_candidates(store, prev),
    }
    return data, loops, snap


def _open_candidates(store: GraphStore, prev: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The deal candidates found in filings and not yet reviewed, each marked ``new`` when
    found after the last report (they count in no analysis until accepted)."""
    rows = [r for r in store.read(queries.load("candidates").text) if r["status"] == "candidate"]
    last = str(prev["at"]) if prev else ""
    return [{**r, "new": not last or str(r.get("found") or "") > last} for r in rows]


def write_report(store: GraphStore, out_dir: Path | str, *, since: str | None = None,
                 now: _dt.datetime | None = None, max_len: int = 6,
                 status: Iterable[str] | None = DEFAULT_STATUSES, engine: str = "auto",
                 rank: Rank | None = None, top: int = 10, record: bool = True,
                 progress: Progress | None = None, budget: Any = None,
                 as_of: str | _dt.date | None = None,
                 confidences: Iterable[str] | None = None,
                 charts: Charts | None = None, null_samples: int = 0) -> ReportResult:
    """Write report.md, report.html, report.json (and graph.html) into ``out_dir``.

    ``since``: None or ``"last"`` reports what is new since the last recorded
    run; a date (``YYYY-MM-DD``) also lists every loop with a deal dated on or
    after it. ``rank`` orders the top loops (default: :func:`bottleneck_rank`).
    With ``record=False`` the run leaves no trace in the graph (a preview).
    ``as_of``: the web as of that date, ``confidences``: only deals of these confidences
    count (see :func:`build_report`).
    ``charts``: a function of the report's snapshot and data that returns the charts to
    embed, ``[(name, title, svg bytes)]``: each is written beside the report as
    ``<name>.svg`` (linked from report.md) and shown inside report.html (as a data: image,
    so the page works offline); see :func:`default_charts`.

    Example: ``write_report(store, "out/", since="2025-06-01").new_loops``
    """
    from .render import report_html, report_markdown

    out = Path(out_dir)
    # Before the search: a symlink, device or folder where a file goes is refused at once.
    check_folder(out, "--out", doing="write the report into")
    for name in FILES:
        check_target(out / name, "--out")
    step = progress or (lambda _msg: None)
    data, loops, snap = build_report(store, since=since, now=now, max_len=max_len, status=status,
                                     engine=engine, rank=rank, top=top, progress=progress,
                                     budget=budget, as_of=as_of, confidences=confidences,
                                     null_samples=null_samples)
    step("writing files")
    made = list(charts(snap, data)) if charts is not None else []
    for name, _, _ in made:
        if not _CHART_NAME.fullmatch(name) or f"{name}.svg" in FILES:
            raise ValueError(f"a chart's name must be a plain file stem, not {name!r}")
        check_target(out / f"{name}.svg", "--out")
    data["charts"] = [{"name": name, "title": title, "file": f"{name}.svg"} for name, title, _ in made]
    statuses = None if status is None else list(status)
    page = render_graph_page(build_graph_data(
        snap, loops, highlight=[lp["key"] for lp in data["new_loops"]], status=statuses,
        selection={"kind": "report", "value": None, "label": None},
        title=f"circfin report {data['run']}: new loops highlighted"
              + (f" (as of {data['as_of']})" if data["as_of"] else "")))
    try:
        check_folder(out, "--out", doing="write the report into")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write the report into {visible(out)}: {e.strerror or e}; "
                         f"choose another --out") from None
    texts = {"report.json": json_dumps(data, indent=2) + "\n",
             "report.md": report_markdown(data),
             "report.html": report_html(data, page, [(title, svg) for _, title, svg in made]),
             "graph.html": page}
    texts.update({f"{name}.svg": svg.decode("utf-8") for name, _, svg in made})
    try:
        _publish(out, texts)
    except OSError as e:
        raise InputError(f"cannot write the report into {visible(out)}: {e.strerror or e}; "
                         f"nothing was recorded, so the next run reports the same news") from None
    except InputError as e:
        raise InputError(f"{e}; nothing was recorded, so the next run reports the same news") from None
    if record:
        step("recording the run")
        store.ensure_schema()
        store.write(_record_statements(loops, data["run"], data["generated_at"]))
    return ReportResult(out_dir=out, files={n: out / n for n in texts}, run_id=data["run"],
                        generated_at=data["generated_at"], data=data)
