"""Insider-deal flags: patterns in a loop that a supervisor or journalist should look at.

A flag names a pattern, cites the deals that show it, and says why in one
sentence. :func:`flags_for` is a pure function of a loop, the deals table and
the entities' parents; :func:`flag_loops` reads those from a store. Only the
loop's *counting* deals (``leg.deal_ids``: the deals that passed the loop
search's filters) are evidence; a deal id missing from the table is an error.

Legs are taken in flow order: leg ``i`` is ``ids[i] -> ids[i+1]``, and the leg
*into* ``ids[i]`` is ``ids[i-1] -> ids[i]`` (the loop wraps round).

The flags, precisely:

``vendor_financing``
    Some member F funds the next party N -- the leg F -> N holds at least one
    deal of a funding type (:data:`~circfin.analytics.measures.FUNDING_TYPES`:
    equity_investment, loan, credit_facility, bond, warrant,
    capacity_backstop, guarantee, spv_financing) -- and the leg *into* F
    holds at least one deal of a purchase type
    (:data:`~circfin.analytics.measures.PURCHASE_TYPES`: compute_purchase,
    chip_purchase, cloud_commitment, lease, revenue_share): the money F puts
    out comes back to it as sales. Evidence: the funding deals on F -> N and
    the purchase deals into F, for every such F (one flag per loop; its
    ``why`` names each funder). In a 2-loop the leg into F is N -> F.
``round_trip``
    A 2-loop (two parties, money both ways) whose two legs' sets of deal
    types differ: e.g. equity one way, a cloud purchase back. Two legs of the
    same kinds (mutual stakes, mutual purchases) are not a round trip.
    Evidence: every deal of both legs.
``related_party``
    Two members A != B of the loop are related: they share an ancestor
    (following ``parents`` upward as far as it goes, e.g. two SPVs of the same
    group), or one is an ancestor of the other (it controls it). Evidence:
    the deals of every leg that has a related member at either end.
``paper_loop``
    Every counting deal on every leg has status ``announced`` or ``stalled``:
    no leg is signed, funded or completed, so the loop exists only on paper.
    Evidence: every deal of the loop.
``contingent_loop``
    Some leg consists only of contingent deals: each of its deals is either
    ``amount_qualifier == "up_to"`` or of type ``warrant``. Such a leg may
    never pay, so neither may the loop. Evidence: the deals of every such
    leg.

Flags are independent of each other; a loop may carry any number of them,
listed in the order of :data:`FLAGS`.
"""

from __future__ import annotations

__all__ = ["FLAGS", "Flag", "flag_loops", "flags_for"]

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..analytics.measures import FUNDING_TYPES, PURCHASE_TYPES
from ..graph.model import Loop, is_frame

if TYPE_CHECKING:
    import pandas as pd

FLAGS: tuple[str, ...] = ("vendor_financing", "round_trip", "related_party", "paper_loop",
                          "contingent_loop")
PAPER_STATUSES: tuple[str, ...] = ("announced", "stalled")


@dataclass(frozen=True)
class Flag:
    """One pattern found in a loop: its name, the deals that show it, and why."""

    name: str
    deal_ids: tuple[str, ...]
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "deal_ids": list(self.deal_ids), "why": self.why}


# A deals table reduced to what the flags read: deal id -> (type, status, qualifier).
DealTable = Mapping[str, Mapping[str, Any]]


def deal_table(deals: pd.DataFrame | Sequence[Mapping[str, Any]] | DealTable) -> dict[str, dict[str, Any]]:
    """Deal id -> its row, from a deals frame (``deal_id`` column or index), the deals
    as records (``snapshot(store).deal_rows``, no pandas needed) or a mapping."""
    if is_frame(deals):
        frame = deals if "deal_id" in deals.columns else deals.reset_index()
        if "deal_id" not in frame.columns:
            raise ValueError("the deals frame needs a 'deal_id' column")
        return {str(r["deal_id"]): r for r in frame.to_dict("records")}
    if isinstance(deals, Mapping):
        return {str(k): dict(v) for k, v in deals.items()}
    if isinstance(deals, Sequence) and not isinstance(deals, (str, bytes)):
        table: dict[str, dict[str, Any]] = {}
        for i, r in enumerate(deals):
            if not isinstance(r, Mapping) or r.get("deal_id") is None:
                raise ValueError(f"deal record {i} needs a 'deal_id'")
            table[str(r["deal_id"])] = dict(r)
        return table
    raise ValueError(f"deals must be a frame, records or a mapping, not {type(deals).__name__}")


def _row(table: DealTable, deal_id: str, loop: Loop) -> Mapping[str, Any]:
    try:
        return table[deal_id]
    except KeyError:
        raise ValueError(f"deal {deal_id!r} of loop {loop.key} is not in the deals table") from None


def _ancestors(entity: str, parents: Mapping[str, str | None]) -> list[str]:
    """Parent, grandparent, ... of ``entity`` (stops at a repeat, so a cycle cannot hang)."""
    out: list[str] = []
    seen = {entity}
    p = parents.get(entity)
    while isinstance(p, str) and p and p not in seen:
        out.append(p)
        seen.add(p)
        p = parents.get(p)
    return out


def _ids(deal_ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(dict.fromkeys(deal_ids)))


def _vendor_financing(loop: Loop, table: DealTable) -> Flag | None:
    n = len(loop.legs)
    evidence: list[str] = []
    clauses = []
    for i, out_leg in enumerate(loop.legs):
        in_leg = loop.legs[(i - 1) % n]
        funding = [d for d in out_leg.deal_ids if _row(table, d, loop)["type"] in FUNDING_TYPES]
        purchases = [d for d in in_leg.deal_ids if _row(table, d, loop)["type"] in PURCHASE_TYPES]
        if funding and purchases:
            evidence += funding + purchases
            clauses.append(f"{out_leg.payer} funds {out_leg.payee} ({', '.join(funding)}) and the "
                           f"money comes back as {in_leg.payer}'s purchases from {out_leg.payer} "
                           f"({', '.join(purchases)})")
    if not clauses:
        return None
    return Flag("vendor_financing", _ids(evidence), "; ".join(clauses))


def _leg_types(leg: Any, table: DealTable, loop: Loop) -> set[str]:
    return {str(_row(table, d, loop)["type"]) for d in leg.deal_ids}


def _round_trip(loop: Loop, table: DealTable) -> Flag | None:
    if len(loop.legs) != 2:
        return None
    a, b = loop.legs
    ta, tb = _leg_types(a, table, loop), _leg_types(b, table, loop)
    if ta == tb:
        return None
    return Flag("round_trip", _ids(a.deal_ids + b.deal_ids),
                f"{a.payer} pays {a.payee} by {', '.join(sorted(ta))} and {b.payer} pays back by "
                f"{', '.join(sorted(tb))}")


def _related_party(loop: Loop, parents: Mapping[str, str | None]) -> Flag | None:
    names = dict(zip(loop.ids, loop.entities, strict=True))
    anc = {e: _ancestors(e, parents) for e in loop.ids}
    related: set[str] = set()
    clauses = []
    ids = list(loop.ids)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if a in anc[b] or b in anc[a]:
                top, sub = (a, b) if a in anc[b] else (b, a)
                clauses.append(f"{names.get(top, top)} controls {names.get(sub, sub)}")
            else:
                common = [x for x in anc[a] if x in anc[b]]
                if not common:
                    continue
                clauses.append(f"{names.get(a, a)} and {names.get(b, b)} share the parent "
                               f"{names.get(common[0], common[0])}")
            related |= {a, b}
    if not clauses:
        return None
    evidence = [d for leg in loop.legs if leg.payer_id in related or leg.payee_id in related
                for d in leg.deal_ids]
    return Flag("related_party", _ids(evidence), "; ".join(clauses))


def _paper_loop(loop: Loop, table: DealTable) -> Flag | None:
    ids = loop.deal_ids
    if not ids or any(_row(table, d, loop)["status"] not in PAPER_STATUSES for d in ids):
        return None
    return Flag("paper_loop", _ids(ids),
                "no deal on the loop is signed, funded or completed: every one is announced or stalled")


def _contingent(table: DealTable, deal_id: str, loop: Loop) -> bool:
    r = _row(table, deal_id, loop)
    return r.get("amount_qualifier") == "up_to" or r["type"] == "warrant"


def _contingent_loop(loop: Loop, table: DealTable) -> Flag | None:
    legs = [leg for leg in loop.legs
            if leg.deal_ids and all(_contingent(table, d, loop) for d in leg.deal_ids)]
    if not legs:
        return None
    clauses = [f"{leg.payer} → {leg.payee} rests only on up-to amounts or warrants "
               f"({', '.join(leg.deal_ids)})" for leg in legs]
    return Flag("contingent_loop", _ids(d for leg in legs for d in leg.deal_ids),
                "; ".join(clauses) + ": that leg may never pay")


def flags_for(loop: Loop, deals: pd.DataFrame | Sequence[Mapping[str, Any]] | DealTable,
              parents: Mapping[str, str | None]) -> list[Flag]:
    """The flags a loop carries, in the order of :data:`FLAGS` (see the module docstring).

    ``deals``: the deals frame (``deal_id, type, status, amount_qualifier``
    at least), or a mapping deal id -> row as :func:`deal_table` returns
    (faster when flagging many loops). ``parents``: entity id -> parent id
    or None. Raises ValueError when a deal of the loop is not in ``deals``.
    """
    table = deals if isinstance(deals, Mapping) else deal_table(deals)
    found = [_vendor_financing(loop, table), _round_trip(loop, table),
             _related_party(loop, parents), _paper_loop(loop, table), _contingent_loop(loop, table)]
    return [f for f in found if f is not None]


def flag_loops(store: Any, loops: Iterable[Loop], *, as_of: Any = None) -> dict[str, list[Flag]]:
    """Loop key -> its flags, for loops found in ``store`` (deals and parents read from it,
    as of ``as_of``: a date, or None for everything)."""
    from ..loops.from_store import snapshot

    snap = snapshot(store, as_of=as_of)
    table = deal_table(snap.deal_rows)
    parents = snap.parents
    return {lp.key: flags_for(lp, table, parents) for lp in loops}
