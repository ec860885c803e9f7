"""Seeded scale-free deal frames for benchmarking the loop engine.

The graph follows the static ("Chung-Lu") model of scale-free networks: every
entity gets an out-fitness (how much it pays) and an in-fitness (how much it
is paid), both Zipf-distributed, and each deal picks its payer in proportion
to out-fitness and its payee in proportion to in-fitness. The two fitnesses
are correlated, as in the AI build-out, where the same few giants both invest
and sell (Nvidia, Microsoft, OpenAI, Oracle). That gives heavy-tailed in- and
out-degrees, parallel deals between hubs, and many short cycles among them.

Deal attributes are drawn to look like the real data: a type mix skewed to
equity, compute and chips; dates mostly to the day, some to the month or the
year, a few missing; log-normal amounts, about a third undisclosed; all
statuses. Everything is vectorised, so a million deals take about a second.

    >>> deals = make_deals(50, 200, seed=1)
    >>> list(deals.columns)[:6]
    ['deal_id', 'date', 'payer', 'payee', 'type', 'amount_usd']
    >>> len(deals), deals["deal_id"].is_unique
    (200, True)
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from circfin.graph.model import DEAL_STATUSES, DEAL_TYPES, ENTITY_KINDS

__all__ = ["entity_ids", "make_deals", "make_parents"]

_TYPE_WEIGHTS = {
    "equity_investment": 18,
    "loan": 8,
    "credit_facility": 6,
    "bond": 3,
    "compute_purchase": 14,
    "chip_purchase": 14,
    "cloud_commitment": 12,
    "warrant": 2,
    "revenue_share": 3,
    "capacity_backstop": 2,
    "guarantee": 2,
    "spv_financing": 5,
    "lease": 6,
    "other": 5,
}
_STATUS_WEIGHTS = {
    "announced": 30,
    "signed": 25,
    "funded": 20,
    "completed": 15,
    "stalled": 6,
    "cancelled": 4,
}
_QUALIFIERS = ("exact", "approx", "up_to", "at_least", "estimate")


def entity_ids(n_entities: int) -> list[str]:
    """The ids ``e00000``, ``e00001``, ... (fixed width, so they sort as numbers)."""
    width = max(5, len(str(n_entities - 1)))
    return [f"e{i:0{width}d}" for i in range(n_entities)]


def _fitness(rng: np.random.Generator, n: int, gamma: float) -> np.ndarray:
    # Zipf weights i^(-1/(gamma-1)) give a degree distribution with tail exponent gamma.
    return np.arange(1, n + 1, dtype=np.float64) ** (-1.0 / (gamma - 1.0))


def make_deals(
    n_entities: int = 5_000,
    n_deals: int = 30_000,
    seed: int = 0,
    *,
    gamma_out: float = 2.6,
    gamma_in: float = 2.4,
    correlation: float = 0.5,
    self_deals: float = 0.002,
) -> pd.DataFrame:
    """A deals frame with ``n_deals`` rows between ``n_entities`` entities.

    ``correlation`` (0..1) is how much an entity's payer rank follows its
    payee rank; ``self_deals`` is the share of deals left with payer == payee
    (the engine must ignore them).
    """
    if n_entities < 2 or n_deals < 0:
        raise ValueError("need n_entities >= 2 and n_deals >= 0")
    rng = np.random.default_rng(seed)
    ids = np.array(entity_ids(n_entities), dtype=object)

    # Payee rank: a random permutation; payer rank: the same permutation with
    # a share (1 - correlation) of positions shuffled among themselves.
    in_rank = rng.permutation(n_entities)
    out_rank = in_rank.copy()
    k = int(round((1.0 - correlation) * n_entities))
    if k > 1:
        pos = rng.choice(n_entities, size=k, replace=False)
        out_rank[pos] = out_rank[rng.permutation(pos)]
    w_in = _fitness(rng, n_entities, gamma_in)[in_rank]
    w_out = _fitness(rng, n_entities, gamma_out)[out_rank]
    payer = rng.choice(n_entities, size=n_deals, p=w_out / w_out.sum())
    payee = rng.choice(n_entities, size=n_deals, p=w_in / w_in.sum())
    # Re-draw most self-deals, keep a few.
    for _ in range(20):
        bad = (payer == payee) & (rng.random(n_deals) >= self_deals)
        if not bad.any():
            break
        payee[bad] = rng.choice(n_entities, size=int(bad.sum()), p=w_in / w_in.sum())

    types = np.array(list(_TYPE_WEIGHTS), dtype=object)
    tw = np.array(list(_TYPE_WEIGHTS.values()), dtype=np.float64)
    statuses = np.array(list(_STATUS_WEIGHTS), dtype=object)
    sw = np.array(list(_STATUS_WEIGHTS.values()), dtype=np.float64)

    # Dates: 2016..2025, skewed towards recent years (the boom).
    start = _dt.date(2016, 1, 1).toordinal()
    span = _dt.date(2025, 12, 31).toordinal() - start
    ords = start + np.floor(rng.beta(3.0, 1.3, size=n_deals) * span).astype(np.int64)
    epoch = np.datetime64("0001-01-01") - np.timedelta64(1, "D")  # ordinal 1 == 0001-01-01
    iso = np.datetime_as_string(epoch + ords.astype("timedelta64[D]"), unit="D").astype(object)
    precision = rng.choice(4, size=n_deals, p=[0.80, 0.12, 0.05, 0.03])
    dates = iso.copy()
    dates[precision == 1] = np.array([s[:7] for s in iso[precision == 1]], dtype=object)
    dates[precision == 2] = np.array([s[:4] for s in iso[precision == 2]], dtype=object)
    dates[precision == 3] = ""

    amounts = np.round(rng.lognormal(np.log(4e8), 1.6, size=n_deals), -6)
    amounts = np.maximum(amounts, 1e6)
    undisclosed = rng.random(n_deals) < 0.3
    amounts[undisclosed] = np.nan
    qualifiers = rng.choice(np.array(_QUALIFIERS, dtype=object), size=n_deals)
    qualifiers[undisclosed] = "undisclosed"

    width = max(6, len(str(n_deals)))
    deal_ids = np.array([f"d{i:0{width}d}" for i in range(n_deals)], dtype=object)
    frame = pd.DataFrame(
        {
            "deal_id": deal_ids,
            "date": dates,
            "payer": ids[payer],
            "payee": ids[payee],
            "type": rng.choice(types, size=n_deals, p=tw / tw.sum()),
            "amount_usd": amounts,
            "amount_qualifier": qualifiers,
            "status": rng.choice(statuses, size=n_deals, p=sw / sw.sum()),
        }
    )
    assert set(frame["type"]) <= set(DEAL_TYPES) and set(frame["status"]) <= set(DEAL_STATUSES)
    return frame


def make_parents(n_entities: int, seed: int = 0, *, share: float = 0.1) -> dict[str, str | None]:
    """A parents map: about ``share`` of the entities are SPVs or subsidiaries
    of another entity (never of themselves, and with no parent cycles)."""
    rng = np.random.default_rng(seed + 7919)
    ids = entity_ids(n_entities)
    order = rng.permutation(n_entities)  # parents always come earlier in `order`
    parents: dict[str, str | None] = {i: None for i in ids}
    for pos in range(1, n_entities):
        if rng.random() < share:
            child = ids[order[pos]]
            parents[child] = ids[order[rng.integers(0, pos)]]
    return parents


def entity_kinds(n_entities: int, seed: int = 0) -> dict[str, str]:
    """A kind for every entity (for display only)."""
    rng = np.random.default_rng(seed + 104729)
    kinds = rng.choice(np.array(ENTITY_KINDS, dtype=object), size=n_entities)
    return dict(zip(entity_ids(n_entities), kinds, strict=True))


if __name__ == "__main__":  # pragma: no cover - a quick look
    import sys

    n_e = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    n_d = int(sys.argv[2]) if len(sys.argv) > 2 else 30_000
    df = make_deals(n_e, n_d, seed=0)
    print(df.head(10).to_string())
    pairs = df[df.payer != df.payee][["payer", "payee"]].drop_duplicates()
    print(
        f"{len(df)} deals, {len(pairs)} distinct legs, "
        f"{pd.unique(df[['payer', 'payee']].values.ravel()).size} entities with deals"
    )
    print("top out-degree:", pairs.payer.value_counts().head(5).to_dict())
    print("top in-degree:", pairs.payee.value_counts().head(5).to_dict())
