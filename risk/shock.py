"""Shock one entity and follow the losses through the deals, with and without its loops.

:func:`shock` reads the store, builds the exposure network
(:mod:`circfin.risk.exposures`: the members of a syndicated deal carry their
shares of it, and every hit says which dated figure its capital buffer came
from), and runs one of two models:

``model="debtrank"`` (default)
    The shocked entity loses ``loss`` of its capital buffer (``h_S(1) =
    loss``); distress travels along ``exposures`` by
    :func:`~circfin.risk.debtrank`, by default its *linear* dynamics
    (Bardoscia et al. 2015), which pass on every increment of distress and
    so count losses that come back round a loop (``method="original"``
    passes each entity's distress on once). An entity's USD loss is its
    distress times its buffer.
``model="clearing"``
    Eisenberg-Noe / Rogers-Veraart clearing (:func:`~circfin.risk.clearing_vector`)
    on ``liabilities``. Every entity's external assets are set so that its
    equity before the shock equals its buffer, ``e_i = buffer_i + owed_i -
    owed_to_i`` (0 at least); the shocked entity loses ``loss`` of its
    external assets. An entity's USD loss is the fall of its equity, at
    most its pre-shock equity; its distress is that loss over its pre-shock
    equity. Its round is 0 for the shocked entity; the fictitious-default
    round in which it defaulted (1: insolvent even if everyone else paid,
    2 and on: by contagion); or, for a creditor that loses without
    defaulting, the earliest default round of its debtors.

**Loop amplification.** For every loop through the shocked entity S (found
by :func:`~circfin.loops.from_store.loops_from_store`, deals that count by
default: all but cancelled), the loop's leg that returns *into* S (the leg
whose payee is S) is cut, and the same shock is run again:

* debtrank: the exposures the cut leg's deals create are dropped;
* clearing: the cut leg's debts are settled outside the network -- the
  creditor keeps them as an external asset at face value and the debtor
  still owes them, to an external creditor -- so the cut changes who bears
  a shortfall, not anyone's balance sheet before the shock.

``amplification = total_loss_usd / cut_total_loss_usd`` (losses of all
entities, the shocked one included; 1.0 when both are 0). Both cuts can
only remove ways for losses to travel: with clearing the cut's payments are
never lower (the clearing map only rises, so does its greatest fixed
point), and with linear DebtRank no entity's distress is higher after the
cut (checked on random networks in the tests), so the amplification is
never below 1. The original DebtRank can break this: an entity distressed
later passes on more. Distress travels against the
money for funding deals (an investor loses when its investee fails) and
with it for purchases (a seller loses its buyer's unpaid orders), so a
loop amplifies S's shock through the cut leg only when that leg makes S
exposed to its payer: a purchase into S, for example. When S is wiped out
(``loss=1``) nothing can add to its own loss and the amplification comes
from the other members only. ``self_feedback_usd`` is what S loses beyond
its initial loss, by any path back to it (a loop's legs out of S included:
an investor's stake in the company its shock hits).

**Margin calls.** Hedge funds (entities of kind ``hedge_fund``) that hold
equity stakes (``equity_investment`` or ``warrant`` deals, see
:data:`MARGIN_HOLDER_TYPES`) in S or in the members of S's loops are
leveraged holders: their stakes are marked down by each member's distress
and :func:`~circfin.risk.margin_spiral` runs on them, with the
:data:`MARGIN_DEFAULTS`: ``haircut`` 0.25 (at most 4x leverage),
``leverage`` 3.0 (a holder without ``equity_usd`` is assumed to hold its
stakes with equity = positions / 3, labelled as a proxy), ``depth`` 1.0
(price impact ``1 / (depth * market value)`` per USD sold, the market
value being ``market_cap_usd`` or else the member's buffer: selling 1 % of
a company's value moves its price by 1 %) and linear impact.
"""

from __future__ import annotations

__all__ = ["MARGIN_DEFAULTS", "MARGIN_HOLDER_TYPES", "MODELS", "Hit", "ShockResult",
           "propagate", "shock", "shock_summary"]

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..graph.model import Loop
from .clearing import clearing_vector
from .debtrank import debtrank
from .exposures import REVENUE_SHARE, ExposureNetwork, build_exposures
from .margin import margin_spiral

MODELS: tuple[str, ...] = ("debtrank", "clearing")
MARGIN_HOLDER_TYPES: tuple[str, ...] = ("equity_investment", "warrant")
MARGIN_DEFAULTS: dict[str, Any] = {"haircut": 0.25, "leverage": 3.0, "depth": 1.0, "impact": "linear"}
_EPS = 1e-12


@dataclass(frozen=True)
class Hit:
    """One entity's loss: with the loops, and with the loop-closing legs cut."""

    id: str
    name: str
    distress: float  # relative loss in [0, 1]
    loss_usd: float
    round: int  # 0 = the shocked entity
    buffer_usd: float
    buffer_source: str
    distress_cut: float
    loss_cut_usd: float
    # the figure its buffer came from (equity_usd, revenue_usd, ...; None for a median or
    # own-exposure proxy), that figure's date and source (None when unknown)
    buffer_figure: str | None = None
    buffer_as_of: str | None = None
    buffer_source_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "distress": self.distress, "loss_usd": self.loss_usd,
                "round": self.round, "buffer_usd": self.buffer_usd, "buffer_source": self.buffer_source,
                "buffer_figure": self.buffer_figure, "buffer_as_of": self.buffer_as_of,
                "buffer_source_url": self.buffer_source_url,
                "distress_without_loops": self.distress_cut, "loss_without_loops_usd": self.loss_cut_usd}


@dataclass
class ShockResult:
    """Who is hit by a shock to ``entity``, by how much, in which round, and the loops' share."""

    entity: str
    name: str
    model: str
    loss: float
    hits: list[Hit]
    rounds: int
    total_loss_usd: float
    network_loss_usd: float  # on top of the shocked entity's initial loss
    cut_total_loss_usd: float
    cut_network_loss_usd: float
    amplification: float | None  # None: losses only with the loops (the cut run lost nothing)
    self_feedback_usd: float  # what the shocked entity loses beyond its initial loss
    loops: list[str]
    cut_legs: list[dict[str, Any]]
    margin: dict[str, Any] | None = None
    margin_note: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    # False when a time or loop budget cut the loop search: ``loops`` and
    # ``cut_legs`` are then those found in time, and ``note`` says what was cut.
    complete: bool = True
    note: str | None = None

    @property
    def distress(self) -> dict[str, float]:
        return {h.id: h.distress for h in self.hits}

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "name": self.name, "model": self.model, "loss": self.loss,
                "rounds": self.rounds, "total_loss_usd": self.total_loss_usd,
                "network_loss_usd": self.network_loss_usd,
                "without_loops": {"total_loss_usd": self.cut_total_loss_usd,
                                  "network_loss_usd": self.cut_network_loss_usd},
                "amplification": self.amplification, "self_feedback_usd": self.self_feedback_usd,
                "loops": self.loops, "cut_legs": self.cut_legs,
                "hits": [h.to_dict() for h in self.hits], "margin": self.margin,
                "margin_note": self.margin_note, "params": self.params,
                "complete": self.complete, "truncated": self.note}


def _unit(v: float, name: str) -> float:
    f = float(v)
    if not (math.isfinite(f) and 0.0 <= f <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    return f


def _cut_legs(entity: str, loops: Iterable[Loop]) -> tuple[list[str], list[dict[str, Any]], set[str]]:
    keys: list[str] = []
    legs: dict[str, dict[str, Any]] = {}
    for lp in loops:
        if entity not in lp.ids:
            continue
        keys.append(lp.key)
        for leg in lp.legs:
            if leg.payee_id == entity:
                rec = legs.setdefault(leg.payer_id, {"payer_id": leg.payer_id, "payer": leg.payer,
                                                     "payee_id": entity, "deal_ids": set(), "loops": []})
                rec["deal_ids"] |= set(leg.deal_ids)
                rec["loops"].append(lp.key)
    out = [{**r, "deal_ids": sorted(r["deal_ids"]), "loops": sorted(r["loops"])}
           for _, r in sorted(legs.items())]
    return sorted(keys), out, {d for r in out for d in r["deal_ids"]}


def _debtrank_run(net: ExposureNetwork, s: int, loss: float, cut: set[str], method: str
                  ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]:
    x, _ = net.matrices()
    xc, _ = net.matrices(exclude=cut)
    h1 = np.zeros(net.n)
    h1[s] = loss
    r = debtrank(x, net.buffers, h1, method=method)
    rc = debtrank(xc, net.buffers, h1, method=method)
    base = net.buffers
    return (np.asarray(r.distress), np.asarray(rc.distress), np.asarray(r.first_hit_round), r.rounds), base


def _clearing_run(net: ExposureNetwork, s: int, loss: float, cut: set[str], alpha: float, beta: float
                  ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]:
    _, lia = net.matrices()
    _, lia_c = net.matrices(exclude=cut)
    owed, owed_to = lia.sum(axis=1), lia.sum(axis=0)
    e0 = np.maximum(0.0, net.buffers + owed - owed_to)
    base = e0 + owed_to - owed  # equity before the shock: the buffer, unless e0 was clipped
    e = e0.copy()
    e[s] *= 1.0 - loss
    moved = lia - lia_c  # the cut legs' debts, settled outside the network
    e_c = e + moved.sum(axis=0)
    ext_c = moved.sum(axis=1)
    res = clearing_vector(lia, e, alpha=alpha, beta=beta)
    res_c = clearing_vector(lia_c, e_c, external_liabilities=ext_c, alpha=alpha, beta=beta)

    def distress(eq: np.ndarray) -> np.ndarray:
        lost = np.clip(base - eq, 0.0, base)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(base > 0, lost / np.where(base > 0, base, 1.0), 0.0)

    h, hc = distress(np.asarray(res.equity)), distress(np.asarray(res_c.equity))
    rounds = np.full(net.n, -1, dtype=np.int64)
    dr = np.asarray(res.default_round)
    rounds[dr > 0] = dr[dr > 0]
    for i in np.flatnonzero((h > _EPS) & (rounds < 0)):
        debtors = np.flatnonzero((lia[:, i] > 0) & (dr > 0))
        if debtors.size:
            rounds[i] = int(dr[debtors].min())
    rounds[s] = 0
    return (h, hc, rounds, res.rounds), base


def _margin(net: ExposureNetwork, s: str, members: set[str], distress: np.ndarray,
            params: Mapping[str, Any], holder_types: tuple[str, ...]) -> tuple[dict[str, Any] | None, str]:
    p = {**MARGIN_DEFAULTS, **params}
    haircut, leverage, depth = float(p["haircut"]), float(p["leverage"]), float(p["depth"])
    if not (math.isfinite(haircut) and 0 < haircut <= 1):
        raise ValueError(f"haircut must be in (0, 1], got {p['haircut']!r}")
    if not (math.isfinite(leverage) and leverage >= 1):
        raise ValueError(f"leverage must be >= 1, got {p['leverage']!r}")
    if not (math.isfinite(depth) and depth > 0):
        raise ValueError(f"depth must be > 0, got {p['depth']!r}")
    funds = {e for e in net.ids if net.kinds.get(e) == "hedge_fund"}
    pos = [r for r in net.records if r.holder in funds and r.on in members and r.type in holder_types]
    if not pos:
        other = [r for r in net.records if r.holder in funds and r.on in members]
        note = f"no hedge fund holds {' or '.join(holder_types)} stakes in {net.names.get(s, s)} or its loops' members"
        if other:
            note += "; other hedge-fund positions (not margin positions): " + ", ".join(
                f"{net.names[r.holder]} {r.type} {r.deal_id} on {net.names[r.on]}" for r in other)
        return None, note
    holders = sorted({r.holder for r in pos})
    assets = sorted({r.on for r in pos})
    hx = np.zeros((len(holders), len(assets)))
    for rec in pos:
        hx[holders.index(rec.holder), assets.index(rec.on)] += rec.amount_usd
    eq, eq_src = [], []
    for i, h in enumerate(holders):
        known = net.entities.get(h, {}).get("equity_usd")
        try:
            kv = float(known) if known is not None else math.nan
        except (TypeError, ValueError):
            kv = math.nan
        if math.isfinite(kv) and kv > 0:
            eq.append(kv)
            eq_src.append("equity")
        else:
            eq.append(hx[i].sum() / leverage)
            eq_src.append(f"proxy: positions / {leverage:g}")
    price_shock = np.array([distress[net.index[a]] for a in assets])
    mv = []
    for a in assets:
        cap = net.entities.get(a, {}).get("market_cap_usd")
        try:
            c = float(cap) if cap is not None else math.nan
        except (TypeError, ValueError):
            c = math.nan
        mv.append(c if math.isfinite(c) and c > 0 else float(net.buffers[net.index[a]]))
    impact = 1.0 / (depth * np.array(mv))
    spiral = margin_spiral(hx, eq, price_shock, haircut=haircut, price_impact=impact,
                           impact=str(p["impact"]))
    return {
        "holders": [{"id": h, "name": net.names[h], "position_usd": float(hx[i].sum()),
                     "equity_usd": float(eq[i]), "equity_source": eq_src[i],
                     "called_round": int(spiral.called_round[i]),
                     "sale_fraction": float(spiral.sale_fraction[i]),
                     "equity_after_usd": float(spiral.equity[i]),
                     "wiped_out": bool(spiral.wiped_out[i])}
                    for i, h in enumerate(holders)],
        "assets": [{"id": a, "name": net.names[a], "price_shock": float(price_shock[j]),
                    "price_after": float(spiral.prices[j])} for j, a in enumerate(assets)],
        "deal_ids": sorted({x.deal_id for x in pos}), "rounds": spiral.rounds,
        "converged": spiral.converged,
        "params": {"haircut": haircut, "leverage": leverage, "depth": depth, "impact": p["impact"]},
    }, f"{len(holders)} leveraged holder(s) of the loops' members"


def propagate(net: ExposureNetwork, entity: str, loops: Iterable[Loop], *, loss: float = 1.0,
              model: str = "debtrank", method: str = "linear", alpha: float = 1.0, beta: float = 1.0,
              margin: Mapping[str, Any] | None = None,
              holder_types: Iterable[str] = MARGIN_HOLDER_TYPES) -> ShockResult:
    """The shock model on a built network (see the module docstring); :func:`shock` reads a store.

    ``loops``: the loops to cut (those through ``entity`` are used). Raises
    ValueError for a bad ``loss``, ``model``, ``method``, ``alpha``/``beta``
    or margin parameter, or an entity not in the network.
    """
    loss = _unit(loss, "loss")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if entity not in net.index:
        raise ValueError(f"entity {entity!r} is not in the network")
    loops = list(loops)
    keys, cut_legs, cut = _cut_legs(entity, loops)
    s = net.index[entity]
    if model == "debtrank":
        (h, hc, first, rounds), base = _debtrank_run(net, s, loss, cut, method)
        initial = loss * base[s]
    else:
        (h, hc, first, rounds), base = _clearing_run(net, s, loss, cut, _unit(alpha, "alpha"),
                                                     _unit(beta, "beta"))
        e0 = max(0.0, float(net.buffers[s] + net.liabilities[s].sum() - net.liabilities[:, s].sum()))
        initial = min(float(base[s]), loss * e0)
    loss_usd, loss_cut = h * base, hc * base
    total, total_c = float(loss_usd.sum()), float(loss_cut.sum())
    if total_c > _EPS:
        amp: float | None = total / total_c
    else:
        amp = 1.0 if total <= _EPS else None
    hit_idx = sorted(np.flatnonzero((h > _EPS) | (hc > _EPS)), key=lambda i: (-loss_usd[i], net.ids[i]))
    hits = [Hit(id=net.ids[i], name=net.names[net.ids[i]], distress=float(h[i]), loss_usd=float(loss_usd[i]),
                round=int(first[i]), buffer_usd=float(base[i]), buffer_source=net.buffer_source[i],
                distress_cut=float(hc[i]), loss_cut_usd=float(loss_cut[i]),
                buffer_figure=net.info(net.ids[i])["figure"], buffer_as_of=net.info(net.ids[i])["as_of"],
                buffer_source_url=net.info(net.ids[i])["source_url"]) for i in hit_idx]
    members = {entity} | {e for lp in loops if entity in lp.ids for e in lp.ids}
    margin_res, note = _margin(net, entity, members, h, margin or {}, tuple(holder_types))
    return ShockResult(
        entity=entity, name=net.names[entity], model=model, loss=loss, hits=hits, rounds=int(rounds),
        total_loss_usd=total, network_loss_usd=max(0.0, total - initial), cut_total_loss_usd=total_c,
        cut_network_loss_usd=max(0.0, total_c - initial), amplification=amp,
        self_feedback_usd=max(0.0, float(loss_usd[s]) - initial), loops=keys,
        cut_legs=cut_legs, margin=margin_res, margin_note=note,
        params={"method": method if model == "debtrank" else None,
                "alpha": alpha if model == "clearing" else None,
                "beta": beta if model == "clearing" else None,
                "holder_types": list(holder_types)})


def shock(store: Any, entity: str, *, loss: float = 1.0, model: str = "debtrank", engine: str = "auto",
          max_len: int = 6, method: str = "linear", alpha: float = 1.0, beta: float = 1.0,
          revenue_share: float = REVENUE_SHARE, margin: Mapping[str, Any] | None = None,
          holder_types: Iterable[str] = MARGIN_HOLDER_TYPES, budget: Any = None,
          as_of: Any = None, confidences: Iterable[str] | None = None) -> ShockResult:
    """Shock ``entity`` (id, name or alias) in the store's graph and follow the losses.

    ``loss``: the share of its buffer (debtrank) or external assets
    (clearing) it loses, in [0, 1]. ``engine`` and ``max_len`` choose how
    the loops through it are found (:func:`~circfin.loops.from_store.loops_from_store`).
    Raises InputError for an unknown entity, ValueError for bad numbers.
    ``budget`` (:class:`circfin.loops.from_store.Budget`, default its default limits)
    bounds the loop search; a cut search gives ``complete=False`` and a ``note``.
    ``as_of`` (a date; None: everything): the deals, statuses and financials as of that day.
    ``confidences`` (None: all): only deals of these confidences count, in the exposures
    and in the loops (``--min-confidence``).
    """
    from ..loops.from_store import loops_from_store, resolve_entity, snapshot

    snap = snapshot(store, as_of=as_of, confidences=confidences)
    eid = resolve_entity(entity, snap.entities)
    loops, complete, note = loops_from_store(store, engine=engine, max_len=max_len, entity=eid,
                                             budget=budget, snap=snap, reserve_per_loop=5e-5)
    net = build_exposures(snap.deal_rows, snap.entities, revenue_share=revenue_share,
                          participants=snap.participants)
    res = propagate(net, eid, loops, loss=loss, model=model, method=method, alpha=alpha, beta=beta,
                    margin=margin, holder_types=holder_types)
    res.complete, res.note = complete, note
    return res


def shock_summary(store: Any, *, top: int = 5, loss: float = 1.0, model: str = "debtrank",
                  engine: str = "auto", max_len: int = 6, as_of: Any = None,
                  confidences: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per hub (the ``top`` largest by disclosed volume, :func:`circfin.analytics.measures.hubs`):
    the shock to it and what its loops add. Plain records for the periodic report.
    ``as_of`` (a date; None: everything): the graph as of that day. ``confidences``
    (None: all): only deals of these confidences count."""
    from ..analytics import measures as analytics
    from ..loops.from_store import DEFAULT_STATUSES, loops_from_store, snapshot

    if top < 0:
        raise ValueError(f"top must be >= 0, got {top!r}")
    hubs = analytics.hubs(store, status=DEFAULT_STATUSES, limit=top, as_of=as_of,
                          confidences=confidences)
    if not hubs:
        return []
    snap = snapshot(store, as_of=as_of, confidences=confidences)
    found, _, _ = loops_from_store(store, engine=engine, max_len=max_len, snap=snap)
    loops = list(found)  # one pass over the engine's result; every hub reads it again
    net = build_exposures(snap.deal_rows, snap.entities, participants=snap.participants)
    rows = []
    for hub in hubs:
        r = propagate(net, hub["id"], loops, loss=loss, model=model)
        others = [h for h in r.hits if h.id != r.entity]
        rows.append({"entity": r.name, "id": r.entity, "model": model, "loops": len(r.loops),
                     "hit": len([h for h in others if h.distress > _EPS]),
                     "loss_usd": r.total_loss_usd, "without_loops_usd": r.cut_total_loss_usd,
                     "amplification": None if r.amplification is None else round(r.amplification, 4),
                     "most_hit": others[0].name if others else "",
                     "margin_calls": (sum(1 for h in r.margin["holders"] if h["called_round"] > 0)
                                      if r.margin else 0)})
    return rows
