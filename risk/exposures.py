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

Capital buffers, per entity, in this order (``buffer_source`` says which):

1. ``"equity"``: its ``equity_usd``;
2. ``"proxy: 50% of revenue"``: ``revenue_share * revenue_usd`` (default
   share 0.5, a parameter);
3. ``"proxy: median buffer of N entities"``: the median of the buffers of
   the entities that have 1 or 2, for entities with neither;
4. ``"proxy: own exposures"``: when no entity at all has equity or revenue,
   what the entity itself has at stake (so one full loss wipes it out), at
   least $1.
"""

from __future__ import annotations

__all__ = ["EXPOSURE_RULES", "Exposure", "ExposureNetwork", "build_exposures"]

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
    ``debtor`` owes ``creditor`` that amount (both None when the deal creates no debt)."""

    deal_id: str
    type: str
    holder: str
    on: str
    kind: str  # equity, claim, revenue_at_risk
    amount_usd: float
    debtor: str | None
    creditor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"deal_id": self.deal_id, "type": self.type, "holder": self.holder, "on": self.on,
                "kind": self.kind, "amount_usd": self.amount_usd, "debtor": self.debtor,
                "creditor": self.creditor}


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

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self.ids),
                "buffers": [{"id": e, "name": self.names.get(e, e), "buffer_usd": float(b),
                             "source": s} for e, b, s in zip(self.ids, self.buffers, self.buffer_source, strict=True)],
                "exposures": [r.to_dict() for r in self.records], "skipped": self.skipped}


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def entity_table(entities: Any) -> dict[str, dict[str, Any]]:
    """Entity id -> its row, from a frame, a list of records or a mapping (None: empty)."""
    if entities is None:
        return {}
    if isinstance(entities, Mapping):
        return {str(k): dict(v) for k, v in entities.items()}
    rows = entities.to_dict("records") if isinstance(entities, pd.DataFrame) else list(entities)
    out = {}
    for r in rows:
        eid = r.get("id", r.get("entity_id"))
        if eid is not None:
            out[str(eid)] = dict(r)
    return out


def _buffers(ids: tuple[str, ...], ents: Mapping[str, Mapping[str, Any]], records: list[Exposure],
             revenue_share: float) -> tuple[np.ndarray, tuple[str, ...]]:
    vals: list[float | None] = []
    src: list[str] = []
    pct = f"{100 * revenue_share:g}%"
    for e in ids:
        eq = _num(ents.get(e, {}).get("equity_usd"))
        rev = _num(ents.get(e, {}).get("revenue_usd"))
        if eq is not None and eq > 0:
            vals.append(eq)
            src.append("equity")
        elif rev is not None and rev > 0 and revenue_share > 0:
            vals.append(revenue_share * rev)
            src.append(f"proxy: {pct} of revenue")
        else:
            vals.append(None)
            src.append("")
    known = [v for v in vals if v is not None]
    if known:
        med = float(np.median(known))
        label = f"proxy: median buffer of {len(known)} entit{'y' if len(known) == 1 else 'ies'}"
        for i, v in enumerate(vals):
            if v is None:
                vals[i], src[i] = med, label
    else:
        stake = {e: 0.0 for e in ids}
        for r in records:
            stake[r.holder] += r.amount_usd
        for i, e in enumerate(ids):
            vals[i], src[i] = max(1.0, stake[e]), "proxy: own exposures"
    return np.array(vals, dtype=float), tuple(src)


def build_exposures(deals: pd.DataFrame, entities: Any = None, *,
                    revenue_share: float = REVENUE_SHARE) -> ExposureNetwork:
    """Exposures, liabilities and capital buffers from a deals frame (see the module docstring).

    ``deals``: columns ``deal_id, payer, payee, type, amount_usd, status``
    (``snapshot(store).deals``). ``entities``: list of dicts (``id``, ``name``,
    ``kind``, financials), a DataFrame, or a mapping id -> dict. Raises
    ValueError for a ``revenue_share`` outside [0, 1].
    """
    rs = float(revenue_share)
    if not (math.isfinite(rs) and 0.0 <= rs <= 1.0):
        raise ValueError(f"revenue_share must be in [0, 1], got {revenue_share!r}")
    ents = entity_table(entities)
    frame = deals if "deal_id" in deals.columns else deals.reset_index()
    rows = frame.to_dict("records")
    ids = tuple(sorted({str(e) for e in ents} | {str(r["payer"]) for r in rows}
                       | {str(r["payee"]) for r in rows}))
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
        holder, on = (payer, payee) if side == "payer" else (payee, payer)
        debtor = creditor = None
        if owes == "payee_owes":
            debtor, creditor = payee, payer
        elif owes == "payer_owes":
            debtor, creditor = payer, payee
        records.append(Exposure(did, typ, holder, on, kind, amount, debtor, creditor))
    buffers, source = _buffers(ids, ents, records, rs)
    names = {e: str(ents.get(e, {}).get("name") or e) for e in ids}
    kinds = {e: str(ents.get(e, {}).get("kind") or "other") for e in ids}
    return ExposureNetwork(ids=ids, names=names, kinds=kinds, records=records, buffers=buffers,
                           buffer_source=source, skipped=skipped, entities=ents)
