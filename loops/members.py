"""Syndicates opened up: the members of a syndicated deal take its legs, by share.

A deal may be paid or received by a syndicate, a JV or a funding round whose
members are listed in ``snapshot().participants`` (``deal_id, side, member,
share, share_basis``). Two readers use the same rule for who takes what:

* :func:`member_parts` -- per deal and side, the members' parts, and what the
  shares leave with the syndicate itself (``remainder``). A member without a
  share (None) splits what the disclosed shares leave equally
  (``equal_split``, an estimate). ``circfin.risk.exposures`` gives each
  member its share of a deal's exposures and debts with it.
* :func:`split_members` -- for ``circfin loops --members``: a deals frame in
  which every syndicate leg is replaced by its members' legs, so that loops
  through individual banks appear. A loan ``L1`` of $18B from syndicate S to
  Oracle with members JPMorgan 0.4 and Deutsche Bank 0.3 becomes ``L1@jpmorgan``
  (JPMorgan -> Oracle, $7.2B), ``L1@deutsche-bank`` (Deutsche Bank -> Oracle,
  $5.4B) and ``L1@s`` (S -> Oracle, $5.4B: the 0.3 no member covers).

Examples
--------
>>> import pandas as pd
>>> deals = pd.DataFrame({"deal_id": ["L1"], "payer": ["s"], "payee": ["oracle"],
...                       "type": ["loan"], "amount_usd": [18e9], "status": ["funded"]})
>>> members = [{"deal_id": "L1", "side": "payer", "member": "jpmorgan", "share": 0.4},
...            {"deal_id": "L1", "side": "payer", "member": "mufg", "share": None}]
>>> out = split_members(deals, members)
>>> for r in out.itertuples():
...     print(r.deal_id, r.payer, r.payee, r.amount_usd, r.parent_deal, r.share_basis)
L1@jpmorgan jpmorgan oracle 7200000000.0 L1 disclosed
L1@mufg mufg oracle 10800000000.0 L1 equal_split
"""

from __future__ import annotations

__all__ = ["MemberPart", "finite_number", "member_parts", "split_members"]

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._cycles_input import _parse_amount

if TYPE_CHECKING:
    import pandas as pd

SIDES: tuple[str, ...] = ("payer", "payee")
_SHARE_EPS = 1e-9


@dataclass(frozen=True)
class MemberPart:
    """One side's part of a split deal: ``member`` takes ``share`` of the ``side``
    (``payer``/``payee``) that ``syndicate`` plays in the deal. ``share_basis``:
    ``disclosed``, ``equal_split`` (an estimate) or ``remainder`` (what the
    members' shares leave with the syndicate itself, ``member == syndicate``)."""

    side: str
    syndicate: str
    member: str
    share: float
    share_basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "syndicate": self.syndicate, "member": self.member,
                "share": self.share, "share_basis": self.share_basis,
                "estimate": self.share_basis == "equal_split"}


def finite_number(v: Any) -> float | None:
    """``v`` as a finite float, or None (None, a bool, text that is no number, NaN, inf)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def member_parts(participants: Iterable[Mapping[str, Any]] | None, sides: Mapping[str, tuple[str, str]],
                 ) -> dict[tuple[str, str], list[MemberPart]]:
    """(deal id, side) -> the parts its members take, the syndicate's remainder last.

    ``sides``: deal id -> (payer, payee); members of other deals are ignored.
    Arrangers (``role: arranger``) take no part. The shares of one side's parts
    add up to 1 (up to rounding); parts with
    share 0 are left out. A member without a share (None or NaN) splits what
    the disclosed shares leave equally (``equal_split``); a row's own
    ``share_basis`` is kept (``snapshot()`` fills equal-split shares in).
    Raises ValueError for an unknown side, a share that is not a number in
    [0, 1], a member named twice on one side, or shares of one side adding up
    to more than 1.

    >>> member_parts([{"deal_id": "L1", "side": "payer", "member": "jpm", "share": 0.4}],
    ...              {"L1": ("s", "oracle")})[("L1", "payer")][1]
    MemberPart(side='payer', syndicate='s', member='s', share=0.6, share_basis='remainder')
    """
    raw: dict[tuple[str, str], list[tuple[str, float | None, str]]] = {}
    for p in participants or ():
        did = str(p.get("deal_id"))
        if did not in sides or p.get("role") == "arranger":
            continue  # an arranger (a bond's bookrunner) is named but holds no part
        side, member = str(p.get("side")), str(p.get("member"))
        if side not in SIDES:
            raise ValueError(f"deal {did}: member {member}: side must be payer or payee, got {side!r}")
        given = p.get("share")
        share = None if _missing(given) else finite_number(given)
        if not _missing(given) and (share is None or not 0.0 <= share <= 1.0):
            raise ValueError(f"deal {did}: member {member}: share must be a number in [0, 1], got {given!r}")
        lst = raw.setdefault((did, side), [])
        if any(m == member for m, _, _ in lst):
            raise ValueError(f"deal {did}: member {member} is named twice on the {side} side")
        basis = p.get("share_basis")
        lst.append((member, share, "equal_split" if share is None else str(basis or "disclosed")))
    out: dict[tuple[str, str], list[MemberPart]] = {}
    for (did, side), lst in sorted(raw.items()):
        syndicate = sides[did][0 if side == "payer" else 1]
        total = sum(s for _, s, _ in lst if s is not None)
        if total > 1.0 + _SHARE_EPS:
            raise ValueError(f"deal {did}: the {side}-side members' shares add up to {total:g}, more than 1")
        open_ = [m for m, s, _ in lst if s is None]
        rest = max(0.0, 1.0 - total)
        parts = [MemberPart(side, syndicate, m, rest / len(open_) if s is None else s, b) for m, s, b in lst]
        if not open_ and rest > _SHARE_EPS:
            parts.append(MemberPart(side, syndicate, syndicate, rest, "remainder"))
        out[(did, side)] = [x for x in parts if x.share > 0]
    return out


def combined_basis(parts: Iterable[MemberPart]) -> str | None:
    """The basis of an amount resting on ``parts``: None (no parts), ``equal_split``
    if any share is an estimate, else ``disclosed``, or ``remainder`` when only
    syndicates' remainders are left."""
    bases = {p.share_basis for p in parts}
    if not bases:
        return None
    if "equal_split" in bases:
        return "equal_split"
    return "disclosed" if "disclosed" in bases else "remainder"


def split_members(deals: pd.DataFrame, participants: Iterable[Mapping[str, Any]] | None) -> pd.DataFrame:
    """``deals`` with every syndicated leg replaced by its members' legs.

    ``deals``: a deals frame (``snapshot(store).deals``: ``deal_id, payer,
    payee, amount_usd`` and any other columns, which are copied). ``participants``:
    ``snapshot(store).participants``. A deal with payer-side members becomes
    one deal per member, from the member to the payee, with ``deal_id``
    ``"<deal_id>@<member>"`` and ``amount_usd`` times the member's share; the
    share no member covers stays a deal from the syndicate itself
    (``"<deal_id>@<syndicate>"``). Payee-side members likewise (to each
    member); with members on both sides every payer part meets every payee
    part (``"<deal_id>@<payer member>@<payee member>"``, amount times both
    shares), and a member on both sides of its own part (payer = payee) is
    dropped. Undisclosed amounts stay undisclosed.

    Added columns: ``parent_deal`` (the original deal id, also on deals not
    split), ``member_share`` (the part of the parent's amount, 1.0 when not
    split) and ``share_basis`` (None when not split; ``disclosed``,
    ``equal_split`` (an estimate) or ``remainder``). An ``amount_qualifier``
    column says ``estimate`` for an equal-split part. Deals without members
    are kept as they are. Raises ValueError for bad shares (see
    :func:`member_parts`).

    Wiring ``circfin loops --members`` (the in-memory engine only: the Cypher
    engine reads the graph, which keeps the syndicate legs)::

        snap = snapshot(store, as_of=day)
        snap = dataclasses.replace(snap, deals=split_members(snap.deals, snap.participants))
        loops, complete, note = loops_from_store(store, engine="memory", snap=snap, ...)

    A loop's legs then list member deal ids (``L1@jpmorgan``); ``parent_deal``
    maps them back to the deals in the graph.
    """
    import pandas as pd

    frame = deals if "deal_id" in deals.columns else deals.reset_index()
    rows = frame.to_dict("records")
    cols = [*frame.columns, *(c for c in ("parent_deal", "member_share", "share_basis")
                              if c not in frame.columns)]
    parts = member_parts(participants, {str(r["deal_id"]): (str(r["payer"]), str(r["payee"])) for r in rows})
    out: list[dict[str, Any]] = []
    for r in rows:
        did = str(r["deal_id"])
        pay = parts.get((did, "payer"))
        get = parts.get((did, "payee"))
        if not pay and not get:
            out.append({**r, "parent_deal": did, "member_share": 1.0, "share_basis": None})
            continue
        pay_l: list[MemberPart | None] = list(pay) if pay else [None]
        get_l: list[MemberPart | None] = list(get) if get else [None]
        for pp in pay_l:
            for gp in get_l:
                payer = pp.member if pp else str(r["payer"])
                payee = gp.member if gp else str(r["payee"])
                if payer == payee:
                    continue
                used = [x for x in (pp, gp) if x is not None]
                share = math.prod(x.share for x in used)
                try:
                    amount = _parse_amount(r.get("amount_usd"))  # NaN: undisclosed
                except ValueError as e:
                    raise ValueError(f"deal {did}: {e}") from None
                basis = combined_basis(used)
                row = {**r, "deal_id": "@".join([did, *(x.member for x in used)]), "payer": payer,
                       "payee": payee, "amount_usd": amount * share,
                       "parent_deal": did, "member_share": share, "share_basis": basis}
                if basis == "equal_split" and "amount_qualifier" in row:
                    row["amount_qualifier"] = "estimate"
                out.append(row)
    result = pd.DataFrame(out, columns=cols)
    # object, not pandas' string dtype: a deal not split says None, not NaN
    result["share_basis"] = pd.Series([r["share_basis"] for r in out], index=result.index, dtype=object)
    return result
