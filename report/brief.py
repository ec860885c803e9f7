"""The briefing: one screen that answers what a reader comes with first.

``build_brief(store)`` gives, as of a date (default today):

* headline numbers, each with its value a quarter earlier (the same numbers as of the
  date three calendar months before) and the change: the deals that count (every status
  but cancelled, by default), their disclosed committed dollars, the loops of 2 to 6
  entities, and the flow cycling index (FCI: the share of all throughflow that comes
  back to where it passed, :mod:`circfin.analytics.circularity`);
* the five top-scoring loops (:mod:`circfin.risk.score`), each with one plain sentence
  on what goes round, built from each leg's largest deal, its type and its amount;
* the five most self-funded entities: the highest return shares (the share of a dollar
  passing through an entity that comes back to it), with their throughflow;
* what changed since the last recorded report (``circfin report``): loops it did not
  list, loops it listed that are gone, and deal status changes dated on or after its day.

Brief.to_dict()::

    as_of, quarter_ago, confidences, params {max_len, statuses}
    headline    {deals, committed_usd, loops, fci}: each {now, quarter_ago, change}
                (loops also {complete}; fci None with a note when not computable)
    top_loops   [{key, entities, score, bottleneck_usd, sentence,
                  legs: [{payer, payee, deal_id, type, amount_usd, amount_qualifier, deals}]}]
    self_funded [{id, name, return_share, throughflow_usd}]
    since_last_report {last_report: {id, at} or null, since, new_loops: [{key, entities}],
                       gone_loops, status_changes: [{deal_id, payer, payee, type, date,
                       before, status}]}
    notes       [str]
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..display import money
from ..display import plain_number as _num
from ..graph.model import Loop, is_frame
from ..loops.from_store import DEFAULT_STATUSES, Budget, Snapshot, at_confidence, loops_from_store, snapshot
from ..loops.members import finite_number
from ..store.base import GraphStore

__all__ = ["Brief", "build_brief", "headline_rows", "loop_sentence", "quarter_before", "since_lines",
           "title"]

TOP = 5
STATUS_CHANGES_SHOWN = 5


def quarter_before(day: str | _dt.date) -> str:
    """The same day three calendar months earlier (the month's last day if it has no such day).

    >>> quarter_before("2026-05-31"), quarter_before("2026-02-15")
    ('2026-02-28', '2025-11-15')
    """
    d = day if isinstance(day, _dt.date) else _dt.date.fromisoformat(str(day))
    y, m = divmod(d.year * 12 + d.month - 1 - 3, 12)
    m += 1
    for dd in range(d.day, 27, -1):
        try:
            return _dt.date(y, m, dd).isoformat()
        except ValueError:
            continue
    return _dt.date(y, m, min(d.day, 28)).isoformat()


# ---- sentences ----------------------------------------------------------------------------

_QUALIFIED = {"up_to": "up to {}", "approx": "about {}", "at_least": "at least {}",
              "estimate": "an estimated {}"}

# Per deal type: (with a disclosed amount, without); {s} the subject, {q} the payee, {a} the amount.
_CLAUSES: dict[str, tuple[str, str]] = {
    "equity_investment": ("{s} invests {a} in {q}", "{s} invests an undisclosed amount in {q}"),
    "loan": ("{s} lends {a} to {q}", "{s} lends an undisclosed amount to {q}"),
    "credit_facility": ("{s} extends {a} of credit to {q}", "{s} extends credit of an undisclosed amount to {q}"),
    "bond": ("{s} buys {a} of {q} bonds", "{s} buys {q} bonds of an undisclosed amount"),
    "compute_purchase": ("{s} buys {a} of compute from {q}", "{s} buys compute from {q} for an undisclosed amount"),
    "chip_purchase": ("{s} buys {q} chips worth {a}", "{s} buys {q} chips for an undisclosed amount"),
    "cloud_commitment": ("{s} commits {a} to {q} for compute",
                         "{s} commits an undisclosed amount to {q} for compute"),
    "warrant": ("{s} grants {q} warrants worth {a}", "{s} grants {q} warrants of undisclosed worth"),
    "revenue_share": ("{s} shares revenue with {q}, {a}", "{s} shares revenue with {q}, amount undisclosed"),
    "capacity_backstop": ("{s} backstops {a} of capacity with {q}",
                          "{s} backstops capacity with {q}, amount undisclosed"),
    "guarantee": ("{s} guarantees {a} for {q}", "{s} guarantees an undisclosed amount for {q}"),
    "spv_financing": ("{s} puts {a} of SPV financing into {q}",
                      "{s} puts SPV financing of an undisclosed amount into {q}"),
    "lease": ("{s} leases from {q} for {a}", "{s} leases from {q} for an undisclosed amount"),
    "other": ("{s} pays {q} {a}", "{s} pays {q} an undisclosed amount"),
}


def _amount_words(amount: Any, qualifier: Any) -> str:
    text = money(amount)
    return _QUALIFIED.get(str(qualifier), "{}").format(text)


def _largest(deal_ids: Iterable[str], table: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """A leg's largest deal: the largest disclosed amount; if none is disclosed, the first by id."""
    rows = [table[d] for d in sorted(deal_ids) if d in table]
    if not rows:
        return None
    disclosed = [r for r in rows if _num(r.get("amount_usd")) is not None]
    if disclosed:
        return max(disclosed, key=lambda r: float(r["amount_usd"]))  # first of equals: by id
    return rows[0]


def loop_legs(loop: Loop, table: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each leg's largest deal, as the sentence tells it."""
    out = []
    for leg in loop.legs:
        d = _largest(leg.deal_ids, table)
        out.append({"payer": leg.payer, "payee": leg.payee, "payer_id": leg.payer_id,
                    "payee_id": leg.payee_id, "deal_id": None if d is None else str(d["deal_id"]),
                    "type": None if d is None else d.get("type"),
                    "amount_usd": None if d is None else _num(d.get("amount_usd")),
                    "amount_qualifier": None if d is None else d.get("amount_qualifier"),
                    "deals": len(leg.deal_ids)})
    return out


def loop_sentence(legs: Sequence[Mapping[str, Any]]) -> str:
    """One plain sentence on what goes round, from each leg's largest deal.

    >>> loop_sentence([
    ...     {"payer": "Nvidia", "payee": "OpenAI", "type": "equity_investment",
    ...      "amount_usd": 100e9, "amount_qualifier": "up_to"},
    ...     {"payer": "OpenAI", "payee": "Oracle", "type": "cloud_commitment",
    ...      "amount_usd": 300e9, "amount_qualifier": "exact"},
    ...     {"payer": "Oracle", "payee": "Nvidia", "type": "chip_purchase",
    ...      "amount_usd": 40e9, "amount_qualifier": "approx"}])
    'Nvidia invests up to $100B in OpenAI, which commits $300B to Oracle for compute, which buys Nvidia chips worth about $40B.'
    """
    parts = []
    for i, leg in enumerate(legs):
        disclosed, hidden = _CLAUSES.get(str(leg.get("type")), _CLAUSES["other"])
        subject = str(leg["payer"]) if i == 0 else "which"
        amount = _num(leg.get("amount_usd"))
        if amount is None:
            parts.append(hidden.format(s=subject, q=leg["payee"]))
        else:
            parts.append(disclosed.format(s=subject, q=leg["payee"],
                                          a=_amount_words(amount, leg.get("amount_qualifier"))))
    return ", ".join(parts) + "." if parts else ""


# ---- the brief ----------------------------------------------------------------------------

@dataclass
class Brief:
    """The briefing's numbers; :meth:`to_dict` for programs, :func:`brief_markdown` for people."""

    as_of: str
    quarter_ago: str
    confidences: tuple[str, ...] | None
    max_len: int
    statuses: list[str] | None
    headline: dict[str, dict[str, Any]]
    top_loops: list[dict[str, Any]]
    self_funded: list[dict[str, Any]]
    since_last_report: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "quarter_ago": self.quarter_ago,
                "confidences": None if self.confidences is None else list(self.confidences),
                "params": {"max_len": self.max_len, "statuses": self.statuses},
                "headline": self.headline, "top_loops": self.top_loops,
                "self_funded": self.self_funded, "since_last_report": self.since_last_report,
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Brief:
        """The brief back from :meth:`to_dict` (report.json's ``brief``)."""
        conf = d.get("confidences")
        return cls(as_of=d["as_of"], quarter_ago=d["quarter_ago"],
                   confidences=None if conf is None else tuple(conf),
                   max_len=int(d["params"]["max_len"]), statuses=d["params"]["statuses"],
                   headline=dict(d["headline"]), top_loops=list(d["top_loops"]),
                   self_funded=list(d["self_funded"]), since_last_report=dict(d["since_last_report"]),
                   notes=list(d.get("notes") or []))


def counted_amounts(snap: Snapshot, statuses: Iterable[str] | None) -> np.ndarray:
    """The amounts (NaN: undisclosed) of the snapshot's deals that count: with one of
    ``statuses`` (None: any); a confidence filter is the snapshot's own
    (:func:`~circfin.loops.from_store.at_confidence`). Read from the records, or from
    the frame when the snapshot holds one (neither is built for this)."""
    allowed = None if statuses is None else set(statuses)
    given = snap.deals_given
    if is_frame(given):
        status, amount = (given[c].to_numpy(dtype=object).tolist() for c in ("status", "amount_usd"))
    else:
        status, amount = [r["status"] for r in given], [r.get("amount_usd") for r in given]
    return np.array([np.nan if (a := finite_number(x)) is None else a
                     for s, x in zip(status, amount, strict=True) if allowed is None or s in allowed],
                    dtype=np.float64)


def _circularity(snap: Snapshot, statuses: Sequence[str] | None,
                 confidences: tuple[str, ...] | None) -> Any:
    """circfin.analytics.circularity's result for the deals that count."""
    from ..analytics.circularity import circularity

    kw: dict[str, Any] = {"confidences": confidences}
    kw["status"] = None if statuses is None else list(statuses)
    return circularity(snap, **kw)


def _loops(store: GraphStore, snap: Snapshot, max_len: int, statuses: list[str] | None,
           budget: Budget | None) -> tuple[list[Loop], bool]:
    found, complete, _ = loops_from_store(store, engine="memory", max_len=max_len, status=statuses,
                                          snap=snap, budget=budget or Budget())
    return list(found), complete


def _numbers(store: GraphStore, snap: Snapshot, max_len: int, statuses: list[str] | None,
             confidences: tuple[str, ...] | None, budget: Budget | None,
             loops: list[Loop] | None = None) -> dict[str, Any]:
    amounts = counted_amounts(snap, statuses)
    complete = True
    if loops is None:
        loops, complete = _loops(store, snap, max_len, statuses, budget)
    circ = _circularity(snap, statuses, confidences)
    return {"deals": len(amounts), "committed_usd": _num(float(np.nansum(amounts))),
            "undisclosed": int(np.isnan(amounts).sum()), "loops": len(loops),
            "loops_complete": complete, "loops_list": loops,
            "fci": None if circ is None else _num(float(circ.fci)), "circ": circ}


def _delta(now: Any, before: Any) -> Any:
    if now is None or before is None:
        return None
    d = now - before
    return _num(round(d, 6) if isinstance(d, float) else d)


def _status_changes(snap: Snapshot, since_day: str, names: Mapping[str, str],
                    table: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    by_deal: dict[str, list[dict[str, Any]]] = {}
    for e in snap.events:
        by_deal.setdefault(str(e["deal_id"]), []).append(e)
    out = []
    for did, evs in by_deal.items():
        evs.sort(key=lambda e: (e["day"] if e["day"] is not None else -1))
        for i, e in enumerate(evs):
            if not e.get("date") or str(e["date"]) < since_day:
                continue
            d = table.get(did, {})
            before = evs[i - 1]["status"] if i else None
            if before == e["status"]:
                continue
            out.append({"deal_id": did, "payer": names.get(str(d.get("payer")), d.get("payer")),
                        "payee": names.get(str(d.get("payee")), d.get("payee")), "type": d.get("type"),
                        "date": str(e["date"]), "before": before, "status": e["status"]})
    out.sort(key=lambda c: (c["date"], c["deal_id"]), reverse=True)
    return out


def build_brief(store: GraphStore, *, as_of: str | _dt.date | None = None,
                confidences: Iterable[str] | None = None, max_len: int = 6,
                status: Iterable[str] | None = DEFAULT_STATUSES, snap: Snapshot | None = None,
                loops: Sequence[Loop] | None = None, last_report: Any = "read",
                budget: Budget | None = None, top: int = TOP) -> Brief:
    """The briefing as of ``as_of`` (default today; a partial date means its last day).

    ``confidences``: only deals with these confidences count (``--min-confidence``; None: all).
    ``snap`` and ``loops``: the snapshot as of ``as_of`` and its loops, when the caller (the
    report) has them already, so every number agrees with the caller's. ``last_report``: the
    last recorded run (``report.last_run(store)``), read from the store by default.
    """
    from ..risk.flags import deal_table
    from ..risk.score import score_loops
    from .runs import last_run, stored_loops

    conf = None if confidences is None else tuple(confidences)
    statuses = None if status is None else list(status)
    if snap is None:
        day = as_of or _dt.date.today().isoformat()
        snap = snapshot(store, as_of=day)
    day_now = snap.as_of or (str(as_of) if as_of else _dt.date.today().isoformat())
    if conf is not None:
        snap = at_confidence(snap, conf)
        loops = None  # the caller's loops counted every confidence
    q_day = quarter_before(day_now)
    notes: list[str] = []
    now = _numbers(store, snap, max_len, statuses, conf, budget,
                   None if loops is None else list(loops))
    before_snap = at_confidence(snapshot(store, as_of=q_day), conf)
    before = _numbers(store, before_snap, max_len, statuses, conf, budget)
    headline: dict[str, dict[str, Any]] = {}
    for k in ("deals", "committed_usd", "loops", "fci"):
        headline[k] = {"now": now[k], "quarter_ago": before[k], "change": _delta(now[k], before[k])}
    headline["committed_usd"]["undisclosed_deals"] = now["undisclosed"]
    if now["circ"] is not None:
        headline["fci"]["cycled_usd"] = _num(round(float(now["circ"].cycled_usd), 2))
        headline["fci"]["total_usd"] = _num(round(float(now["circ"].total_usd), 2))
    headline["loops"]["complete"] = now["loops_complete"] and before["loops_complete"]
    if not headline["loops"]["complete"]:
        notes.append("the loop search was cut by its budget: the loop counts are lower bounds")
    if now["circ"] is None:
        notes.append("FCI not available: circfin.analytics has no circularity yet")
    elif (getattr(now["circ"], "undisclosed", None) or {}).get("deals"):
        und = now["circ"].undisclosed
        notes.append(f"FCI and return shares: {und.get('deals', 0)} deals of undisclosed amount "
                     f"{'left out' if und.get('mode') == 'skip' else 'imputed'}")

    # Top loops by score, each told in one sentence.
    table = deal_table(snap.deals_given)
    scored = score_loops(now["loops_list"], table, snap.entities, now=day_now)
    top_loops = []
    for s in scored[:top]:
        legs = loop_legs(s.loop, table)
        top_loops.append({"key": s.key, "entities": list(s.loop.entities), "score": round(s.score, 4),
                          "bottleneck_usd": _num(s.loop.bottleneck_usd), "sentence": loop_sentence(legs),
                          "legs": legs})

    self_funded: list[dict[str, Any]] = []
    if now["circ"] is not None:
        for e in list(now["circ"].entities):
            if len(self_funded) >= top:
                break
            if (e.get("return_share") or 0) > 0:
                self_funded.append({"id": e["id"], "name": e.get("name") or e["id"],
                                    "return_share": _num(e["return_share"]),
                                    "throughflow_usd": _num(e.get("throughflow_usd"))})

    prev = last_run(store) if last_report == "read" else last_report
    names = snap.names
    since: dict[str, Any]
    if prev is None:
        since = {"last_report": None, "since": None, "new_loops": [], "gone_loops": 0,
                 "status_changes": []}
    else:
        prev_keys = set(prev["keys"])
        current = {lp.key: lp for lp in now["loops_list"]}
        new = [{"key": k, "entities": list(current[k].entities)} for k in sorted(current)
               if k not in prev_keys]
        stored = stored_loops(store, prev_keys - set(current)) if prev_keys - set(current) else {}
        since_day = str(prev["at"])[:10]
        since = {"last_report": {"id": prev["id"], "at": prev["at"]}, "since": since_day,
                 "new_loops": new, "gone_loops": len(prev_keys - set(current)),
                 "gone": [{"key": k, "entities": [names.get(i, i) for i in
                                                  (stored.get(k, {}).get("ids") or k.split(">"))]}
                          for k in sorted(prev_keys - set(current))],
                 "status_changes": _status_changes(snap, since_day, names, table)}
    return Brief(as_of=day_now, quarter_ago=q_day, confidences=conf, max_len=max_len,
                 statuses=statuses, headline=headline, top_loops=top_loops, self_funded=self_funded,
                 since_last_report=since, notes=notes)


# ---- words --------------------------------------------------------------------------------

def fmt_value(key: str, v: Any) -> str:
    """A headline value for people."""
    if v is None:
        return "n/a"
    if key == "committed_usd":
        return money(v)
    if key == "fci":
        return f"{100 * float(v):.1f}%"
    return f"{int(v):,}"


def fmt_change(key: str, v: Any) -> str:
    """A headline change for people: signed, with 'pts' for the FCI."""
    if v is None:
        return "n/a"
    if key == "committed_usd":
        return ("+" if v > 0 else "-" if v < 0 else "±") + money(abs(v))
    if key == "fci":
        pts = 100 * float(v)
        return f"{pts:+.1f} pts" if round(pts, 1) else "±0.0 pts"
    return f"{int(v):+,}" if v else "±0"


HEADLINE_LABELS = {"deals": "deals that count", "committed_usd": "committed (disclosed)",
                   "loops": "loops", "fci": "flow cycling index (FCI)"}


def headline_rows(brief: Brief) -> list[tuple[str, str, str, str]]:
    """(measure, now, a quarter ago, change) rows."""
    rows = []
    for k, label in HEADLINE_LABELS.items():
        h = brief.headline[k]
        if k == "loops":
            label = f"loops of 2 to {brief.max_len} entities" + ("" if h.get("complete", True) else " (at least)")
        if k == "committed_usd" and h.get("undisclosed_deals"):
            label += f", {h['undisclosed_deals']} deals undisclosed"
        rows.append((label, fmt_value(k, h["now"]), fmt_value(k, h["quarter_ago"]), fmt_change(k, h["change"])))
    return rows


def since_lines(brief: Brief, shown: int = STATUS_CHANGES_SHOWN) -> list[str]:
    """What changed since the last recorded report, in plain lines."""
    s = brief.since_last_report
    if s["last_report"] is None:
        return ["No report recorded yet: circfin report records one, and the next brief says what "
                "changed since."]
    lr = s["last_report"]
    lines = [f"Since report {lr['id']} of {lr['at']}: {len(s['new_loops'])} new loop"
             f"{'s' if len(s['new_loops']) != 1 else ''}, {s['gone_loops']} gone, "
             f"{len(s['status_changes'])} status change{'s' if len(s['status_changes']) != 1 else ''} "
             f"dated on or after {s['since']}."]
    for lp in s["new_loops"][:shown]:
        lines.append("new loop: " + " → ".join([*lp["entities"], lp["entities"][0]]))
    if len(s["new_loops"]) > shown:
        lines.append(f"… and {len(s['new_loops']) - shown} more new loops (see the report)")
    for c in s["status_changes"][:shown]:
        lines.append(f"{c['date']} {c['deal_id']} {c['payer']} → {c['payee']} "
                     f"({str(c['type'] or '?').replace('_', ' ')}): {c['before'] or 'first recorded'} → "
                     f"{c['status']}")
    if len(s["status_changes"]) > shown:
        lines.append(f"… and {len(s['status_changes']) - shown} more status changes")
    return lines


def title(brief: Brief) -> str:
    conf = "" if brief.confidences is None else f", deals of {'/'.join(brief.confidences)} confidence"
    return f"circfin brief as of {brief.as_of} (change since {brief.quarter_ago}{conf})"
