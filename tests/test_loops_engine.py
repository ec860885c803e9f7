"""The in-memory loop engine against a brute-force oracle, plus hand-checked cases.

Property tests draw small frames with every awkward feature (parallel deals,
self-deals, partial and missing dates, undisclosed amounts, SPV parents) and
check that ``find_loops`` returns exactly what ``tests/oracle.py`` finds by
trying every ordering of every subset of entities and every choice of deals.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circfin.graph.model import Loop, date_bounds, loop_key
from circfin.loops.engine import LoopIndex, find_loops, loops_closed_by

try:
    from circfin.tests import oracle
    from circfin.tests.strategies import deal_frames, loop_kwargs
except ImportError:  # tests/ not importable as a package: import by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import oracle  # type: ignore[no-redef]
    from strategies import deal_frames, loop_kwargs  # type: ignore[no-redef]

brute_force_loops = oracle.brute_force_loops

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", params=["plain", "switching"])
def kernels(request: pytest.FixtureRequest) -> Any:
    """Run a test with each way the engine runs its kernels: all in plain Python (a
    small search), and a search that starts in Python and goes on numba-compiled
    from the same state after a few edge visits (a large one; its loops are then
    rotated and sorted by the compiled kernels too)."""
    from circfin.loops import _cycles, _cycles_net

    steps, edges = {"plain": (1 << 62, 1 << 62), "switching": (3, -1)}[request.param]
    with pytest.MonkeyPatch.context() as mp:
        # as in a fresh process: numba not loaded yet, so each search starts in Python
        mp.setattr(_cycles, "compiled_ready", lambda: False)
        mp.setattr(_cycles_net, "PLAIN_STEPS", steps)
        mp.setattr(_cycles_net, "PLAIN_EDGES", edges)
        yield request.param


def as_map(loops: list[Loop]) -> dict[str, tuple[tuple[str, ...], ...]]:
    return {lp.key: tuple(leg.deal_ids for leg in lp.legs) for lp in loops}


def frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Deals from (deal_id, payer, payee[, date[, amount[, type[, status]]]]) tuples."""
    full = []
    for r in rows:
        r = tuple(r) + (None,) * (7 - len(r))
        did, payer, payee, date, amount, typ, status = r
        full.append(
            {
                "deal_id": did,
                "date": date,
                "payer": payer,
                "payee": payee,
                "type": typ or "equity_investment",
                "amount_usd": amount,
                "amount_qualifier": "exact" if amount is not None else "undisclosed",
                "status": status or "announced",
            }
        )
    return pd.DataFrame(
        full,
        columns=[
            "deal_id",
            "date",
            "payer",
            "payee",
            "type",
            "amount_usd",
            "amount_qualifier",
            "status",
        ],
    )


def engine_kwargs(kw: dict[str, Any], deals: pd.DataFrame) -> dict[str, Any]:
    out = dict(kw)
    out["names"] = deals.attrs.get("names")
    return out


def check_sorted_by_length(loops: list[Loop]) -> None:
    keys = [(lp.length, lp.key) for lp in loops]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------
# Against the oracle


@pytest.mark.usefixtures("kernels")
@MORE
@given(st.data())
def test_matches_oracle_with_any_filters(data: st.DataObject) -> None:
    deals = data.draw(deal_frames())
    kw = data.draw(loop_kwargs(deals))
    got = find_loops(deals, **engine_kwargs(kw, deals))
    assert got.complete and got.note is None
    assert as_map(got) == brute_force_loops(deals, **kw)
    check_sorted_by_length(got)
    # the same deals as records (as the store returns them): the same loops, in the same order
    records = find_loops(deals.to_dict("records"), **engine_kwargs(kw, deals))
    assert [lp.key for lp in records] == [lp.key for lp in got] and as_map(records) == as_map(got)


@pytest.mark.parametrize(
    "only",
    [
        "max_len",
        "min_len",
        "entity",
        "types",
        "status",
        "min_amount",
        "since",
        "until",
        "within",
        "ordered",
        "rollup",
    ],
)
@FAST
@given(data=st.data())
def test_matches_oracle_one_filter_at_a_time(only: str, data: st.DataObject) -> None:
    deals = data.draw(deal_frames(max_entities=5, max_deals=12))
    kw: dict[str, Any] = {}
    for _ in range(50):  # draw until the filter under test is set
        kw = data.draw(loop_kwargs(deals))
        if only in kw:
            break
    kw = {
        k: v
        for k, v in kw.items()
        if k in (only, "parents") or (only == "min_len" and k == "max_len")
    }
    if only == "min_len":
        kw["max_len"] = max(kw.get("max_len", 6), kw.get("min_len", 2))
    assert as_map(find_loops(deals, **kw)) == brute_force_loops(deals, **kw)


@FAST
@given(st.data())
def test_within_and_ordered_need_one_choice_for_both(data: st.DataObject) -> None:
    deals = data.draw(deal_frames(max_entities=4, max_deals=14))
    within = data.draw(st.sampled_from([0, 5, 10, 30]))
    kw = {"within": within, "ordered": True, "max_len": 4}
    assert as_map(find_loops(deals, **kw)) == brute_force_loops(deals, **kw)


@pytest.mark.parametrize("days", [(5, 10, 5), (5, 5, 10), (10, 5, 5), (5, 5, 5), (10, 5, 10)])
@pytest.mark.parametrize("labels", ["abc", "bca", "cab", "acb"])
def test_ordered_with_ties_where_the_walk_wraps(days: tuple[int, ...], labels: str) -> None:
    # Legs x->y, y->z, z->x on these days: every cyclic sequence here has at
    # most one strict descent, so each is a time-respecting loop; the labels
    # move which entity the search starts from.
    x, y, z = labels
    deals = frame(
        [
            ("1", x, y, f"2024-01-{days[0]:02d}"),
            ("2", y, z, f"2024-01-{days[1]:02d}"),
            ("3", z, x, f"2024-01-{days[2]:02d}"),
        ]
    )
    assert len(find_loops(deals, ordered=True)) == 1
    assert len(find_loops(deals, ordered=True, within=5)) == 1
    assert len(find_loops(deals, ordered=True, within=4)) == (1 if set(days) == {5} else 0)


@pytest.mark.usefixtures("kernels")
@FAST
@given(st.data())
def test_matches_oracle_when_days_tie(data: st.DataObject) -> None:
    deals = data.draw(
        deal_frames(max_entities=4, max_deals=10, dates=("2024-01-01", "2024-01-02", "2024-01-03"))
    )
    kw = {"ordered": data.draw(st.booleans()), "within": data.draw(st.sampled_from([None, 0, 1]))}
    assert as_map(find_loops(deals, **kw)) == brute_force_loops(deals, **kw)


def test_within_and_ordered_together_need_the_same_choice() -> None:
    # b->c has two deals. Choosing y1 (01-11) fits a 5-day window but runs
    # backwards round the loop (12, 11, 10); choosing y2 (02-19) is in order
    # (c->a 10, a->b 12, b->c 02-19) but spans 40 days.
    deals = frame(
        [
            ("x", "a", "b", "2024-01-12"),
            ("y1", "b", "c", "2024-01-11"),
            ("y2", "b", "c", "2024-02-19"),
            ("z", "c", "a", "2024-01-10"),
        ]
    )
    loop = {"a>b>c": (("x",), ("y1", "y2"), ("z",))}
    assert as_map(find_loops(deals, within=5)) == loop
    assert as_map(find_loops(deals, ordered=True)) == loop
    assert as_map(find_loops(deals, within=5, ordered=True)) == {}
    assert as_map(find_loops(deals, within=39, ordered=True)) == {}
    assert as_map(find_loops(deals, within=40, ordered=True)) == loop
    for kw in (
        {"within": 5},
        {"ordered": True},
        {"within": 5, "ordered": True},
        {"within": 40, "ordered": True},
    ):
        assert as_map(find_loops(deals, **kw)) == brute_force_loops(deals, **kw)


@settings(max_examples=400, deadline=None)
@given(
    legs=st.lists(st.lists(st.integers(0, 12), max_size=3), min_size=2, max_size=6),
    within=st.one_of(st.none(), st.integers(0, 8)),
    ordered=st.booleans(),
)
def test_exact_time_check_matches_trying_every_choice(
    legs: list[list[int]], within: int | None, ordered: bool
) -> None:
    import datetime as dt

    from circfin.loops import _cycles

    days = [sorted(x) for x in legs]
    flat = np.array([d for x in days for d in x], dtype=np.int32)
    ends = np.cumsum([len(x) for x in days]).astype(np.int64)
    starts = (ends - [len(x) for x in days]).astype(np.int64)
    got = _cycles.exact_time_check(
        np.arange(len(days), dtype=np.int64),
        len(days),
        -1 if within is None else within,
        ordered,
        starts,
        ends,
        flat,
    )
    base = dt.date(2024, 1, 1)
    as_legs = [[("x", base + dt.timedelta(days=d)) for d in x] for x in days]
    if within is None and not ordered:
        assert got
    else:
        assert got == oracle._some_choice(as_legs, within, ordered)


# --------------------------------------------------------------------------
# Invariants


@pytest.mark.usefixtures("kernels")
@FAST
@given(st.data())
def test_every_loop_is_a_real_cycle_of_real_deals(data: st.DataObject) -> None:
    deals = data.draw(deal_frames())
    kw = data.draw(loop_kwargs(deals))
    names = deals.attrs["names"]
    parents = deals.attrs["parents"]
    got = find_loops(deals, names=names, **{k: v for k, v in kw.items() if k != "names"})
    by_id = {r["deal_id"]: r for r in deals.to_dict("records")}

    def top(x: str) -> str:
        while kw.get("rollup") and parents.get(x):
            x = parents[x]  # type: ignore[assignment]
        return x

    for lp in got:
        n = lp.length
        assert kw.get("min_len", 2) <= n <= kw.get("max_len", 6)
        assert len(set(lp.ids)) == n, "a node appears twice"
        assert lp.ids[0] == min(lp.ids) and lp.key == loop_key(lp.ids)
        assert lp.entities == tuple(names.get(x, x) for x in lp.ids)
        for i, leg in enumerate(lp.legs):
            assert (leg.payer_id, leg.payee_id) == (lp.ids[i], lp.ids[(i + 1) % n])
            assert (leg.payer, leg.payee) == (
                names.get(leg.payer_id, leg.payer_id),
                names.get(leg.payee_id, leg.payee_id),
            )
            assert leg.deal_ids and list(leg.deal_ids) == sorted(set(leg.deal_ids))
            rows = [by_id[d] for d in leg.deal_ids]
            for r in rows:
                assert (top(r["payer"]), top(r["payee"])) == (leg.payer_id, leg.payee_id)
            amounts = [
                float(r["amount_usd"])
                for r in rows
                if r["amount_usd"] is not None and r["amount_usd"] == r["amount_usd"]
            ]
            assert leg.amount_usd == (sum(amounts) if amounts else None)
            assert leg.types == tuple(sorted({r["type"] for r in rows}))
            days = [
                date_bounds(r["date"])[0].isoformat()
                for r in rows
                if isinstance(r["date"], str) and r["date"]
            ]
            assert (leg.first_date, leg.last_date) == (
                (min(days), max(days)) if days else (None, None)
            )


@FAST
@given(st.data())
def test_relabelling_nodes_changes_only_labels(data: st.DataObject) -> None:
    deals = data.draw(deal_frames())
    kw = data.draw(loop_kwargs(deals))
    kw.pop("entity", None)
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    old = sorted(
        set(deals["payer"]) | set(deals["payee"]) | set(deals.attrs["parents"]) | {"holdco"}
    )
    new = [f"n{v}" for v in rng.sample(range(1000), len(old))]
    rename = dict(zip(old, new, strict=True))
    relabelled = deals.assign(payer=deals["payer"].map(rename), payee=deals["payee"].map(rename))
    kw2 = dict(kw)
    if "parents" in kw:
        kw2["parents"] = {rename[k]: (rename[v] if v else None) for k, v in kw["parents"].items()}

    def edge_sets(loops: list[Loop], f: Any) -> set[frozenset[tuple[str, str, tuple[str, ...]]]]:
        return {
            frozenset((f(leg.payer_id), f(leg.payee_id), leg.deal_ids) for leg in lp.legs)
            for lp in loops
        }

    a = find_loops(deals, **kw)
    b = find_loops(relabelled, **kw2)
    assert edge_sets(a, rename.get) == edge_sets(b, lambda x: x)
    check_sorted_by_length(b)


@pytest.mark.usefixtures("kernels")
@FAST
@given(st.data())
def test_sorts_and_limit(data: st.DataObject) -> None:
    deals = data.draw(deal_frames())
    kw = data.draw(loop_kwargs(deals))
    sort = data.draw(st.sampled_from(["length", "amount", "date"]))
    limit = data.draw(st.one_of(st.none(), st.integers(0, 5)))
    everything = list(find_loops(deals, **kw))

    def ref(lp: Loop) -> tuple[Any, ...]:
        tie = (lp.length, lp.key)
        if sort == "amount":
            b = lp.bottleneck_usd
            return (b is None, -(b or 0.0), *tie)
        if sort == "date":
            end = lp.date_span[1]
            return (end is None, -(date_bounds(end)[0].toordinal() if end else 0), *tie)
        return tie

    expected = sorted(everything, key=ref)[:limit]
    got = find_loops(deals, sort=sort, limit=limit, **kw)
    assert [lp.key for lp in got] == [lp.key for lp in expected]


# --------------------------------------------------------------------------
# LoopIndex: what one new deal closes


@pytest.mark.usefixtures("kernels")
@FAST
@given(st.data())
def test_index_add_returns_the_loops_containing_the_new_deal(data: st.DataObject) -> None:
    deals = data.draw(deal_frames(max_deals=16))
    if len(deals) < 2:
        return
    kw = data.draw(loop_kwargs(deals))
    n_new = data.draw(st.integers(1, min(4, len(deals))))
    before, added = deals.iloc[:-n_new], deals.iloc[-n_new:]
    index = LoopIndex(before, **kw)
    for i in range(n_new):
        row = added.iloc[i]
        after = deals.iloc[: len(before) + i + 1]
        got = index.add(row)
        full_after = find_loops(after, **kw)
        expected = [lp for lp in full_after if row["deal_id"] in lp.deal_ids]
        assert as_map(got) == as_map(expected)
        assert [lp.key for lp in got] == [lp.key for lp in expected]
        # Everything new is in it (and existing loops that gained the deal too).
        new_keys = set(as_map(full_after)) - set(as_map(find_loops(after.iloc[:-1], **kw)))
        assert new_keys <= {lp.key for lp in got}
        assert got == expected
    closed = loops_closed_by(deals.iloc[:-1], deals.iloc[-1], **kw)
    assert as_map(closed) == as_map(
        [lp for lp in find_loops(deals, **kw) if deals.iloc[-1]["deal_id"] in lp.deal_ids]
    )


def test_index_many_adds_move_adjacency_segments() -> None:
    # A hub gains many edges one by one: its adjacency segment must move and grow.
    rng = np.random.default_rng(5)
    rows = [(f"s{i}", "hub", f"n{i}") for i in range(3)]
    index = LoopIndex(frame(rows), max_len=4)
    all_rows = list(rows)
    for k in range(60):
        a, b = rng.choice([f"n{i}" for i in range(12)] + ["hub"], size=2, replace=False)
        row = (f"x{k}", str(a), str(b), f"2024-01-{1 + k % 28:02d}")
        all_rows.append(row)
        got = index.add(dict(zip(["deal_id", "payer", "payee", "date"], row, strict=True)))
        after = find_loops(frame(all_rows), max_len=4)
        assert as_map(got) == as_map([lp for lp in after if row[0] in lp.deal_ids])


def test_index_add_with_time_filters_moves_day_segments() -> None:
    rows = [("a1", "a", "b", "2024-01-10"), ("b1", "b", "c", "2024-01-12")]
    index = LoopIndex(frame(rows), within=5, ordered=True)
    assert index.add({"deal_id": "c1", "payer": "c", "payee": "a", "date": "2024-01-30"}) == []
    # A parallel deal that fits the window: the loop now lists both c->a deals.
    got = index.add({"deal_id": "c2", "payer": "c", "payee": "a", "date": "2024-01-14"})
    assert as_map(got) == {"a>b>c": (("a1",), ("b1",), ("c1", "c2"))}
    # An undated parallel deal on a->b joins the loop's leg though it is no witness.
    got = index.add({"deal_id": "a2", "payer": "a", "payee": "b"})
    assert as_map(got) == {"a>b>c": (("a1", "a2"), ("b1",), ("c1", "c2"))}
    assert len(index) == 5


def test_index_results_keep_the_snapshot_they_were_made_in() -> None:
    index = LoopIndex(frame([("d1", "a", "b"), ("d2", "b", "a")]))
    first = index.add({"deal_id": "d3", "payer": "a", "payee": "b"})
    second = index.add({"deal_id": "d4", "payer": "a", "payee": "b"})
    # Read only now, after d4 joined the same leg: `first` still shows its own moment.
    assert as_map(first) == {"a>b": (("d1", "d3"), ("d2",))}
    assert as_map(second) == {"a>b": (("d1", "d3", "d4"), ("d2",))}


def test_index_add_validation_and_noncounting_deals() -> None:
    index = LoopIndex(frame([("d1", "a", "b"), ("d2", "b", "a")]), types=["loan"])
    assert index.add({"deal_id": "d3", "payer": "b", "payee": "a", "type": "loan"}) == []
    with pytest.raises(ValueError, match="already in the snapshot"):
        index.add({"deal_id": "d1", "payer": "a", "payee": "b"})
    with pytest.raises(ValueError, match="lacks payee"):
        index.add({"deal_id": "d9", "payer": "a"})
    assert index.add({"deal_id": "d4", "payer": "a", "payee": "a", "type": "loan"}) == []
    got = index.add({"deal_id": "d5", "payer": "a", "payee": "b", "type": "loan"})
    assert as_map(got) == {"a>b": (("d5",), ("d3",))}


# --------------------------------------------------------------------------
# Budgets


def complete_digraph(n: int) -> pd.DataFrame:
    return frame(
        [(f"d{i}-{j}", f"v{i:02d}", f"v{j:02d}") for i in range(n) for j in range(n) if i != j]
    )


def test_max_loops_returns_partial_result() -> None:
    deals = complete_digraph(7)
    everything = find_loops(deals, max_len=7)
    assert everything.complete and len(everything) == sum(
        int(np.prod(range(7 - k + 1, 8))) // k for k in range(2, 8)
    )
    got = find_loops(deals, max_len=7, max_loops=25)
    assert not got.complete and len(got) == 25
    assert "max_loops=25" in got.note and "25 loops" in got.note
    assert {lp.key for lp in got} <= {lp.key for lp in everything}
    exact = find_loops(deals, max_len=2, max_loops=21)  # exactly 21 two-cycles: not cut
    assert exact.complete and len(exact) == 21


def test_time_budget_stops_early_and_never_hangs() -> None:
    deals = complete_digraph(12)  # billions of cycles up to length 12
    t0 = time.perf_counter()
    got = find_loops(deals, max_len=12, time_budget=0.2)
    spent = time.perf_counter() - t0
    assert not got.complete and "time_budget=0.2s" in got.note
    assert len(got) > 0 and spent < 10
    lp = got[len(got) // 2]
    assert len(set(lp.ids)) == lp.length
    index = LoopIndex(deals, max_len=12)
    got = index.add({"deal_id": "new", "payer": "v00", "payee": "v01"}, time_budget=0.1)
    assert not got.complete and all("new" in x.deal_ids for x in got[:50])


# --------------------------------------------------------------------------
# Hand-checked cases


def test_nvidia_openai_oracle_triangle_with_parallel_deals() -> None:
    deals = frame(
        [
            ("nv-oai-1", "nvidia", "openai", "2025-09-22", 100e9, "equity_investment"),
            ("nv-oai-2", "nvidia", "openai", "2025-10", None, "warrant"),
            ("oai-orcl", "openai", "oracle", "2025-09-10", 300e9, "cloud_commitment"),
            ("orcl-nv-1", "oracle", "nvidia", "2025-10-01", 40e9, "chip_purchase"),
            ("orcl-nv-2", "oracle", "nvidia", None, 5e9, "chip_purchase"),
            ("nv-nv", "nvidia", "nvidia", "2025-01-01", 1e9, "other"),  # self-deal: ignored
        ]
    )
    names = {"nvidia": "NVIDIA", "openai": "OpenAI", "oracle": "Oracle"}
    (lp,) = find_loops(deals, names=names)
    assert lp.ids == ("nvidia", "openai", "oracle") and lp.key == "nvidia>openai>oracle"
    assert lp.entities == ("NVIDIA", "OpenAI", "Oracle")
    nv_oai, oai_orcl, orcl_nv = lp.legs
    assert nv_oai.deal_ids == ("nv-oai-1", "nv-oai-2") and nv_oai.amount_usd == 100e9
    assert nv_oai.types == ("equity_investment", "warrant")
    assert (nv_oai.first_date, nv_oai.last_date) == ("2025-09-22", "2025-10-01")
    assert oai_orcl.amount_usd == 300e9 and orcl_nv.amount_usd == 45e9
    assert (orcl_nv.first_date, orcl_nv.last_date) == ("2025-10-01", "2025-10-01")
    assert lp.bottleneck_usd == 45e9 and lp.date_span == ("2025-09-10", "2025-10-01")
    # OpenAI's commitment (09-10) then Nvidia's chips (10-01) then the investment (10-01): ordered.
    assert len(find_loops(deals, ordered=True)) == 1
    assert len(find_loops(deals, within=21)) == 1  # 09-10 .. 10-01
    assert len(find_loops(deals, within=20)) == 0
    assert len(find_loops(deals, min_amount=50e9)) == 0  # Oracle's chip deals are smaller
    assert len(find_loops(deals, types=["equity_investment", "cloud_commitment"])) == 0
    assert (
        len(find_loops(deals, entity="oracle")) == 1 and len(find_loops(deals, entity="amd")) == 0
    )
    assert len(find_loops(deals, max_len=2)) == 0 and len(find_loops(deals, min_len=4)) == 0
    # Oracle is a subsidiary of a holding company: the loop is the same shape, renamed.
    up = find_loops(
        deals,
        rollup=True,
        parents={"oracle": "oracle-holdings"},
        names={"oracle-holdings": "Oracle Holdings"},
    )
    assert [x.entities for x in up] == [("nvidia", "openai", "Oracle Holdings")]


def test_both_directions_of_a_triangle_are_different_loops() -> None:
    deals = frame(
        [
            ("1", "A", "B"),
            ("2", "B", "C"),
            ("3", "C", "A"),
            ("4", "A", "C"),
            ("5", "C", "B"),
            ("6", "B", "A"),
        ]
    )
    got = find_loops(deals)
    assert [lp.key for lp in got] == ["A>B", "A>C", "B>C", "A>B>C", "A>C>B"]
    assert as_map(got)["A>C>B"] == (("4",), ("5",), ("6",))
    assert as_map(find_loops(deals, min_len=3, entity="B")) == {
        "A>B>C": (("1",), ("2",), ("3",)),
        "A>C>B": (("4",), ("5",), ("6",)),
    }


def test_two_cycle() -> None:
    deals = frame(
        [("inv", "msft", "openai", "2023-01", 10e9), ("azure", "openai", "msft", "2023", None)]
    )
    (lp,) = find_loops(deals)
    assert lp.key == "msft>openai" and lp.length == 2 and lp.bottleneck_usd is None
    assert find_loops(deals, ordered=True)[0].key == "msft>openai"  # both start on 2023-01-01
    assert len(find_loops(deals, within=0)) == 1
    assert len(find_loops(deals, since="2023-01-02")) == 0


def test_chain_has_no_loop() -> None:
    deals = frame(
        [("1", "a", "b"), ("2", "b", "c"), ("3", "c", "d"), ("4", "a", "d"), ("5", "d", "d")]
    )
    got = find_loops(deals)
    assert got == [] and got.complete and got.note is None


@pytest.mark.usefixtures("kernels")
def test_keys_sort_as_strings_even_with_awkward_ids() -> None:
    # "a-1" < "a>..." because '-' < '>', while "a" < "a-1" as ids.
    deals = frame(
        [
            ("1", "a", "x"),
            ("2", "x", "a"),
            ("3", "a-1", "x"),
            ("4", "x", "a-1"),
            ("5", "a", "a-1"),
            ("6", "a-1", "a"),
        ]
    )
    keys = [lp.key for lp in find_loops(deals, max_len=2)]
    assert keys == sorted(keys) == ["a-1>x", "a>a-1", "a>x"]
    # Ids holding '>' itself fall back to comparing the key strings.
    deals = frame([("1", "p>q", "r"), ("2", "r", "p>q"), ("3", "p", "r"), ("4", "r", "p")])
    keys = [lp.key for lp in find_loops(deals)]
    assert keys == sorted(keys)


def test_inputs_in_other_shapes() -> None:
    # Numeric ids, digit-string amounts, years read as numbers, datetime dates.
    deals = pd.DataFrame(
        {
            "deal_id": [1, 2, 3],
            "payer": [10, 20, 30],
            "payee": [20, 30, 10],
            "date": [2024, 2024, np.nan],
            "amount_usd": ["1,000", "2000", None],
            "type": ["loan"] * 3,
            "status": ["signed"] * 3,
        }
    )
    (lp,) = find_loops(deals)
    assert lp.ids == ("10", "20", "30") and lp.legs[0].amount_usd == 1000.0
    assert lp.legs[0].first_date == "2024-01-01" and lp.legs[2].first_date is None
    assert find_loops(deals, min_amount=1500) == []
    dated = deals.assign(date=pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03"]))
    assert len(find_loops(dated, ordered=True, within=2)) == 1
    assert len(find_loops(dated, since=pd.Timestamp("2024-03-02").date())) == 0


# --------------------------------------------------------------------------
# Arguments


OK = frame([("1", "a", "b"), ("2", "b", "a")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_len": 13}, r"max_len=13 is too long; allowed: 2..12"),
        ({"max_len": 1}, r"max_len=1 is below min_len=2"),
        ({"min_len": 1}, r"min_len >= 2"),
        ({"min_len": 4, "max_len": 3}, r"need max_len >= min_len >= 2"),
        ({"max_len": 3.5}, r"max_len must be an integer"),
        ({"sort": "size"}, r"unknown sort 'size'; allowed: length, amount, date"),
        ({"within": -1}, r"within=-1: give a number of days >= 0"),
        ({"within": 2.5}, r"within must be an integer"),
        (
            {"types": ["equity", "loan"]},
            r"unknown type 'equity'; allowed: equity_investment, loan",
        ),
        ({"status": "done"}, r"unknown status 'done'; allowed: announced"),
        ({"since": "2024-13"}, r"since: '2024-13': month 13 does not exist"),
        ({"until": "soon"}, r"until: 'soon' is not a date"),
        ({"limit": -1}, r"limit=-1"),
        ({"time_budget": 0}, r"time_budget=0: give a number of seconds > 0"),
        ({"max_loops": 0}, r"max_loops=0: give a number of loops >= 1"),
        ({"min_amount": "big"}, r"min_amount='big': give a finite number"),
        ({"rollup": True}, r"rollup=True needs parents"),
        (
            {"rollup": True, "parents": {"a": "b", "b": "c", "c": "a"}},
            r"parent cycle: a -> b -> c -> a",
        ),
        ({"rollup": True, "parents": {"a": "a"}}, r"parent cycle: a -> a"),
        ({"entity": 3}, r"entity must be a non-empty entity id"),
        ({"ordered": "yes"}, r"ordered must be True or False"),
    ],
)
def test_argument_errors_say_what_is_allowed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        find_loops(OK, **kwargs)


@pytest.mark.parametrize(
    ("deals", "message"),
    [
        (OK.drop(columns=["payee"]), r"lacks column\(s\) payee"),
        (
            OK.assign(date=["2024-02-30", None]),
            r"deal '1': bad date: '2024-02-30': February 2024 has no day 30",
        ),
        (
            OK.assign(amount_usd=["12", "lots"]),
            r"deal '2': bad amount_usd: amount_usd 'lots' is not a number",
        ),
        (OK.assign(deal_id=["1", None]), r"row 1 of the deals frame has no deal_id"),
        ([("1", "a", "b")], r"row 0 of the deals is a tuple, not a mapping"),
        ("deals.csv", r"deals must be a pandas DataFrame or a list of records"),
    ],
)
def test_bad_frames_are_reported(deals: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        find_loops(deals)


@pytest.mark.parametrize(
    ("deals", "message"),
    [
        ([{"deal_id": "1", "payer": "a"}], r"records lack field\(s\) payee"),
        ([{**r, "date": "2024-02-30"} if r["deal_id"] == "1" else r for r in OK.to_dict("records")],
         r"deal '1': bad date: '2024-02-30': February 2024 has no day 30"),
        ([{**r, "amount_usd": "lots"} if r["deal_id"] == "2" else r for r in OK.to_dict("records")],
         r"deal '2': bad amount_usd: amount_usd 'lots' is not a number"),
        ([{**r, "deal_id": None} if r["deal_id"] == "2" else r for r in OK.to_dict("records")],
         r"row 1 of the deals has no deal_id"),
    ],
)
def test_bad_records_are_reported_as_bad_frames_are(deals: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        find_loops(deals)


@given(st.lists(st.one_of(st.sampled_from(["a", "b", "é", "", "1"]), st.integers(-3, 3)), max_size=30))
def test_factorize_without_pandas_numbers_as_pandas_does(values: list[Any]) -> None:
    """The records path numbers nodes without pandas exactly as pandas.factorize does,
    so a loop search reads the same graph either way."""
    import pandas as pd

    from circfin.loops import _cycles_input as ci

    arr = np.array(values, dtype=object)
    want_codes, want_uniq = pd.factorize(arr)
    real = ci._pandas
    try:
        ci._pandas = lambda: None  # as in a process that never loaded pandas
        codes, uniq = ci._factorize(arr)
    finally:
        ci._pandas = real
    assert codes.tolist() == want_codes.tolist() and uniq == list(want_uniq)


@given(st.lists(st.one_of(st.sampled_from(["a", "b", "é", "", "1", " a"]), st.integers(-3, 3),
                          st.none(), st.just(float("nan"))), max_size=40),
       st.sampled_from(["object", "str"]))
def test_shared_strings_read_a_column_as_one_str_per_row_does(values: list[Any], dtype: str) -> None:
    """Payers, payees and types are read as references to one str per distinct value:
    the same values as a str per row, missing ones as ''."""
    from circfin.loops import _cycles_input as ci

    col = pd.Series(values, dtype=object)
    if dtype == "str":
        col = pd.Series([v if isinstance(v, str) else None for v in values], dtype="str")
    shared, per_row = ci._shared_str_array(col), ci._str_array(col)
    assert shared.dtype == object and shared.tolist() == per_row.tolist()
    assert all(type(x) is str for x in shared.tolist())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_deal_ids_read_the_same_from_any_kind_of_column(data: st.DataObject) -> None:
    """Text ids without gaps are used as the frame holds them (no Python str per row);
    the loops and their legs are those of the same ids in an object column."""
    deals = data.draw(deal_frames())
    kw = data.draw(loop_kwargs(deals))

    def found(frame: pd.DataFrame) -> list[Any]:
        return [(lp.key, [leg.deal_ids for leg in lp.legs]) for lp in find_loops(frame, **kw)]

    want = found(deals.astype({"deal_id": object}))
    for dtype in ("str", "string"):
        assert found(deals.astype({"deal_id": dtype})) == want, dtype
    # a LoopIndex appends deals to the ids it was built from
    frame = deals.astype({"deal_id": "string"})
    index, twin = LoopIndex(frame, max_len=3), LoopIndex(deals.astype({"deal_id": object}), max_len=3)
    pairs = frame[frame["payer"] != frame["payee"]]
    if len(pairs):  # the way back of a deal: a two-entity loop at least, unless filtered out
        back = {"deal_id": "new", "payer": pairs["payee"].iloc[0], "payee": pairs["payer"].iloc[0]}
        got = [(lp.key, lp.deal_ids) for lp in index.add(back)]
        assert got == [(lp.key, lp.deal_ids) for lp in twin.add(back)]
        assert all("new" in ids for _, ids in got)


def test_loops_closed_by_rejects_unknown_arguments() -> None:
    with pytest.raises(ValueError, match="unknown argument.*colour"):
        loops_closed_by(OK, {"deal_id": "9", "payer": "a", "payee": "b"}, colour="red")


# --------------------------------------------------------------------------
# LoopResult behaves as a list


def test_loop_result_is_a_lazy_list() -> None:
    deals = complete_digraph(5)
    got = find_loops(deals)
    eager = list(got)
    assert isinstance(got, list) and len(got) == len(eager) == 84 and bool(got)
    assert got[0] is got[0] and got[-1] == eager[-1] and got[2:5] == eager[2:5]
    assert got == eager and eager == got and not (got != eager)  # noqa: SIM202 - __ne__ too
    assert got[3] in got and got.index(got[3]) == 3 and got.count(got[3]) == 1
    assert list(reversed(got)) == eager[::-1]
    assert [] + got == eager and got + [] == eager
    back = pickle.loads(pickle.dumps(got))
    assert back == eager and back.complete
    copy = got.copy()
    copy.append(eager[0])
    assert len(copy) == 85 and len(got) == 84
    got.sort(key=lambda lp: lp.key, reverse=True)
    assert got[0].key == max(lp.key for lp in eager)
    with pytest.raises(IndexError):
        find_loops(deals)[84]
    assert "complete=True" in repr(got)


# --------------------------------------------------------------------------
# Without numba the same code runs as Python


FALLBACK_CASE = """
import pandas as pd
from circfin.loops.engine import LoopIndex, find_loops
d = pd.DataFrame({"deal_id": list("123456"), "payer": list("abcacb"), "payee": list("bcacba"),
                  "date": ["2024-01-0%d" % i for i in range(1, 7)]})
k6 = pd.DataFrame([{"deal_id": f"{i}{j}", "payer": f"v{i}", "payee": f"v{j}",
                     "date": f"2024-01-{1 + (3 * i + j) % 9:02d}"}
                    for i in range(6) for j in range(6) if i != j])  # 409 loops, 1,818 legs
index = LoopIndex(k6.iloc[:-3])
result = (
    [lp.key for lp in find_loops(d)],
    [lp.key for lp in find_loops(d, ordered=True, within=3)],
    [lp.key for lp in LoopIndex(d).add({"deal_id": "7", "payer": "c", "payee": "a"})],
    [lp.key for lp in find_loops(k6, max_len=5, within=4, ordered=True)],
    [lp.deal_ids for lp in find_loops(k6)],
    [[lp.key for lp in index.add(row)] for row in k6.iloc[-3:].to_dict("records")],
)
"""


def test_pure_python_fallback_agrees() -> None:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run(
        [sys.executable, "-c", FALLBACK_CASE + "print(repr(result))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    scope: dict[str, Any] = {}
    exec(FALLBACK_CASE, scope)
    assert out.stdout.strip() == repr(scope["result"])
    assert scope["result"][0] == ["a>b", "a>c", "b>c", "a>b>c", "a>c>b"]
    assert len(scope["result"][4]) == 409
