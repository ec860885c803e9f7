"""The Neo4j store, for real: a server from NEO4J_URI, or one testcontainers starts.

Where neither is possible (no Docker engine, no NEO4J_URI) these tests skip
and say so; where one is expected and fails, they fail.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from circfin import queries
from circfin.ingest import ingest
from circfin.loops.from_store import loops_from_store
from circfin.store.neo4j_store import Neo4jStore

from .conftest import NEO4J_ENV, SEED

pytestmark = pytest.mark.neo4j


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def neo4j_store() -> Iterator[Neo4jStore]:
    uri = NEO4J_ENV.get("NEO4J_URI")
    if uri:
        import neo4j

        auth = (NEO4J_ENV.get("NEO4J_USER", "neo4j"), NEO4J_ENV.get("NEO4J_PASSWORD", ""))
        driver = neo4j.GraphDatabase.driver(uri, auth=auth)
        store = Neo4jStore(driver, database=NEO4J_ENV.get("NEO4J_DATABASE"))
        store.verify()  # NEO4J_URI is set: an unreachable server is a failure, not a skip
        store.clear()
        yield store
        store.clear()
        store.close()
        return
    if not _docker_engine():
        pytest.skip("no Neo4j here: NEO4J_URI is not set and no Docker engine runs for "
                    "testcontainers (the Cypher is still linted by Neo4j's parser)")
    from testcontainers.neo4j import Neo4jContainer

    with Neo4jContainer("neo4j:5.26") as container:
        import neo4j

        driver = neo4j.GraphDatabase.driver(container.get_connection_url(),
                                            auth=("neo4j", container.password))
        store = Neo4jStore(driver)
        store.verify()
        yield store
        store.close()


def test_schema_is_idempotent(neo4j_store):
    neo4j_store.ensure_schema()
    neo4j_store.ensure_schema()


def test_seed_ingest_is_idempotent_and_loops_agree(neo4j_store, store):
    files = [SEED]
    first = ingest(neo4j_store, files)
    assert len(first.deals_new) >= 120
    again = ingest(neo4j_store, files)
    assert again.deals_new == [] and again.deals_updated == []
    counts = neo4j_store.read(queries.load("counts").text)[0]
    assert counts["deals"] == counts["pays"] == len(first.deals_new)
    ingest(store, files)  # the same data in the embedded FalkorDB
    for engine in ("cypher", "memory"):
        on_neo4j, _, _ = loops_from_store(neo4j_store, engine=engine, max_len=4)
        on_falkor, _, _ = loops_from_store(store, engine=engine, max_len=4)
        assert [lp.to_dict() for lp in on_neo4j] == [lp.to_dict() for lp in on_falkor]
    keys = {lp.key for lp in on_neo4j}
    assert "nvidia>openai>oracle" in keys
