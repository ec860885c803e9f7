"""How deep each institution, and each country's institutions, are in the AI web.

For every institution (by default the financial kinds: banks, private credit,
hedge funds, asset managers, sovereign funds), its direct exposure to a target
set of entities (by default every AI lab, chipmaker, hyperscaler, neocloud,
data-center company and SPV), from the deals, in dollars and against its own
equity, and the totals per country.

**Targets.** ``"ai"`` is the class of the AI web's kinds (``AI_KINDS``); entity ids
name entities; the two mix (``["ai", "openai"]``: the class and OpenAI). A named
entity brings its subsidiaries along: every entity whose chain of ``parent`` links
reaches it (OpenAI's Stargate LLC, xAI's GPU SPV), so exposure to OpenAI includes
exposure to what it owns; the report lists them (``subsidiaries``). Pass
``subsidiaries=False`` for the named entities alone.

The institution is the side of a deal that carries the credit or equity risk
(``INSTRUMENTS``), and the counterparty is in the target set:

=================  ==========================  ===========================================
deal type          the exposed side            what it holds
=================  ==========================  ===========================================
equity_investment  payer (investor)            equity of the payee
warrant            payee (holder)              an option on the payer's (issuer's) equity
loan               payer (lender)              a claim on the payee (borrower)
credit_facility    payer (lender)              a claim on the payee, drawn or committed
bond               payer (bond buyer)          a claim on the payee (issuer)
spv_financing      payer (financier)           debt or equity of the payee (the SPV)
capacity_backstop  payer (provider)            a contingent claim: it pays if the payee's
                                               capacity goes unsold
guarantee          payer (guarantor)           a contingent claim: it pays if the payee
                                               defaults
=================  ==========================  ===========================================

Not counted: compute, chip and cloud purchases, leases and revenue shares
(commercial deals: the seller carries the buyer's unpaid orders as revenue at
risk, which ``circfin shock`` models, but no investor, lender or guarantor is
exposed) and ``other``. A deal counts at the statuses the shock models count it
(signed, funded, completed: announced funding is not yet invested), with an
``up_to`` amount at its cap.

**Members.** When a side is a syndicate with members (``participants``), each
member carries its share of the deal, exactly as
:func:`~circfin.risk.exposures.build_exposures` splits it (arrangers take no
part; members without a share split what the disclosed shares leave equally,
an estimate that ``estimated_usd`` reports; what the shares leave stays with
the syndicate). A part counts when its counterparty, or the deal's own
counterparty (the syndicate or JV on the other side), is in the target set.

**Undisclosed amounts.** A deal that would count but has no amount adds 1 to
``undisclosed_deals`` of every institution that would carry a part of it.

**Equity.** ``equity_usd`` is the institution's latest equity figure on or
before the snapshot's date, else its book equity (total assets minus total
liabilities, when both are known and leave a positive amount), else None (and
``exposure_to_equity`` is None); ``equity_figure`` and ``equity_as_of`` say
which. A deficit (an equity figure at or below zero) is shown as it is, and
``exposure_to_equity`` is None: no share of a deficit means anything.

**Holdings.** An institution's holdings (the holdings table) of traded assets
that the target set issued -- its listed equity, its bonds -- count under the
instrument ``holdings``, at their reported value (the latest holding on or before
the snapshot's date), whatever ``confidences`` says (holdings carry no confidence);
each is listed in ``holdings`` with its date, capacity and source. A holding managed
for clients (capacity ``managed``: funds, trusts, custody, what a 13F lists) is
the clients' money, not the manager's: it is listed and summed in ``managed_usd``
but not counted in ``exposure_usd`` (nor set against the manager's equity).
"""

from __future__ import annotations

__all__ = ["AI_KINDS", "FINANCIAL_KINDS", "INSTRUMENTS", "CountryExposure", "ExposureReport",
           "InstitutionExposure", "exposure_by_institution"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..graph.model import ENTITY_KINDS
from ..loops.members import MemberPart, member_parts
from ..loops.members import finite_number as _num
from .exposures import EXPOSURE_RULES, _book_equity, _meta, build_exposures

AI_KINDS: tuple[str, ...] = ("ai_lab", "chipmaker", "hyperscaler", "neocloud", "datacenter", "spv")
FINANCIAL_KINDS: tuple[str, ...] = ("bank", "private_credit", "hedge_fund", "asset_manager", "sovereign_fund")

# deal type -> (the side whose party, or whose members, carry the exposure; what they hold)
INSTRUMENTS: dict[str, tuple[str, str]] = {
    "equity_investment": ("payer", "equity of the payee"),
    "warrant": ("payee", "an option on the payer's (issuer's) equity"),
    "loan": ("payer", "a claim on the payee (borrower)"),
    "credit_facility": ("payer", "a claim on the payee, drawn or committed"),
    "bond": ("payer", "a claim on the payee (issuer)"),
    "spv_financing": ("payer", "debt or equity of the payee (the SPV)"),
    "capacity_backstop": ("payer", "a contingent claim: it pays if the payee's capacity goes unsold"),
    "guarantee": ("payer", "a contingent claim: it pays if the payee defaults"),
}


@dataclass
class InstitutionExposure:
    """One institution's direct exposure to the target set."""

    id: str
    name: str
    kind: str
    country: str | None
    equity_usd: float | None
    equity_figure: str | None  # "equity_usd", "total_assets_usd - total_liabilities_usd" or None
    equity_as_of: str | None
    exposure_usd: float = 0.0
    estimated_usd: float = 0.0  # the part resting on equal-split (estimated) member shares
    by_instrument: dict[str, float] = field(default_factory=dict)
    undisclosed_deal_ids: list[str] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    holdings: list[dict[str, Any]] = field(default_factory=list)  # traded assets the target set issued
    managed_usd: float = 0.0  # holdings of the target set managed for clients: not in exposure_usd

    @property
    def undisclosed_deals(self) -> int:
        return len(self.undisclosed_deal_ids)

    @property
    def exposure_to_equity(self) -> float | None:
        return self.exposure_usd / self.equity_usd if self.equity_usd and self.equity_usd > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "country": self.country,
                "equity_usd": self.equity_usd, "equity_figure": self.equity_figure,
                "equity_as_of": self.equity_as_of, "exposure_usd": self.exposure_usd,
                "by_instrument": dict(self.by_instrument), "undisclosed_deals": self.undisclosed_deals,
                "exposure_to_equity": self.exposure_to_equity, "estimated_usd": self.estimated_usd,
                "undisclosed_deal_ids": list(self.undisclosed_deal_ids), "deals": list(self.deals),
                "holdings": list(self.holdings), "managed_usd": self.managed_usd}


@dataclass
class CountryExposure:
    """The institutions of one country (None: not known) together."""

    country: str | None
    exposure_usd: float
    institutions: int
    undisclosed_deals: int  # distinct deals without an amount that its institutions take part in
    managed_usd: float = 0.0  # holdings managed for clients: not in exposure_usd

    def to_dict(self) -> dict[str, Any]:
        return {"country": self.country, "exposure_usd": self.exposure_usd,
                "institutions": self.institutions, "undisclosed_deals": self.undisclosed_deals,
                "managed_usd": self.managed_usd}


@dataclass
class ExposureReport:
    """:func:`exposure_by_institution`'s answer: institutions by exposure, largest first,
    and countries by their institutions' total."""

    institutions: list[InstitutionExposure]
    by_country: list[CountryExposure]
    targets: tuple[str, ...]
    to: str  # "ai", the target ids, or both, joined by commas
    kinds: tuple[str, ...] | None
    as_of: str | None
    subsidiaries: dict[str, str] = field(default_factory=dict)  # subsidiary -> the named target above it

    @property
    def total_usd(self) -> float:
        return sum(i.exposure_usd for i in self.institutions)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "to": self.to, "targets": len(self.targets),
                "subsidiaries": [{"id": s, "of": p} for s, p in sorted(self.subsidiaries.items())],
                "kinds": None if self.kinds is None else list(self.kinds), "total_usd": self.total_usd,
                "institutions": [i.to_dict() for i in self.institutions],
                "by_country": [c.to_dict() for c in self.by_country]}


def _country(value: Any) -> str | None:
    text = str(value).strip().upper() if value is not None else ""
    return text or None


def _targets(to: str | Iterable[str], ents: Mapping[str, Mapping[str, Any]], subsidiaries: bool = True,
             ) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """(label, target ids, subsidiary id -> the named entity it belongs to)."""
    names = [to] if isinstance(to, str) else [str(x) for x in to]
    if not names:
        raise ValueError("to names no entity")
    ids = [x for x in dict.fromkeys(names) if x != "ai"]
    unknown = [x for x in ids if x not in ents]
    if unknown:
        raise ValueError(f"no entity with id {', '.join(map(repr, unknown))} in the graph")
    targets = set(ids)
    if "ai" in names:
        targets |= {e for e, r in ents.items() if r.get("kind") in AI_KINDS}
    owned: dict[str, str] = {}
    if subsidiaries and ids:
        named = set(ids)
        for e in ents:
            seen, up = {e}, ents[e].get("parent")
            while up and up not in seen:  # the nearest named ancestor
                if up in named:
                    if e not in named:
                        owned[e] = str(up)
                    break
                seen.add(up)
                up = ents.get(up, {}).get("parent")
        targets |= set(owned)
    label = ",".join(["ai", *ids] if "ai" in names else ids)
    return label, tuple(sorted(targets)), owned


def _equity(ent: Mapping[str, Any]) -> tuple[float | None, str | None, str | None]:
    eq = _num(ent.get("equity_usd"))
    if eq is not None:  # a deficit (at or below zero) too: shown, with no ratio against it
        return eq, "equity_usd", _meta(ent, "equity_usd").get("as_of")
    book = _book_equity(ent)
    if book is not None:
        return book[0], str(book[2]["figure"]), book[2]["as_of"]
    return None, None, None


def exposure_by_institution(snap: Any, *, to: str | Iterable[str] = "ai",
                            countries: Iterable[str] | None = None,
                            kinds: Iterable[str] | None = FINANCIAL_KINDS,
                            confidences: Iterable[str] | None = None,
                            subsidiaries: bool = True) -> ExposureReport:
    """Each institution's direct exposure to ``to``, and the totals per country (module docstring).

    ``snap``: a :class:`~circfin.loops.from_store.Snapshot` (``deals``,
    ``entities``, ``participants``, ``as_of``). ``to``: ``"ai"`` (every entity
    of a kind in ``AI_KINDS``), entity ids, or both (``["ai", "openai"]``).
    ``subsidiaries`` (default True): a named entity brings its subsidiaries along,
    every entity whose parent chain reaches it (``ExposureReport.subsidiaries``
    says which, and under whom). ``countries``: only institutions
    of these countries (ISO codes, any case; None: all). ``kinds``: only
    institutions of these kinds (None: every kind). ``confidences``: only
    deals of these confidences (``cli.common._min_confidence``; None: all).
    Raises ValueError for an unknown kind or target id, or bad member shares.
    """
    ents = {str(e["id"]): e for e in snap.entities}
    label, targets, owned = _targets(to, ents, subsidiaries)
    target_set = set(targets)
    kind_set: tuple[str, ...] | None = None
    if kinds is not None:
        kind_set = tuple(dict.fromkeys(kinds))
        bad = [k for k in kind_set if k not in ENTITY_KINDS]
        if bad:
            raise ValueError(f"unknown kind {', '.join(map(repr, bad))}; expected some of: "
                             f"{', '.join(ENTITY_KINDS)}")
    country_set = None if countries is None else {c for c in map(_country, countries) if c}

    allowed = None if confidences is None else set(confidences)
    deals = [r for r in snap.deal_rows
             if r["type"] in INSTRUMENTS and (allowed is None or r.get("confidence") in allowed)]
    rows = {str(r["deal_id"]): r for r in deals}

    def counterparty(did: str) -> str:
        r = rows[did]
        return str(r["payee"] if INSTRUMENTS[str(r["type"])][0] == "payer" else r["payer"])

    def wanted(holder: str) -> bool:
        e = ents.get(holder, {})
        if kind_set is not None and str(e.get("kind") or "other") not in kind_set:
            return False
        return country_set is None or _country(e.get("country")) in country_set

    out: dict[str, InstitutionExposure] = {}

    def institution(eid: str) -> InstitutionExposure:
        if eid not in out:
            e = ents.get(eid, {})
            eq, figure, as_of = _equity(e)
            out[eid] = InstitutionExposure(eid, str(e.get("name") or eid), str(e.get("kind") or "other"),
                                           _country(e.get("country")), eq, figure, as_of)
        return out[eid]

    participants = [p for p in snap.participants if str(p.get("deal_id")) in rows]
    if rows:
        net = build_exposures(deals, snap.entities, participants=participants)
        for rec in net.records:
            if rec.on not in target_set and counterparty(rec.deal_id) not in target_set:
                continue
            if not wanted(rec.holder):
                continue
            inst = institution(rec.holder)
            inst.exposure_usd += rec.amount_usd
            inst.by_instrument[rec.type] = inst.by_instrument.get(rec.type, 0.0) + rec.amount_usd
            if rec.estimate:
                inst.estimated_usd += rec.amount_usd
            inst.deals.append({"deal_id": rec.deal_id, "type": rec.type, "on": rec.on,
                               "amount_usd": rec.amount_usd, "share": rec.share,
                               "share_basis": rec.share_basis})

    # holdings of traded assets the target set issued (its listed equity, its bonds), at
    # their reported value: the latest holding on or before the as-of date
    issuer = {str(a["asset_id"]): a.get("issuer") for a in getattr(snap, "assets", None) or []}
    for h in getattr(snap, "holdings", None) or []:
        holder, asset = str(h["holder"]), str(h["asset"])
        if issuer.get(asset) not in target_set or not wanted(holder):
            continue
        value = float(h["value_usd"])
        capacity = str(h.get("capacity") or "own")
        inst = institution(holder)
        if capacity == "managed":  # the clients' money: listed, not against the manager's equity
            inst.managed_usd += value
        else:
            inst.exposure_usd += value
            inst.by_instrument["holdings"] = inst.by_instrument.get("holdings", 0.0) + value
        inst.holdings.append({"asset": asset, "issuer": issuer[asset], "value_usd": value,
                              "capacity": capacity, "as_of": h.get("as_of"),
                              "source_url": h.get("source_url")})

    # undisclosed amounts: who would carry a part
    parts = member_parts(participants, {d: (str(r["payer"]), str(r["payee"])) for d, r in rows.items()})
    for did, r in sorted(rows.items()):
        typ, payer, payee = str(r["type"]), str(r["payer"]), str(r["payee"])
        amount = _num(r.get("amount_usd"))
        if (amount is not None and amount > 0) or payer == payee:
            continue
        if str(r["status"]) not in EXPOSURE_RULES[typ][2]:
            continue
        side = INSTRUMENTS[typ][0]
        other = "payee" if side == "payer" else "payer"
        mine = parts.get((did, side)) or [MemberPart(side, str(r[side]), str(r[side]), 1.0, "")]
        theirs = parts.get((did, other)) or [MemberPart(other, str(r[other]), str(r[other]), 1.0, "")]
        cp_in = str(r[other]) in target_set
        for hp in mine:
            if not wanted(hp.member):
                continue
            if any(tp.member != hp.member and (cp_in or tp.member in target_set) for tp in theirs):
                inst = institution(hp.member)
                if did not in inst.undisclosed_deal_ids:
                    inst.undisclosed_deal_ids.append(did)

    insts = sorted(out.values(), key=lambda i: (-i.exposure_usd, -i.undisclosed_deals, -i.managed_usd, i.id))
    for i in insts:
        i.deals.sort(key=lambda d: (-d["amount_usd"], d["deal_id"]))
        i.by_instrument = dict(sorted(i.by_instrument.items(), key=lambda kv: (-kv[1], kv[0])))
    countries_: dict[str | None, CountryExposure] = {}
    hidden: dict[str | None, set[str]] = {}
    for i in insts:
        c = countries_.setdefault(i.country, CountryExposure(i.country, 0.0, 0, 0))
        c.exposure_usd += i.exposure_usd
        c.managed_usd += i.managed_usd
        c.institutions += 1
        hidden.setdefault(i.country, set()).update(i.undisclosed_deal_ids)
        c.undisclosed_deals = len(hidden[i.country])  # a deal once per country
    by_country = sorted(countries_.values(), key=lambda c: (-c.exposure_usd, c.country is None, c.country or ""))
    return ExposureReport(insts, by_country, targets, label, kind_set, getattr(snap, "as_of", None), owned)
