"""The Cypher catalogue: well-formed headers, clean under Neo4j's linter, runnable on FalkorDB."""

from __future__ import annotations

import re

import pytest

from circfin import queries
from circfin.graph.schema import LABELS, REL_TYPES, label, rel_type
from circfin.queries.lint import lint

NAMES = queries.names()


def test_catalogue_is_not_empty():
    assert {"loops", "upsert_deals", "upsert_entities", "deals", "entities"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_header_declares_exactly_the_parameters_used(name):
    q = queries.load(name)
    body = "\n".join(line for line in q.text.splitlines() if not line.lstrip().startswith("//"))
    used = set(re.findall(r"\$([A-Za-z_]\w*)", body))
    assert used == set(q.params), f"{name}: header params {q.params} but body uses {sorted(used)}"
    assert q.returns, f"{name}: no return columns declared"


@pytest.mark.parametrize("name", NAMES)
def test_only_whitelisted_labels_and_types(name):
    text = queries.load(name).text
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    for lab in re.findall(r"\(\s*\w*\s*:\s*([A-Za-z_]\w*)", body):
        assert lab in LABELS, f"{name}: label {lab}"
    for typ in re.findall(r"\[\s*\w*\s*:\s*([A-Za-z_|]+)", body):
        for t in typ.split("|"):
            assert t in REL_TYPES, f"{name}: relationship type {t}"


def test_catalogue_passes_neo4j_linter():
    diags = lint([(n, queries.load(n).text, queries.load(n).params) for n in NAMES])
    assert diags == [], "\n".join(map(str, diags))


def test_linter_catches_mistakes():
    """The check above can fail: syntax, undefined variables and parameters, unknown
    labels and misspelt properties are all reported."""
    diags = lint([
        ("syntax", "MATCH (e:Entity) RETRN e", ()),
        ("variable", "MATCH (e:Entity) RETURN x", ()),
        ("param", "MATCH (e:Entity {id: $id}) RETURN e", ()),
        ("label", "MATCH (e:Entitty) RETURN e", ()),
        ("property", "MATCH (e:Entity) RETURN e.nmae", ()),
    ])
    assert {d.query for d in diags} == {"syntax", "variable", "param", "label", "property"}


def test_bounds_are_checked_integers():
    q = queries.load("loops")
    text = q.bounded(3, 4)
    body = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    assert any("[:PAYS*3..4]" in line for line in body)
    assert not any("*2..6" in line for line in body)
    for bad in [(0, 3), (3, 2), (2, 13)]:
        with pytest.raises(ValueError):
            q.bounded(*bad)
    with pytest.raises(TypeError):
        q.bounded(2, "6; MATCH (n) DETACH DELETE n")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        queries.load("upsert_deals").bounded(2, 3)


def test_whitelist_refuses_unknown_labels():
    assert label("Entity") == "`Entity`" and rel_type("PAYS") == "`PAYS`"
    with pytest.raises(ValueError):
        label("Entity`) DETACH DELETE (n")
    with pytest.raises(ValueError):
        rel_type("KNOWS")


def test_unknown_query_name():
    with pytest.raises(KeyError):
        queries.load("nope")
    with pytest.raises(ValueError):
        queries.load("../etc/passwd")


def test_neo4j_clear_deletes_every_circfin_label_and_passes_the_linter():
    """Neo4j's `clear()` names each node kind of circfin's: a kind it missed would stay in
    the database, and the next ingest into the cleared store would find it."""
    from circfin.store.neo4j_store import clear_statement

    text = clear_statement()
    assert {m for m in re.findall(r"n:`(\w+)`", text)} == set(LABELS)
    assert lint([("clear", text, ())]) == []


def test_the_revision_statements_pass_neo4js_parser():
    """Every store write ends with the revision stamp, and every snapshot reads the
    token twice: both must run on Neo4j as on FalkorDB."""
    from circfin.store.base import REVISION_READ, revision_stamp

    stamp, params = revision_stamp()
    assert set(params) == {"token"} and params["token"] != revision_stamp()[1]["token"]
    assert lint([("revision_read", REVISION_READ, ()), ("revision_stamp", stamp, ("token",))]) == []
