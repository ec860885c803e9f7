"""Who has what at stake in whom, and who owes whom, derived deal by deal.

The shock models need two matrices over the entities and one vector:

* ``exposures[i, j]``: what ``i`` has at stake in ``j`` -- the amount ``i``
  loses if ``j``'s equity is wiped out (for :func:`~circfin.risk.debtrank`);
* ``liabilities[i, j]``: what ``i`` owes ``j`` (for
  :func:`~circfin.risk.clearing_vector`);
* ``buffers[i]``: ``i``'s capital, the equity that absorbs losses.

Deals point the way money or value moves (investor -> investee, lender ->
borrower, buyer -> seller, warrant issuer -> holder, backstop provider ->
beneficiary, lessee -> lessor). Each deal type creates, when its status is
in the listed set and its amount is disclosed (an undisclosed amount counts
as 0 and the deal is listed in ``skipped``; an ``up_to`` amount counts at
its cap):

====================  ============================  ==========================  ============================
type                  exposure (holder -> on whom)  liability (who owes whom)   statuses that count
====================  ============================  ==========================  ============================
equity_investment     payer holds payee's equity    none (equity is not debt)   signed, funded, completed
warrant               payee (holder) holds payer's  none                        signed, funded, completed
                      (issuer's) equity
loan, credit_facility payer (lender) holds a claim  payee (borrower) owes payer signed, funded, completed
bond, spv_financing   on payee
capacity_backstop,    payer (provider) holds a      none (contingent: paid only signed, funded, completed
guarantee             claim on payee (it pays if    if the beneficiary fails)
                      the beneficiary fails)
compute_purchase,     payee (seller) carries the    payer (buyer) owes payee    announced, signed (the money
chip_purchase,        buyer's unpaid future         (seller)                    is still to come; funded or
cloud_commitment,     payments as revenue at risk                               completed purchases are paid
lease, revenue_share  on payer                                                  and carry nothing)
other                 nothing                       nothing                     --
====================  ============================  ==========================  ============================

Funding that is only announced or stalled has not been invested, so it
carries nothing; cancelled deals never do.

**Members carry the exposure.** When ``participants`` (``snapshot().participants``:
``deal_id, side, member, share, share_basis``) name the members of a deal's
payer or payee side (a syndicate, a JV, a funding round), each member takes
that side's part of the deal in proportion to its share: a loan of $18B from
syndicate S to Oracle with members JPMorgan 0.4, Deutsche Bank 0.3 and MUFG
0.3 gives JPMorgan a $7.2B claim on Oracle (and Oracle owes JPMorgan $7.2B),
and so on. The part of a side the shares do not cover (1 minus their sum)
stays with S itself. A member without a share splits what the others leave
equally (``share_basis: equal_split``, an estimate). With members on both
sides, every payer part meets every payee part (amount x both shares). Every
part keeps the deal's ``deal_id`` and says in ``split`` which member, side,
share and basis it stands for; an ``Exposure``'s ``share_basis`` is
``equal_split`` (``estimate`` True) if any of its shares is an estimate.

Capital buffers, per entity, in this order (``buffer_source`` says which
figure and, when the entity's ``financials`` say, its date and basis; the
network's ``buffer_info`` and ``to_dict()`` give ``figure``, ``as_of`` and
``source_url``):

1. ``"equity 2025-11-30 (10-Q)"``: its ``equity_usd`` (the latest figure on or
   before the snapshot's date, as ``snapshot(as_of=...)`` picks it);
2. ``"assets minus liabilities 2025-11-30"``: book equity,
   ``total_assets_usd - total_liabilities_usd``, when it has no equity figure
   but both of these (and they leave a positive amount);

   an equity figure at or below zero (a deficit, which buy-backs or losses
   can leave) gives no buffer and rules out 2: a proxy below stands in and its
   label ends with the deficit, e.g. ``"proxy: 50% of revenue 2026-01-30
   (equity -$1.6B at 2026-01-30)"``;
3. ``"proxy: 50% of revenue 2025-05-31"``: ``revenue_share * revenue_usd``
   (default share 0.5, a parameter);
4. ``"proxy: median buffer of N entities"``: the median of the buffers of
   the entities that have 1, 2 or 3, for entities with none;
5. ``"proxy: own exposures"``: when no entity at all has equity or revenue,
   what the entity itself has at stake (so one full loss wipes it out), at
   least $1.

An entity without ``financials`` (a plain dict of figures) gets the bare
labels: ``"equity"``, ``"assets minus liabilities"``, ``"proxy: 50% of revenue"``.
"""

from __future__ import annotations

__all__ = ["EXPOSURE_RULES", "Exposure", "ExposureNetwork", "MemberPart", "build_exposures", "member_parts"]

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..display import money
from ..graph.model import is_frame
from ..loops.members import MemberPart, combined_basis, member_parts
from ..loops.members import finite_number as _num

if TYPE_CHECKING:
    import pandas as pd

_FUNDED = ("signed", "funded", "completed")
_UNPAID = ("announced", "signed")

# type -> (who holds the exposure: "payer"/"payee", kind, statuses, liability: None or "payee_owes"/"payer_owes")
EXPOSURE_RULES: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "equity_investment": ("payer", "equity", _FUNDED, None),
    "warrant": ("payee", "equity", _FUNDED, None),
    "loan": ("payer", "claim", _FUNDED, "payee_owes"),
    "credit_facility": ("payer", "claim", _FUNDED, "payee_owes"),
    "bond": ("payer", "claim", _FUNDED, "payee_owes"),
    "spv_financing": ("payer", "claim", _FUNDED, "payee_owes"),
    "capacity_backstop": ("payer", "claim", _FUNDED, None),
    "guarantee": ("payer", "claim", _FUNDED, None),
    "compute_purchase": ("payee", "revenue_at_risk", _UNPAID, "payer_owes"),
    "chip_purchase": ("payee", "revenue_at_risk", _UNPAID, "payer_owes"),
    "cloud_commitment": ("payee", "revenue_at_risk", _UNPAID, "payer_owes"),
    "lease": ("payee", "revenue_at_risk", _UNPAID, "payer_owes"),
    "revenue_share": ("payee", "revenue_at_risk", _UNPAID, "payer_owes"),
}
REVENUE_SHARE = 0.5


@dataclass(frozen=True)
class Exposure:
    """What one deal puts at stake: ``holder`` loses up to ``amount_usd`` if ``on`` fails;
    ``debtor`` owes ``creditor`` that amount (both None when the deal creates no debt).

    For a deal split among members (see the module docstring) one record per
    part: ``share`` is the part of the deal's amount it carries and ``split``
    the member parts it stands for (empty and 1.0 for a deal not split)."""

    deal_id: str
    type: str
    holder: str
    on: str
    kind: str  # equity, claim, revenue_at_risk
    amount_usd: float
    debtor: str | None
    creditor: str | None
    share: float = 1.0
    split: tuple[MemberPart, ...] = ()

    @property
    def member(self) -> str | None:
        """The member whose share this record is (the holder's side first); None
        when the deal is not split or only the syndicates' remainders are left."""
        parts = sorted((p for p in self.split if p.share_basis != "remainder"),
                       key=lambda p: p.member != self.holder)
        return parts[0].member if parts else None

    @property
    def share_basis(self) -> str | None:
        """None (not split), ``equal_split`` if any share is an estimate, else
        ``disclosed``, or ``remainder`` when only syndicates' remainders are left."""
        return combined_basis(self.split)

    @property
    def estimate(self) -> bool:
        """True when the amount rests on an estimated (equal-split) share."""
        return self.share_basis == "equal_split"

    def to_dict(self) -> dict[str, Any]:
        return {"deal_id": self.deal_id, "type": self.type, "holder": self.holder, "on": self.on,
                "kind": self.kind, "amount_usd": self.amount_usd, "debtor": self.debtor,
                "creditor": self.creditor, "share": self.share, "member": self.member,
                "share_basis": self.share_basis, "estimate": self.estimate,
                "split": [p.to_dict() for p in self.split]}


@dataclass
class ExposureNetwork:
    """The matrices the shock models read, over ``ids`` (sorted entity ids)."""

    ids: tuple[str, ...]
    names: dict[str, str]
    kinds: dict[str, str]
    records: list[Exposure]
    buffers: np.ndarray
    buffer_source: tuple[str, ...]
    skipped: list[dict[str, str]] = field(default_factory=list)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # per entity: {figure, as_of, source_url} of the figure its buffer came from
    # (figure None for the median and own-exposure proxies; as_of/source_url None when unknown)
    buffer_info: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        self.index = {e: i for i, e in enumerate(self.ids)}

    @property
    def n(self) -> int:
        return len(self.ids)

    def matrices(self, exclude: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(exposures, liabilities) without the deals in ``exclude``."""
        drop = set(exclude)
        x = np.zeros((self.n, self.n))
        lia = np.zeros((self.n, self.n))
        for r in self.records:
            if r.deal_id in drop:
                continue
            x[self.index[r.holder], self.index[r.on]] += r.amount_usd
            if r.debtor is not None and r.creditor is not None:
                lia[self.index[r.debtor], self.index[r.creditor]] += r.amount_usd
        return x, lia

    @property
    def exposures(self) -> np.ndarray:
        return self.matrices()[0]

    @property
    def liabilities(self) -> np.ndarray:
        return self.matrices()[1]

    def info(self, entity: str) -> dict[str, Any]:
        """``{figure, as_of, source_url}`` of the figure ``entity``'s buffer came from."""
        i = self.index[entity]
        return dict(self.buffer_info[i]) if i < len(self.buffer_info) else dict(_NO_INFO)

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self.ids),
                "buffers": [{"id": e, "name": self.names.get(e, e), "buffer_usd": float(b),
                             "source": s, **self.info(e)}
                            for e, b, s in zip(self.ids, self.buffers, self.buffer_source, strict=True)],
                "exposures": [r.to_dict() for r in self.records], "skipped": self.skipped}


_NO_INFO: dict[str, Any] = {"figure": None, "as_of": None, "source_url": None}


def entity_table(entities: Any) -> dict[str, dict[str, Any]]:
    """Entity id -> its row, from a frame, a list of records or a mapping (None: empty)."""
    if entities is None:
        return {}
    if isinstance(entities, Mapping):
        return {str(k): dict(v) for k, v in entities.items()}
    rows = entities.to_dict("records") if is_frame(entities) else list(entities)
    out = {}
    for r in rows:
        eid = r.get("id", r.get("entity_id"))
        if eid is not None:
            out[str(eid)] = dict(r)
    return out


def _meta(ent: Mapping[str, Any], fld: str) -> dict[str, Any]:
    """``{as_of, basis, source_url}`` of one figure, from the entity's ``financials`` (empty: unknown)."""
    fin = ent.get("financials")
    meta = fin.get(fld) if isinstance(fin, Mapping) else None
    return {k: meta.get(k) for k in ("as_of", "basis", "source_url")} if isinstance(meta, Mapping) else {}


def _when(meta: Mapping[str, Any]) -> str:
    """`` 2025-11-30 (10-Q)``: a figure's date and basis, as far as known."""
    out = f" {meta['as_of']}" if meta.get("as_of") else ""
    return out + (f" ({meta['basis']})" if meta.get("basis") else "")


def _deficit(eq: float | None, meta: Mapping[str, Any]) -> str:
    """`` (equity -$1.6B at 2026-01-30)``: why an entity's buffer is a proxy."""
    return f" (equity {money(eq)}" + (f" at {meta['as_of']}" if meta.get("as_of") else "") + ")"


def _book_equity(ent: Mapping[str, Any]) -> tuple[float, str, dict[str, Any]] | None:
    """``total_assets_usd - total_liabilities_usd`` with its label and info, when both are known and it is positive."""
    assets, liabs = _num(ent.get("total_assets_usd")), _num(ent.get("total_liabilities_usd"))
    if assets is None or liabs is None or assets - liabs <= 0:
        return None
    ma, ml = _meta(ent, "total_assets_usd"), _meta(ent, "total_liabilities_usd")
    if ma.get("as_of") == ml.get("as_of") and ma.get("basis") == ml.get("basis"):
        label = "assets minus liabilities" + _when(ma)
    else:  # figures of different dates (each the latest of its field): say both
        label = f"assets{_when(ma)} minus liabilities{_when(ml)}"
    dates = [d for d in (ma.get("as_of"), ml.get("as_of")) if d]
    info = {"figure": "total_assets_usd - total_liabilities_usd",
            "as_of": min(dates) if dates else None,  # as old as its older part
            "source_url": ma.get("source_url") or ml.get("source_url")}
    return assets - liabs, label, info


def _buffers(ids: tuple[str, ...], ents: Mapping[str, Mapping[str, Any]], records: list[Exposure],
             revenue_share: float) -> tuple[np.ndarray, tuple[str, ...], tuple[dict[str, Any], ...]]:
    vals: list[float | None] = []
    src: list[str] = []
    info: list[dict[str, Any]] = []
    pct = f"{100 * revenue_share:g}%"
    for e in ids:
        ent = ents.get(e, {})
        eq = _num(ent.get("equity_usd"))
        rev = _num(ent.get("revenue_usd"))
        # a stated deficit (book equity at or below zero) gives no buffer, and no
        # assets-minus-liabilities of another date overrides it: a proxy stands in, and says why
        deficit = eq is not None and eq <= 0
        book = None if deficit else _book_equity(ent)
        why = _deficit(eq, _meta(ent, "equity_usd")) if deficit else ""
        if eq is not None and eq > 0:
            m = _meta(ent, "equity_usd")
            vals.append(eq)
            src.append("equity" + _when(m))
            info.append({"figure": "equity_usd", "as_of": m.get("as_of"), "source_url": m.get("source_url")})
        elif book is not None:
            vals.append(book[0])
            src.append(book[1])
            info.append(book[2])
        elif rev is not None and rev > 0 and revenue_share > 0:
            m = _meta(ent, "revenue_usd")
            vals.append(revenue_share * rev)
            src.append(f"proxy: {pct} of revenue" + _when(m) + why)
            info.append({"figure": "revenue_usd", "as_of": m.get("as_of"), "source_url": m.get("source_url")})
        else:
            vals.append(None)
            src.append(why)
            info.append(dict(_NO_INFO))
    known = [v for v in vals if v is not None]
    if known:
        med = float(np.median(known))
        label = f"proxy: median buffer of {len(known)} entit{'y' if len(known) == 1 else 'ies'}"
        for i, v in enumerate(vals):
            if v is None:
                vals[i], src[i] = med, label + src[i]
    else:
        stake = {e: 0.0 for e in ids}
        for r in records:
            stake[r.holder] += r.amount_usd
        for i, e in enumerate(ids):
            vals[i], src[i] = max(1.0, stake[e]), "proxy: own exposures" + src[i]
    return np.array(vals, dtype=float), tuple(src), tuple(info)


def build_exposures(deals: pd.DataFrame | Sequence[Mapping[str, Any]], entities: Any = None, *,
                    revenue_share: float = REVENUE_SHARE,
                    participants: Iterable[Mapping[str, Any]] | None = None) -> ExposureNetwork:
    """Exposures, liabilities and capital buffers from a deals frame (see the module docstring).

    ``deals``: columns ``deal_id, payer, payee, type, amount_usd, status``
    (``snapshot(store).deals``). ``entities``: list of dicts (``id``, ``name``,
    ``kind``, financials and their ``financials`` dates), a DataFrame, or a
    mapping id -> dict. ``participants`` (``snapshot(store).participants``;
    None or empty: no deal is split): the members of syndicated deals, who
    take their shares of the deal's exposures and debts
    (:func:`circfin.loops.members.member_parts`).
    Raises ValueError for a ``revenue_share`` outside [0, 1] or bad member shares.
    """
    rs = float(revenue_share)
    if not (math.isfinite(rs) and 0.0 <= rs <= 1.0):
        raise ValueError(f"revenue_share must be in [0, 1], got {revenue_share!r}")
    ents = entity_table(entities)
    if is_frame(deals):
        frame = deals if "deal_id" in deals.columns else deals.reset_index()
        rows = frame.to_dict("records")
    else:  # records, as the store returns them (snapshot(store).deal_rows)
        rows = list(deals)  # read, never changed
    parts = member_parts(participants, {str(r["deal_id"]): (str(r["payer"]), str(r["payee"])) for r in rows})
    ids = tuple(sorted({str(e) for e in ents} | {str(r["payer"]) for r in rows}
                       | {str(r["payee"]) for r in rows} | {p.member for ps in parts.values() for p in ps}))
    records: list[Exposure] = []
    skipped: list[dict[str, str]] = []
    for r in sorted(rows, key=lambda r: str(r["deal_id"])):
        did, typ, status = str(r["deal_id"]), str(r["type"]), str(r["status"])
        payer, payee = str(r["payer"]), str(r["payee"])
        rule = EXPOSURE_RULES.get(typ)
        if rule is None:
            skipped.append({"deal_id": did, "reason": f"type {typ} creates no exposure"})
            continue
        side, kind, statuses, owes = rule
        if status not in statuses:
            skipped.append({"deal_id": did, "reason": f"{typ} with status {status} carries nothing"})
            continue
        amount = _num(r.get("amount_usd"))
        if amount is None or amount <= 0:
            skipped.append({"deal_id": did, "reason": "amount undisclosed: counted as 0"})
            continue
        if payer == payee:
            skipped.append({"deal_id": did, "reason": "payer and payee are the same entity"})
            continue
        # a side without members is one whole part (basis "": not split, left out of ``split``)
        pay_parts = parts.get((did, "payer")) or [MemberPart("payer", payer, payer, 1.0, "")]
        get_parts = parts.get((did, "payee")) or [MemberPart("payee", payee, payee, 1.0, "")]
        for pp in pay_parts:
            for gp in get_parts:
                a, b, share = pp.member, gp.member, pp.share * gp.share
                split = tuple(x for x in (pp, gp) if x.share_basis)
                if a == b:
                    skipped.append({"deal_id": did, "reason": f"{a} is on both sides of its part "
                                                              f"({share:g} of the deal): counted as 0"})
                    continue
                holder, on = (a, b) if side == "payer" else (b, a)
                debtor = creditor = None
                if owes == "payee_owes":
                    debtor, creditor = b, a
                elif owes == "payer_owes":
                    debtor, creditor = a, b
                records.append(Exposure(did, typ, holder, on, kind, amount * share, debtor, creditor,
                                        share, split))
    buffers, source, info = _buffers(ids, ents, records, rs)
    names = {e: str(ents.get(e, {}).get("name") or e) for e in ids}
    kinds = {e: str(ents.get(e, {}).get("kind") or "other") for e in ids}
    return ExposureNetwork(ids=ids, names=names, kinds=kinds, records=records, buffers=buffers,
                           buffer_source=source, skipped=skipped, entities=ents, buffer_info=info)
