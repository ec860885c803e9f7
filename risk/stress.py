"""One scenario, every channel: price shocks, partial payers and stablecoin runs,
followed through credit, fire sales and margin calls, round by round.

A scenario (:func:`load_scenario`, a YAML file) names:

* ``shocks``: price falls, each ``{asset: ID, fall: F}``, ``{class: CLASS, fall: F}``
  or ``{equity_of: ai | [ENTITY, ...], fall: F}`` (the listed equity of the AI web's
  entities, by kind as in ``circfin exposure``, or of the entities named). A later
  line does not add to an earlier one: an asset falls by the largest fall that names it.
* ``partial_payers``: ``{entity: E, pays: P}``: E pays only ``P`` of what it owes.
* ``redemptions``: ``{issuer: E, share: R}``: ``R`` of E's total liabilities are
  redeemed and E sells its holdings, pro rata, to pay them (forced sales, at most
  what it holds).
* ``channels`` (default all three): ``credit``, ``fire_sale``, ``margin``;
  ``credit`` (default ``both``): the credit model, ``clearing``, ``debtrank`` or
  ``both``; ``rounds`` (default 10): the round limit.

Each round t (:func:`run_stress`), with ``ds`` the price fall not yet felt:

1. **price / fire_sale**: every holder loses ``holdings @ ds``: the scenario's own
   shock in round 1 (channel ``price``), the price fall caused by the previous
   round's sales after that (channel ``fire_sale``).
2. **fire_sale** (:func:`circfin.risk.fire_sale`, Greenwood-Landier-Thesmar): banks and
   private-credit lenders with known total assets and equity target their leverage:
   they sell ``leverage x`` their losses of the round (from every channel), pro rata
   to their holdings; redemptions enter as forced sales in round 1. Others hold.
3. **margin** (:func:`circfin.risk.margin_spiral`): hedge funds hold their positions on
   margin (haircut 0.25; without ``equity_usd`` their equity is a third of their
   holdings, as in ``circfin shock``); what their forced sales add to the price fall
   and to their own loss is the margin channel.
4. **credit**, on the deal exposures and debts of :mod:`circfin.risk.exposures`
   (syndicate members carrying their shares), with the same capital buffers:

   * **clearing** (Eisenberg-Noe, :func:`circfin.risk.clearing_vector`, on the debts:
     loans, credit facilities, bonds, SPV financing, unpaid purchase commitments,
     leases and revenue shares): each entity's balance sheet is set so that, with
     everyone paying in full, its net worth is its buffer less every loss so far
     (from the other channels and from DebtRank): external assets ``buffer - lost +
     owed - owed to it``, or, when that is negative, as much outside debt, which
     ranks with its debts in the web. A partial payer that pays ``P`` owes only
     ``P`` of each debt. Whoever cannot pay in full defaults and pays its creditors
     pro rata; a creditor's credit loss is what it is owed and not paid (at most
     its claims). Defaults travel on within the round (the clearing vector is a
     fixed point); ``defaults`` lists who ends up not paying in full.
   * **debtrank** (linear DebtRank, :func:`circfin.risk.debtrank`, on every
     exposure): each entity's losses so far (clearing's included), over its capital
     buffer, are its distress, and a partial payer that pays ``P`` is distressed by
     ``1 - P`` (whoever is exposed to it loses ``1 - P`` of that exposure, each link
     at most the exposed entity's buffer; it does not lose that itself).
   * **both** (the default): clearing on the debts, DebtRank on what is no debt
     (equity stakes, warrants, backstops and guarantees), each fed the other's losses.

   What the models add is the credit loss of the round.

**Whose money.** Only a holder's ``own`` holdings (its balance sheet) enter the
rounds: they lose value, are sold by leverage targeters and on margin calls, and
are what a redeemed issuer sells. A ``managed`` holding (held for clients: funds,
trusts, custody, what a 13F lists) is the clients' money: its loss at the
scenario's final prices is reported apart, by manager (``managed``,
``managed_loss_usd``), and never touches the manager's buffer, its sales or the
total loss; the manager does not leverage-sell it (redemption-driven selling by
funds is another channel, not modelled).

The price falls of steps 2 and 3 are the next round's ``ds``; credit losses feed the
next round's sales. Rounds stop when no loss moves by more than $1, or at the limit.
Prices are linear in sales (``1 / depth`` per dollar, depth from the assets table or
its defaults): a fall above 100 % reads as "wiped out" and is capped at 100 %.

**Loop amplification**, as ``circfin shock``: the same scenario is run again with the
closing legs of the loops through the entities it hits directly (partial payers,
redeemed issuers and the issuers of shocked equities) cut -- every leg of such a loop
that enters a directly hit member; ``amplification = total loss / total loss cut``.
"""

from __future__ import annotations

__all__ = ["CHANNELS", "CREDIT_MODELS", "Scenario", "StressResult", "load_scenario", "run_stress", "stress"]

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, RowError, ValidationError
from ..graph.model import ASSET_CLASSES
from .clearing import clearing_vector
from .debtrank import debtrank
from .exposures import build_exposures
from .firesale import fire_sale
from .margin import margin_spiral

CHANNELS: tuple[str, ...] = ("credit", "fire_sale", "margin")
CREDIT_MODELS: tuple[str, ...] = ("both", "clearing", "debtrank")
LOSS_KINDS: tuple[str, ...] = ("price", "credit", "fire_sale", "margin")
LEVERAGE_TARGETERS: tuple[str, ...] = ("bank", "private_credit")
MARGIN_HAIRCUT = 0.25
MARGIN_LEVERAGE = 3.0
_AI_KINDS = ("ai_lab", "chipmaker", "hyperscaler", "neocloud", "datacenter", "spv")
_TOL_USD = 1.0


@dataclass
class Scenario:
    name: str
    description: str = ""
    shocks: list[dict[str, Any]] = field(default_factory=list)
    partial_payers: list[dict[str, Any]] = field(default_factory=list)
    redemptions: list[dict[str, Any]] = field(default_factory=list)
    channels: tuple[str, ...] = CHANNELS
    rounds: int = 10
    credit: str = "both"
    path: str = "<scenario>"


# -- reading a scenario -----------------------------------------------------------------

def _fraction(v: Any, path: str, line: int, fld: str, errors: list[RowError]) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        errors.append(RowError(path, line, fld, f"{v!r} is not a number"))
        return None
    if not 0 <= f <= 1:
        errors.append(RowError(path, line, fld, f"{v!r} is not a fraction in [0, 1]"))
        return None
    return f


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; every problem as ``file:line: field``
    (ValidationError, an InputError)."""
    import yaml

    p = Path(path)
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{name}: cannot read the scenario: {e}") from e
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ValidationError([RowError(name, line, None, f"not valid YAML: {getattr(e, 'problem', e)}")]) from e
    if not isinstance(root, yaml.MappingNode):
        raise ValidationError([RowError(name, 1, None, "a scenario is a YAML mapping (name, shocks, ...)")])
    errors: list[RowError] = []

    def scalar(node: Any, fld: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            errors.append(RowError(name, node.start_mark.line + 1, fld, "must be a single value"))
            return None
        return node.value

    def items(node: Any, fld: str) -> list[tuple[int, dict[str, Any]]]:
        if not isinstance(node, yaml.SequenceNode):
            errors.append(RowError(name, node.start_mark.line + 1, fld, "must be a list of mappings"))
            return []
        out = []
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                errors.append(RowError(name, item.start_mark.line + 1, fld, "each item is a mapping"))
                continue
            row: dict[str, Any] = {}
            for k, val in item.value:
                if isinstance(val, yaml.SequenceNode):
                    row[k.value] = [scalar(x, f"{fld}.{k.value}") for x in val.value]
                else:
                    row[k.value] = scalar(val, f"{fld}.{k.value}")
            out.append((item.start_mark.line + 1, row))
        return out

    sc = Scenario(name=p.stem, path=name)
    seen: set[str] = set()
    for knode, vnode in root.value:
        key, line = knode.value, knode.start_mark.line + 1
        if key in seen:
            errors.append(RowError(name, line, key, "given twice"))
            continue
        seen.add(key)
        if key in ("name", "description"):
            v = scalar(vnode, key)
            if v is not None:
                setattr(sc, key, str(v))
        elif key == "rounds":
            v = scalar(vnode, key)
            if v is not None and (not str(v).isdigit() or not 1 <= int(v) <= 1000):
                errors.append(RowError(name, line, key, f"{v!r} is not a whole number from 1 to 1000"))
            elif v is not None:
                sc.rounds = int(v)
        elif key == "credit":
            v = scalar(vnode, key)
            if v is not None and v not in CREDIT_MODELS:
                errors.append(RowError(name, line, key, f"{v!r} is not one of {', '.join(CREDIT_MODELS)}"))
            elif v is not None:
                sc.credit = str(v)
        elif key == "channels":
            if not isinstance(vnode, yaml.SequenceNode):
                errors.append(RowError(name, line, key, f"a list of {', '.join(CHANNELS)}"))
                continue
            chans = [scalar(x, key) for x in vnode.value]
            bad = [c for c in chans if c not in CHANNELS]
            if bad:
                errors.append(RowError(name, line, key, f"{bad[0]!r} is not one of {', '.join(CHANNELS)}"))
            else:
                sc.channels = tuple(c for c in CHANNELS if c in chans)
        elif key == "shocks":
            for ln, row in items(vnode, key):
                which = [k for k in ("asset", "class", "equity_of") if k in row]
                unknown = [k for k in row if k not in ("asset", "class", "equity_of", "fall")]
                if unknown:
                    errors.append(RowError(name, ln, f"shocks.{unknown[0]}",
                                           "unknown key; a shock has asset, class or equity_of, and fall"))
                    continue
                if len(which) != 1:
                    errors.append(RowError(name, ln, "shocks", "give exactly one of asset, class, equity_of"))
                    continue
                fall = _fraction(row.get("fall"), name, ln, "shocks.fall", errors)
                if which[0] == "class" and row["class"] not in ASSET_CLASSES:
                    errors.append(RowError(name, ln, "shocks.class",
                                           f"{row['class']!r} is not one of {', '.join(ASSET_CLASSES)}"))
                    continue
                if fall is not None:
                    sc.shocks.append({"by": which[0], "target": row[which[0]], "fall": fall, "line": ln})
        elif key == "partial_payers":
            for ln, row in items(vnode, key):
                if not row.get("entity"):
                    errors.append(RowError(name, ln, "partial_payers.entity", "is required"))
                    continue
                pays = _fraction(row.get("pays"), name, ln, "partial_payers.pays", errors)
                if pays is not None:
                    sc.partial_payers.append({"entity": str(row["entity"]), "pays": pays, "line": ln})
        elif key == "redemptions":
            for ln, row in items(vnode, key):
                if not row.get("issuer"):
                    errors.append(RowError(name, ln, "redemptions.issuer", "is required"))
                    continue
                share = _fraction(row.get("share"), name, ln, "redemptions.share", errors)
                if share is not None:
                    sc.redemptions.append({"issuer": str(row["issuer"]), "share": share, "line": ln})
        else:
            errors.append(RowError(name, line, key, "unknown key; a scenario has name, description, "
                                   "shocks, partial_payers, redemptions, channels, credit, rounds"))
    if errors:
        raise ValidationError(errors)
    return sc


# -- running it -----------------------------------------------------------------------------

@dataclass
class StressResult:
    scenario: str
    rounds: int
    channels: tuple[str, ...]
    entities: list[dict[str, Any]]
    by_country: list[dict[str, Any]]
    by_kind: list[dict[str, Any]]
    negative_equity: list[str]
    total_loss_usd: float
    cut_total_loss_usd: float
    amplification: float | None
    price_fall: dict[str, float]
    cut_legs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    as_of: str | None = None
    credit: str = "both"
    defaults: list[str] = field(default_factory=list)
    # losses on holdings managed for clients, by manager: the clients', in no loss above
    managed: list[dict[str, Any]] = field(default_factory=list)
    managed_loss_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "as_of": self.as_of, "rounds": self.rounds,
                "channels": list(self.channels), "credit": self.credit, "defaults": self.defaults,
                "total_loss_usd": self.total_loss_usd,
                "total_loss_without_loops_usd": self.cut_total_loss_usd,
                "amplification": self.amplification, "negative_equity": self.negative_equity,
                "price_fall": self.price_fall, "entities": self.entities, "by_country": self.by_country,
                "by_kind": self.by_kind, "cut_legs": self.cut_legs, "notes": self.notes,
                "managed_loss_usd": self.managed_loss_usd, "managed": self.managed}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _resolve(text: str, snap: Any, sc: Scenario, line: int, fld: str) -> str:
    from ..loops.from_store import resolve_entity

    try:
        return str(resolve_entity(text, snap.entities))
    except InputError as e:
        raise ValidationError([RowError(sc.path, line, fld, str(e))]) from e


def _run(sc: Scenario, snap: Any, net: Any, exclude: Iterable[str]) -> dict[str, Any]:
    """One run of the rounds; ``exclude``: deals whose exposures are cut."""
    ents = {e["id"]: e for e in snap.entities}
    assets = {a["asset_id"]: a for a in snap.assets}
    asset_ids = sorted({h["asset"] for h in snap.holdings} | set(assets))
    holders = sorted({h["holder"] for h in snap.holdings})
    ids = sorted(set(net.ids) | set(holders))
    ix = {e: i for i, e in enumerate(ids)}
    ax = {a: k for k, a in enumerate(asset_ids)}
    n, k = len(ids), len(asset_ids)
    hold = np.zeros((n, k))  # own holdings: the holder's balance sheet, its losses its own
    managed = np.zeros((n, k))  # held for clients: the clients' losses, not the manager's
    for h in snap.holdings:
        mat = managed if h.get("capacity") == "managed" else hold
        mat[ix[h["holder"]], ax[h["asset"]]] += float(h["value_usd"])
    depth = np.array([float(assets[a]["depth"]) if a in assets else 1e11 for a in asset_ids])
    impact = 1.0 / depth
    kind = [str(ents.get(e, {}).get("kind") or net.kinds.get(e) or "other") for e in ids]

    # capital: the exposure network's buffer, else equity_usd, else a third of holdings
    buffers = np.zeros(n)
    for e, i in ix.items():
        if e in net.index:
            buffers[i] = float(net.buffers[net.index[e]])
        else:
            eq = _num(ents.get(e, {}).get("equity_usd"))
            buffers[i] = eq if eq and eq > 0 else max(hold[i].sum() / MARGIN_LEVERAGE, 1.0)
    total_assets = np.maximum(hold.sum(axis=1), 1.0)
    leverage = np.zeros(n)
    for e, i in ix.items():
        ta, eq = _num(ents.get(e, {}).get("total_assets_usd")), _num(ents.get(e, {}).get("equity_usd"))
        if ta is not None:
            total_assets[i] = max(total_assets[i], ta)
        if kind[i] in LEVERAGE_TARGETERS and ta and eq and eq > 0 and ta > eq:
            leverage[i] = (ta - eq) / eq
    margin_on = "margin" in sc.channels
    hf = np.array([kind[i] == "hedge_fund" and hold[i].sum() > 0 for i in range(n)]) if margin_on \
        else np.zeros(n, dtype=bool)

    # the scenario's own shocks
    ds = np.zeros(k)
    for s in sc.shocks:
        if s["by"] == "asset":
            hit = [s["target"]] if s["target"] in ax else []
        elif s["by"] == "class":
            hit = [a for a in asset_ids if assets.get(a, {}).get("class") == s["target"]]
        else:
            targets = s["target"]
            if targets == "ai" or targets == ["ai"]:
                ai = {e for e, r in ents.items() if r.get("kind") in _AI_KINDS}
            else:
                ai = set(targets if isinstance(targets, list) else [targets])
            hit = [a for a in asset_ids if assets.get(a, {}).get("class") == "equity"
                   and assets.get(a, {}).get("issuer") in ai]
        for a in hit:
            ds[ax[a]] = max(ds[ax[a]], s["fall"])
    forced = np.zeros(k)
    for r in sc.redemptions:
        j = ix.get(r["issuer"])
        liab = _num(ents.get(r["issuer"], {}).get("total_liabilities_usd")) or 0.0
        if j is None or hold[j].sum() <= 0:
            continue
        need = min(r["share"] * liab, hold[j].sum())
        forced += need * hold[j] / hold[j].sum()
    seed = np.zeros(n)  # partial payers: their creditors' distress source, not their own loss
    for pp in sc.partial_payers:
        if pp["entity"] in ix:
            seed[ix[pp["entity"]]] = max(seed[ix[pp["entity"]]], 1.0 - pp["pays"])

    credit_on = "credit" in sc.channels and net.n > 0
    use_clearing = credit_on and sc.credit in ("clearing", "both")
    use_debtrank = credit_on and sc.credit in ("debtrank", "both")
    x, lia = net.matrices(exclude=exclude)
    if sc.credit == "both":  # debts go to clearing; DebtRank keeps equity and contingent claims
        x = np.maximum(x - lia.T, 0.0)
    sub = np.array([ix[e] for e in net.ids], dtype=int)
    pays = np.ones(net.n)  # partial payers pay this share of every debt
    for pp in sc.partial_payers:
        if pp["entity"] in net.index:
            pays[net.index[pp["entity"]]] = min(pays[net.index[pp["entity"]]], pp["pays"])
    clear_buf = np.maximum(net.buffers, 0.0)
    m = np.divide(hold, total_assets[:, None])

    loss = {c: np.zeros(n) for c in LOSS_KINDS}
    by_round: list[dict[str, np.ndarray]] = []
    fall = np.zeros(k)
    credit_prev = np.zeros(n)  # DebtRank's loss so far
    cleared_prev = np.zeros(n)  # clearing's loss so far
    defaults = np.zeros(n, dtype=bool)
    pending_credit = np.zeros(n)
    ds_margin = np.zeros(k)  # the part of ds that margin sales caused (the rest: the shock, fire sales)
    idx = np.flatnonzero(hf)
    hf_units = hold[idx].copy()  # what the hedge funds still hold, in pre-shock value
    hf_equity = np.array([eq if (eq := _num(ents.get(ids[i], {}).get("equity_usd"))) and eq > 0
                          else hold[i].sum() / MARGIN_LEVERAGE for i in idx])
    rounds = 0
    for t in range(1, sc.rounds + 1):
        rounds = t
        step = {c: np.zeros(n) for c in LOSS_KINDS}
        scale = np.divide(np.minimum(ds, 1.0 - fall), ds, out=np.zeros(k), where=ds > 0)
        ds, ds_margin = ds * scale, ds_margin * scale  # nothing falls below zero
        step["margin"] += hold @ ds_margin
        step["price" if t == 1 else "fire_sale"] += hold @ (ds - ds_margin)
        external = ds - ds_margin  # margin sales already ran their own spiral
        fall += ds
        nxt, nxt_margin = np.zeros(k), np.zeros(k)
        if "fire_sale" in sc.channels:
            lev = np.where(hf, 0.0, leverage)
            # losses from other channels of the last round also make leverage targeters sell
            extra = m.T @ (lev * pending_credit)
            res = fire_sale(hold, total_assets, lev, np.maximum(buffers, 1.0), ds, price_impact=impact,
                            forced_sales=(forced if t == 1 else np.zeros(k)) + extra, rounds=1)
            nxt += res.price_fall
        if len(idx) and (hf_units @ external).any():
            price_before = np.maximum(1.0 - fall + ds, 1e-12)  # of the pre-shock price
            # equity before this round's fall: the losses of earlier rounds taken off
            eq_now = np.maximum(hf_equity - np.sum([loss[c][idx] for c in LOSS_KINDS], axis=0), 1e-9)
            units = hf_units * price_before  # values at this round's opening prices
            keep = units.sum(axis=1) > 0
            rel = np.clip(external / price_before, 0.0, 1.0)
            mr = margin_spiral(units[keep], eq_now[keep], rel, haircut=MARGIN_HAIRCUT,
                               price_impact=np.minimum(impact / price_before, 1e6), impact="linear")
            nxt_margin = np.clip((1.0 - mr.prices) - rel, 0.0, None) * price_before
            hf_units[keep] *= (1.0 - mr.sale_fraction)[:, None]
        if credit_on:
            # losses from every other channel; credit is what the models add on top
            so_far = np.sum([loss[c] + step[c] for c in LOSS_KINDS if c != "credit"], axis=0)
            if use_clearing:
                # a clearing round: equity left after every other loss (DebtRank's included)
                short, dflt = _clearing_losses(lia, pays, clear_buf, (so_far + credit_prev)[sub])
                now = np.zeros(n)
                now[sub] = short
                defaults[sub] |= dflt
                step["credit"] += np.maximum(now - cleared_prev, 0.0)
                cleared_prev = np.maximum(now, cleared_prev)
            if use_debtrank:
                h0 = np.clip((so_far + cleared_prev)[sub] / np.maximum(net.buffers, 1e-9) + seed[sub],
                             0.0, 1.0)
                if h0.any():
                    dr = debtrank(x, np.maximum(net.buffers, 1e-9), h0, method="linear", keep_history=False)
                    credit_now = np.zeros(n)
                    credit_now[sub] = np.maximum(dr.distress - h0, 0.0) * net.buffers
                    step["credit"] += np.maximum(credit_now - credit_prev, 0.0)
                    credit_prev = np.maximum(credit_now, credit_prev)
            pending_credit = step["credit"]
        for c in LOSS_KINDS:
            loss[c] += step[c]
        by_round.append(step)
        moved = sum(float(v.sum()) for v in step.values())
        ds, ds_margin = nxt + nxt_margin, nxt_margin
        if t > 1 and moved <= _TOL_USD and float((hold @ ds).sum()) <= _TOL_USD \
                and float(pending_credit.sum()) <= _TOL_USD:
            break
    capped = np.minimum(fall, 1.0)
    return {"ids": ids, "kind": kind, "buffers": buffers, "loss": loss, "by_round": by_round,
            "rounds": rounds, "defaults": defaults, "fall": {a: float(capped[ax[a]]) for a in asset_ids if fall[ax[a]] > 0},
            # managed holdings lose value at the fallen prices; the clients bear it
            "managed_held": managed.sum(axis=1), "managed_loss": managed * capped[None, :],
            "asset_ids": asset_ids}


def _clearing_losses(lia: np.ndarray, pays: np.ndarray, buffers: np.ndarray,
                     lost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Eisenberg-Noe clearing of the deal debts ``lia[i, j]`` (``i`` owes ``j``).

    Each entity's balance sheet is set so that, everyone paying in full, its net worth
    is its capital buffer less ``lost``: external assets ``v = buffer - lost + owed -
    owed to it`` when positive, else outside debt ``-v`` (ranking with its debts in the
    web). A partial payer owes only ``pays`` of each debt. Returns what each creditor
    is not paid (``owed to it - received``) and who defaults (pays less than it owes)."""
    owed = lia.sum(axis=1)
    owns = lia.sum(axis=0)
    v = buffers - lost + owed - owns
    res = clearing_vector(lia * pays[:, None], np.maximum(v, 0.0), external_liabilities=np.maximum(-v, 0.0))
    paid = np.divide(res.payments, res.obligations, out=np.ones(len(owed)), where=res.obligations > 0)
    received = (lia * pays[:, None]).T @ paid
    return np.maximum(owns - received, 0.0), np.asarray(res.defaulted, dtype=bool)


def run_stress(sc: Scenario, snap: Any, *, loops: Iterable[Any] = ()) -> StressResult:
    """Run ``sc`` on a snapshot (:func:`circfin.loops.from_store.snapshot`): every
    channel round by round, then again with the loops' closing legs cut."""
    for s in sc.shocks:
        if s["by"] == "equity_of" and s["target"] not in ("ai", ["ai"]):
            names = s["target"] if isinstance(s["target"], list) else [s["target"]]
            s["target"] = [_resolve(t, snap, sc, s["line"], "shocks.equity_of") for t in names]
        if s["by"] == "asset":
            known = {a["asset_id"] for a in snap.assets}
            if s["target"] not in known:
                s["target"] = _resolve(s["target"], snap, sc, s["line"], "shocks.asset")
    for pp in sc.partial_payers:
        pp["entity"] = _resolve(pp["entity"], snap, sc, pp["line"], "partial_payers.entity")
    for r in sc.redemptions:
        r["issuer"] = _resolve(r["issuer"], snap, sc, r["line"], "redemptions.issuer")
    net = build_exposures(snap.deal_rows, snap.entities, participants=snap.participants)
    base = _run(sc, snap, net, ())

    # the directly hit entities and the legs of their loops that enter them
    hit_direct = {pp["entity"] for pp in sc.partial_payers} | {r["issuer"] for r in sc.redemptions}
    issuers = {a["asset_id"]: a.get("issuer") for a in snap.assets}
    for a, f in base["fall"].items():
        if f > 0 and issuers.get(a):
            hit_direct.add(str(issuers[a]))
    cut: dict[str, dict[str, Any]] = {}
    for lp in loops:
        if not hit_direct & set(lp.ids):
            continue
        for leg in lp.legs:
            if leg.payee_id in hit_direct:
                for d in leg.deal_ids:
                    cut.setdefault(d, {"deal_id": d, "payer": leg.payer_id, "payee": leg.payee_id})
    cut_run = _run(sc, snap, net, cut) if cut else base

    ents = {e["id"]: e for e in snap.entities}
    rows = []
    total = 0.0
    for i, e in enumerate(base["ids"]):
        by = {c: float(base["loss"][c][i]) for c in LOSS_KINDS}
        lost = sum(by.values())
        if lost <= 0:
            continue
        total += lost
        eq = float(base["buffers"][i])
        rows.append({"id": e, "name": ents.get(e, {}).get("name") or e, "kind": base["kind"][i],
                     "country": ents.get(e, {}).get("country") or None, "equity_usd": eq,
                     "loss_usd": lost, "loss_to_equity": lost / eq if eq > 0 else None,
                     "by_channel": {c: by[c] for c in ("credit", "fire_sale", "margin")} | {"price": by["price"]},
                     "by_round": [{c: float(r[c][i]) for c in LOSS_KINDS if r[c][i] > 0}
                                  for r in base["by_round"]],
                     "negative_equity": lost >= eq > 0,
                     "loss_without_loops_usd": float(sum(cut_run["loss"][c][base["ids"].index(e)]
                                                         for c in LOSS_KINDS))})
    rows.sort(key=lambda r: (-r["loss_usd"], r["id"]))
    managed_rows = []
    for i, e in enumerate(base["ids"]):
        lost_m = base["managed_loss"][i]
        if base["managed_held"][i] <= 0:
            continue
        managed_rows.append({
            "id": e, "name": ents.get(e, {}).get("name") or e, "kind": base["kind"][i],
            "country": ents.get(e, {}).get("country") or None,
            "managed_usd": float(base["managed_held"][i]), "loss_usd": float(lost_m.sum()),
            "by_asset": {a: float(lost_m[j]) for j, a in enumerate(base["asset_ids"]) if lost_m[j] > 0}})
    managed_rows.sort(key=lambda r: (-r["loss_usd"], -r["managed_usd"], r["id"]))
    cut_total = float(sum(v.sum() for v in cut_run["loss"].values()))

    def totals(key: str) -> list[dict[str, Any]]:
        agg: dict[str, dict[str, Any]] = defaultdict(lambda: {"loss_usd": 0.0, "entities": 0,
                                                             "negative_equity": 0,
                                                             **{c: 0.0 for c in LOSS_KINDS}})
        for r in rows:
            g = agg[r[key] or "unknown"]
            g["loss_usd"] += r["loss_usd"]
            g["entities"] += 1
            g["negative_equity"] += int(r["negative_equity"])
            for c in LOSS_KINDS:
                g[c] += r["by_channel"][c]
        return sorted(({key: k, **v} for k, v in agg.items()), key=lambda g: (-g["loss_usd"], g[key]))

    notes = []
    if not snap.holdings:
        notes.append("the store holds no holdings: price shocks, fire sales and margin calls move nothing")
    amp = (total / cut_total if cut_total > 0 else (1.0 if total == 0 else None))
    return StressResult(scenario=sc.name, rounds=base["rounds"], channels=sc.channels, entities=rows,
                        by_country=totals("country"), by_kind=totals("kind"),
                        negative_equity=[r["id"] for r in rows if r["negative_equity"]],
                        total_loss_usd=total, cut_total_loss_usd=cut_total, amplification=amp,
                        price_fall=base["fall"], cut_legs=sorted(cut.values(), key=lambda c: c["deal_id"]),
                        notes=notes, as_of=snap.as_of, credit=sc.credit,
                        defaults=[e for i, e in enumerate(base["ids"]) if base["defaults"][i]],
                        managed=managed_rows,
                        managed_loss_usd=float(sum(r["loss_usd"] for r in managed_rows)))


def stress(store: Any, scenario: str | Path | Scenario, *, as_of: Any = None,
           confidences: Iterable[str] | None = None, max_len: int = 6) -> StressResult:
    """Load a scenario (a path or a :class:`Scenario`) and run it on the store's graph
    as of a date; ``confidences``: only deals of these confidences count."""
    from ..loops.from_store import loops_from_store, snapshot

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    snap = snapshot(store, as_of=as_of, confidences=confidences)
    loops, _, _ = loops_from_store(store, max_len=max_len, snap=snap)
    return run_stress(sc, snap, loops=list(loops))
