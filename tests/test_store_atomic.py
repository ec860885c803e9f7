"""A write is all or nothing even when a statement fails at run time, and a name
cannot end up held by two entities, even when two ingests race."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from circfin import queries
from circfin.errors import InputError, QueryError, ValidationError
from circfin.ingest import ingest
from circfin.loops.from_store import loops_from_store
from circfin.store.falkordb_store import combine_statements

from .conftest import ENTITIES_HEADER, SEED, write


def _counts(store) -> dict[str, Any]:
    return store.read(queries.load("counts").text)[0]


def test_a_statement_failing_at_run_time_leaves_the_seed_as_it_was(store):
    """The reported case: the statements that clear the changed deals' edges ran,
    the upsert after them failed, and 155 payment edges became 56. Now the
    failed upsert takes the clearing statements with it."""
    ingest(store, [SEED])
    before, loops_before = _counts(store), len(loops_from_store(store, max_len=4))
    deals = store.read(queries.load("deals").text)
    ids = [d["deal_id"] for d in deals]
    assert before["pays"] == len(ids) > 100
    bad = [{**d, "day": 1, "date_from": "not a date", "description": None, "source_url": None}
           for d in deals[:3]]  # date() fails at run time, after the clears have run
    with pytest.raises(QueryError, match="nothing was written"):
        store.write([(queries.load("clear_deal_edges").text, {"ids": ids}),
                     (queries.load("clear_deal_links").text, {"ids": ids}),
                     (queries.load("upsert_deals").text, {"rows": bad})])
    assert _counts(store) == before
    assert len(loops_from_store(store, max_len=4)) == loops_before


def test_a_unique_constraint_violation_undoes_the_statements_before_it(store):
    store.ensure_schema()
    store.write([("CREATE (:Entity {id: $id})", {"id": "a"})])
    with pytest.raises(QueryError):
        store.write([("UNWIND $ids AS i CREATE (:Entity {id: i})", {"ids": ["b", "c"]}),
                     ("CREATE (:Entity {id: $id})", {"id": "a"})])  # a exists: unique id
    assert sorted(r["id"] for r in store.read("MATCH (e:Entity) RETURN e.id AS id")) == ["a"]


def test_statements_see_each_others_writes_in_order(store):
    store.write([("CREATE (:Entity {id: $id, n: 1})", {"id": "a"}),
                 ("MATCH (e:Entity {id: $id}) SET e.n = e.n + 1 RETURN e.n AS n", {"id": "a"}),
                 ("MATCH (e:Entity {id: $id}) SET e.n = e.n * 10", {"id": "a"})])
    assert store.read("MATCH (e:Entity) RETURN e.n AS n") == [{"n": 20}]


def test_a_nul_in_a_value_is_refused_before_anything_is_sent(store):
    with pytest.raises(InputError, match="NUL"):
        store.write([("CREATE (:Entity {id: $id})", {"id": "a"}),
                     ("CREATE (:Entity {id: $id})", {"id": "b\x00"})])
    assert store.read("MATCH (e:Entity) RETURN count(e) AS n") in ([], [{"n": 0}])


def test_combine_renames_each_statements_parameters():
    q, p = combine_statements([("MATCH (e {id: $id}) RETURN e", {"id": 1}),
                               ("MATCH (e {id: $id}) DELETE e", {"id": 2})])
    assert p == {"s0_id": 1, "s1_id": 2}
    assert "$s0_id" in q and "$s1_id" in q and "$id" not in q
    with pytest.raises(ValueError, match="not given"):
        combine_statements([("RETURN $x", {})])


class _Racing:
    """A store whose first write lets another ingest land just before it."""

    def __init__(self, inner: Any, other: list[Path]) -> None:
        self._inner, self._other, self._raced = inner, other, False

    def write(self, statements: Any) -> None:
        if not self._raced:
            self._raced = True
            ingest(self._inner, self._other)
        self._inner.write(statements)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_racing_ingests_cannot_give_one_alias_to_two_entities(store, tmp_path):
    ours = write(tmp_path / "a" / "entities.csv", ENTITIES_HEADER +
                 "acme,Acme,other,Roadrunner,,US,,,,,\n")
    theirs = write(tmp_path / "b" / "entities.csv", ENTITIES_HEADER +
                   "coyote,Coyote,other,Roadrunner,,US,,,,,\n")
    with pytest.raises((ValidationError, QueryError)) as e:
        ingest(_Racing(store, [theirs]), [ours])
    if isinstance(e.value, ValidationError):  # validating again names the row
        assert "entities.csv:2" in str(e.value) and "coyote" in str(e.value).lower()
    ids = sorted(r["id"] for r in store.read("MATCH (e:Entity) RETURN e.id AS id"))
    assert ids == ["coyote"]  # theirs landed whole, ours not at all


def test_the_library_ingest_call_works_every_time(store, tmp_path):
    """`circfin.ingest(store, ...)` raised "'module' object is not callable" on the
    second call: importing the package replaced the lazy function with it."""
    import circfin

    f = write(tmp_path / "entities.csv", ENTITIES_HEADER + "acme,Acme,other,,,US,,,,,\n")
    assert circfin.ingest(store, [f]).entities_new == 1
    assert circfin.ingest(store, [f]).entities_unchanged == 1
    from circfin import ingest as again

    assert again(store, [f], dry_run=True).dry_run


def test_the_roll_up_built_in_the_same_write_as_its_deals_carries_their_fields(store):
    """FalkorDB reads the properties of a relationship created earlier in the same
    query as null; the roll-up reads the Deal nodes instead, so PAYS_TOP written in
    one query with the deals still carries each deal's id, type and amount. No
    indexes here (they hid the problem in the ingest tests)."""
    ents = [{"id": i, "name": i, "kind": "other", "aliases": [], "name_keys": [i], "country": None,
             "revenue_usd": None, "equity_usd": None, "market_cap_usd": None, "backlog_usd": None,
             "source_url": None} for i in ("a", "b", "group")]
    deals = [{"deal_id": d, "date": "2024", "day": 19723, "date_from": "2024-01-01", "payer": p,
              "payee": q, "type": "loan", "amount_usd": 5.0, "amount_qualifier": "exact",
              "status": "signed", "description": "", "source_url": None, "confidence": "high"}
             for d, p, q in (("d1", "a", "b"), ("d2", "b", "a"))]
    q = queries.load
    store.write([(q("upsert_entities").text, {"rows": ents}),
                 (q("set_parents").text, {"rows": [{"id": "b", "parent": "group"}]}),
                 (q("upsert_deals").text, {"rows": deals}),
                 (q("clear_rollup").text, {}), (q("build_rollup").text, {})])
    got = store.read("MATCH (x)-[r:PAYS_TOP]->(y) RETURN x.id AS x, y.id AS y, r.deal_id AS d, "
                     "r.type AS t, r.amount_usd AS amt ORDER BY d")
    assert got == [{"x": "a", "y": "group", "d": "d1", "t": "loan", "amt": 5.0},
                   {"x": "group", "y": "a", "d": "d2", "t": "loan", "amt": 5.0}]


def _token(store) -> list[str]:
    from circfin.store.base import REVISION_READ

    return [r["token"] for r in store.read(REVISION_READ)]


def test_every_write_gives_the_graph_a_new_revision_and_a_failed_one_does_not(store):
    assert _token(store) == []  # a new graph: no write yet
    seen = set()
    for i in range(3):
        store.write([("CREATE (:Entity {id: $id})", {"id": f"e{i}"})])
        (token,) = _token(store)
        assert token not in seen
        seen.add(token)
    with pytest.raises(QueryError):
        store.write([("CREATE (:Entity {id: $id})", {"id": "x"}),
                     ("CREATE (:Entity {id: $id, day: date($d)})", {"id": "y", "d": "not a date"})])
    assert _token(store) == [token]  # the failed write changed nothing, the token included
    assert store.read("MATCH (r:Revision) RETURN count(r) AS n") == [{"n": 1}]


class _WriteBetweenReads:
    """The store, with a write landing between the first and second query of each
    of the first ``times`` read_many calls (as a concurrent ingest would)."""

    def __init__(self, store, write, times: int) -> None:
        self.store, self._write, self.times, self.calls = store, write, times, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def read_many(self, reads, *, timeout_ms=None):
        self.calls += 1
        if self.calls > self.times:
            return self.store.read_many(reads, timeout_ms=timeout_ms)
        first = self.store.read_many(reads[:1])
        self._write()
        return first + self.store.read_many(reads[1:])


def test_a_snapshot_straddling_an_ingest_is_read_again_as_of_one_moment(store, tmp_path):
    """A loop search or report that reads while an ingest lands sees the ingest whole
    or not at all: never the old deals with the new entities, or the reverse."""
    from circfin.loops.from_store import snapshot

    ingest(store, [SEED])
    extra = write(tmp_path / "deals.csv",
                  "deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,"
                  "source_url,confidence\n"
                  "X1,2026-06,nvidia,openai,equity_investment,5000000000,exact,announced,x,"
                  "https://example.com/x,high\n")
    spy = _WriteBetweenReads(store, lambda: ingest(store, [extra]), times=1)
    snap = snapshot(spy)
    assert spy.calls == 2  # the torn read was noticed and read again
    assert "X1" in {r["deal_id"] for r in snap.deal_rows}
    assert len(snap.deal_rows) == len(store.read(queries.load("deals").text))


def test_a_graph_written_to_at_every_read_gives_a_clear_error(store):
    from circfin.errors import StoreError
    from circfin.store.base import read_consistent

    n = iter(range(100))
    spy = _WriteBetweenReads(store, lambda: store.write([("CREATE (:Entity {id: $id})",
                                                          {"id": f"e{next(n)}"})]), times=100)
    with pytest.raises(StoreError, match="written to during each of 3 attempts"):
        read_consistent(spy, [("MATCH (e:Entity) RETURN count(e) AS n", {})], attempts=3)
    assert spy.calls == 3
