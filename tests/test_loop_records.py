"""Loop records from the in-memory engine: built small, read from the engine's arrays
when first read, and in every way users see the same records as ones built field by field;
``circfin loops --format json|csv`` streams them as the same text as the whole dump."""

from __future__ import annotations

import copy
import gc
import io
import pickle
import random
import sys
import tracemalloc
from dataclasses import FrozenInstanceError
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circfin.graph.model import Leg, Loop, loop_key
from circfin.loops.engine import LoopIndex, find_loops

try:
    from circfin.tests.strategies import deal_frames, loop_kwargs
except ImportError:  # tests/ not importable as a package: import by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from strategies import deal_frames, loop_kwargs  # type: ignore[no-redef]


def complete_digraph(n: int) -> pd.DataFrame:
    """Every entity pays every other once, dated and with amounts: sum_k C(n, k) (k - 1)! loops."""
    rows = []
    for i in range(n):
        for j in range(n):
            if i != j:
                k = len(rows)
                rows.append({"deal_id": f"D{k:04d}", "date": f"2025-0{1 + k % 9}-1{k % 9}",
                             "payer": f"e{i}", "payee": f"e{j}", "type": "loan",
                             "amount_usd": 1e6 * (1 + k % 50), "amount_qualifier": "exact",
                             "status": "signed"})
    return pd.DataFrame(rows)


def rebuilt(lp: Loop) -> Loop:
    """The same loop built the ordinary way, field by field."""
    return Loop(tuple(lp.ids), tuple(lp.entities), tuple(lp.legs))


def test_records_read_in_any_order_are_the_records_built_field_by_field() -> None:
    deals = complete_digraph(9)  # 14,064 loops up to 6: more than one block of legs and rows
    in_order = [(lp.key, lp.to_dict()) for lp in find_loops(deals)]
    assert len(in_order) == 14_064
    loops = list(find_loops(deals))
    shuffled = list(range(len(loops)))
    random.Random(7).shuffle(shuffled)
    for i in shuffled[:3000] + list(range(len(loops) - 1, -1, -1)):
        lp = loops[i]
        assert (lp.key, lp.to_dict()) == in_order[i]
    for lp in loops[:500]:
        eager = rebuilt(lp)
        assert lp == eager and hash(lp) == hash(eager) and repr(lp) == repr(eager)
        assert lp.key == loop_key(lp.ids) and type(lp) is Loop
        assert lp.ids == tuple(leg.payer_id for leg in lp.legs)
        assert all(a.payee_id == b.payer_id for a, b in zip(lp.legs, lp.legs[1:] + lp.legs[:1],
                                                            strict=True))


def test_a_record_not_read_yet_behaves_like_any_other() -> None:
    deals = complete_digraph(4)
    fresh = lambda: list(find_loops(deals))  # noqa: E731 - records none of which was read
    eager = [rebuilt(lp) for lp in find_loops(deals)]
    assert fresh() == eager and eager == fresh()
    assert {*fresh(), *eager} == set(eager) and len(set(fresh())) == len(eager) == 20
    assert [repr(lp) for lp in fresh()] == [repr(lp) for lp in eager]
    assert pickle.loads(pickle.dumps(fresh())) == eager
    assert copy.deepcopy(fresh()) == eager and [copy.copy(lp) for lp in fresh()] == eager
    assert sorted(fresh(), key=lambda lp: (-lp.length, lp.key)) == sorted(
        eager, key=lambda lp: (-lp.length, lp.key))
    lp = fresh()[0]
    (src,) = [r for r in gc.get_referents(lp) if not isinstance(r, (int, type))]  # the engine's part
    with pytest.raises(FrozenInstanceError):
        lp.key = "x"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del lp.ids
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        lp.colour  # type: ignore[attr-defined]  # noqa: B018
    assert lp.key == eager[0].key and src not in gc.get_referents(lp)  # read: the engine let go
    match fresh()[1]:
        case Loop(ids, entities, legs, key):
            assert (ids, entities, legs, key) == (eager[1].ids, eager[1].entities, eager[1].legs,
                                                  eager[1].key)
    # Records from the Cypher engine are built field by field; both compare alike.
    leg = Leg("a", "b", "A", "B", ("d1",), 5.0)
    assert Loop(("a", "b"), ("A", "B"), (leg, leg)).key == "a>b"


def test_records_not_read_yet_cost_about_fifty_bytes_each() -> None:
    # a record points at its part of the engine's arrays and its row there, nothing more;
    # a program holding millions of loops pays for the ones it reads
    res = find_loops(complete_digraph(9))
    tracemalloc.start()
    try:
        loops = list(res)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(loops) == 14_064
    assert size / len(loops) <= 60  # 48 bytes a record, 8 for the list's pointer to it


def test_index_records_read_after_the_graph_grew_show_their_own_moment() -> None:
    deals = complete_digraph(4)
    index = LoopIndex(deals, max_len=3)
    first = list(index.add({"deal_id": "N1", "payer": "e0", "payee": "e1"}))
    second = list(index.add({"deal_id": "N2", "payer": "e0", "payee": "e1"}))
    assert len(first) == len(second) == 3  # e0>e1 and two triangles through e0 -> e1
    for a, b in zip(first, second, strict=True):
        assert a.key == b.key
        assert "N1" in a.deal_ids and "N2" not in a.deal_ids  # read only now
        assert "N1" in b.deal_ids and "N2" in b.deal_ids


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_records_equal_their_field_by_field_build_on_random_frames(data: st.DataObject) -> None:
    deals = data.draw(deal_frames())
    kw = data.draw(loop_kwargs(deals))
    loops = list(find_loops(deals, **kw))
    order = data.draw(st.permutations(range(len(loops))))
    for i in order:  # read in any order
        lp = loops[i]
        assert lp == rebuilt(lp) and lp.key == loop_key(lp.ids)
    assert [lp.to_dict() for lp in loops] == [lp.to_dict() for lp in find_loops(deals, **kw)]


def test_streamed_json_and_csv_are_the_same_text_as_the_whole_dump() -> None:
    from rich.console import Console

    from circfin.cli.budget import write_loops
    from circfin.cli.render import loops_csv, loops_json
    from circfin.loops.from_store import Budget
    from circfin.safe import json_safe

    deals = complete_digraph(7)
    loops = find_loops(deals, max_len=5)  # 805: more than one block of CSV rows
    assert len(loops) == 805
    quiet = Console(file=io.StringIO())
    for fmt, whole in (("json", loops_json(list(loops)) + "\n"),
                       ("csv", json_safe(loops_csv(list(loops))))):
        buf = io.StringIO()
        write_loops(loops, fmt, Budget(time_budget=0, max_loops=0), out=quiet, err=quiet, stream=buf)
        assert buf.getvalue() == whole, fmt
    assert whole.count("\n") == 806 and whole.startswith("key,length,entities,")
