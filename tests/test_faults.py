"""Faults: kills, concurrent writers, a vanished store, a full disk. Nothing may be lost or half-written.

Each kill test runs 20 times at seeded random moments across the whole ingest
(reading, validating, writing). After every kill the graph must hold either
nothing of that ingest or all of it (atomicity), and after a restart and the
same ingest run again it must equal a clean ingest exactly.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from circfin import queries
from circfin.errors import StoreUnavailable
from circfin.ingest import ingest
from circfin.store.embedded import EmbeddedServer
from circfin.store.falkordb_store import FalkorDBStore

from .conftest import ROOT

KILLS = 20
N_ENTITIES, N_DEALS = 400, 4000


def make_corpus(folder: Path, *, seed: int = 7, n_entities: int = N_ENTITIES,
                n_deals: int = N_DEALS, prefix: str = "D") -> list[Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ents = folder / "entities.csv"
    with ents.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["entity_id", "name", "kind", "aliases", "parent", "country", "revenue_usd",
                    "equity_usd", "market_cap_usd", "backlog_usd", "source_url"])
        for i in range(n_entities):
            parent = f"e{rng.randrange(i)}" if i > 10 and rng.random() < 0.1 else ""
            w.writerow([f"e{i}", f"Entity {i}", rng.choice(["ai_lab", "bank", "neocloud", "spv"]),
                        f"E{i} Holdings;E-{i}", parent, "US", rng.randint(1, 10**11), "", "", "",
                        "https://example.com/e"])
    deals = folder / f"deals-{prefix}.csv"
    types = ["equity_investment", "loan", "chip_purchase", "cloud_commitment", "warrant"]
    with deals.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["deal_id", "date", "payer", "payee", "type", "amount_usd", "amount_qualifier",
                    "status", "description", "source_url", "confidence"])
        for i in range(n_deals):
            a, b = rng.sample(range(n_entities), 2)
            amount = "" if rng.random() < 0.1 else str(rng.randint(1, 10**10))
            w.writerow([f"{prefix}{i}", f"202{rng.randint(0, 5)}-{rng.randint(1, 12):02d}",
                        f"Entity {a}" if rng.random() < 0.3 else f"e{a}", f"e{b}",
                        rng.choice(types), amount, "exact" if amount else "undisclosed",
                        rng.choice(["signed", "announced", "completed"]), f"deal {i}, \"quoted\"",
                        "https://example.com/d", rng.choice(["high", "medium"])])
    return [ents, deals]


def dump(store) -> tuple:
    """Everything circfin stores, in a canonical form."""
    ents = store.read(queries.load("entities").text)
    deals = store.read(queries.load("deals").text)
    pays = store.read("MATCH (a:Entity)-[r:PAYS]->(b:Entity) "
                      "RETURN a.id AS a, b.id AS b, r.deal_id AS d, r.amount_usd AS amt, "
                      "r.status AS s, r.day AS day")
    links = store.read("MATCH (a:Entity)-[:MADE]->(d:Deal)-[:TO]->(b:Entity) "
                       "RETURN a.id AS a, d.id AS d, b.id AS b")
    canon = lambda rows: sorted(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)  # noqa: E731
    return canon(ents), canon(deals), canon(pays), canon(links)


def _env(home: Path, graph: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRCFIN_", "NEO4J_"))}
    env["CIRCFIN_HOME"] = str(home)
    if graph:
        env["CIRCFIN_GRAPH"] = graph
    return env


def _ingest_proc(home: Path, files: list[Path], graph: str | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "circfin", "ingest", *map(str, files)],
                            env=_env(home, graph), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    files = make_corpus(folder)
    home = tmp_path_factory.mktemp("clean-home")
    srv = EmbeddedServer(home)
    try:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "circfin", "ingest", *map(str, files)],
                              env=_env(home), cwd=ROOT, capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - t0
        assert proc.returncode == 0, proc.stderr
        reference = dump(FalkorDBStore(srv.connect(), graph="circfin"))
    finally:
        srv.stop()
    assert len(reference[1]) == N_DEALS
    return files, reference, elapsed


def _wait_idle(db, timeout: float = 120.0) -> None:
    """Return once the server has no graph query running or waiting, twice in a row
    50 ms apart (the second look covers a command still in the socket's buffer)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        info = db.connection.execute_command("GRAPH.INFO")
        running, waiting = info[1], info[3]
        quiet = quiet + 1 if not running and not waiting else 0
        assert time.monotonic() < deadline, f"the server stayed busy: {info}"
        time.sleep(0.05)


def _empty() -> tuple:
    return ([], [], [], [])


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["database", "circfin"])
def test_sigkill_during_ingest_loses_nothing(corpus, tmp_path, victim):
    files, reference, elapsed = corpus
    rng = random.Random(f"kill-{victim}")
    outcomes: Counter[str] = Counter()
    # A killed database restarts on a home of its own each time; a killed circfin leaves
    # the server running, so its kills share one server (a graph each), as users' do.
    shared = None if victim == "database" else EmbeddedServer(tmp_path / "home")
    try:
        for i in range(KILLS):
            home = tmp_path / (f"home{i}" if shared is None else "home")
            graph = f"kill{i}"
            srv = shared or EmbeddedServer(home)
            srv.start()
            try:
                proc = _ingest_proc(home, files, graph)
                time.sleep(rng.uniform(0.05, elapsed * 1.1))
                if victim == "database":
                    os.kill(srv.pid(), signal.SIGKILL)
                else:
                    proc.send_signal(signal.SIGKILL)
                code = proc.wait(timeout=120)
                _, err = proc.communicate()
                if victim == "database" and code not in (0, -9):
                    assert code == 1 and "Traceback" not in err, err  # one clear line
                    assert "StoreUnavailable" in err or "StoreError" in err or "ServerError" in err, err
                store = FalkorDBStore(srv.connect(), graph=graph)  # restarts a killed server
                # A killed circfin's last command may still be running on the server (it
                # lands whole, or not at all): look once it is done, not in the middle.
                _wait_idle(srv.connect())
                state = dump(store)
                assert state in (_empty(), reference), f"kill {i}: half-written graph"
                outcomes["complete" if state == reference else "nothing written"] += 1
                ingest(store, files)  # the same ingest again, in this process (saves a start-up)
                assert dump(store) == reference, f"kill {i}: re-run differs from a clean ingest"
            finally:
                if shared is None:
                    srv.stop()
                    shutil.rmtree(home, ignore_errors=True)
    finally:
        if shared is not None:
            shared.stop()
    print(f"\n{victim} SIGKILL x{KILLS}: {dict(outcomes)}")
    assert sum(outcomes.values()) == KILLS


@pytest.mark.slow
def test_concurrent_ingests_and_reads(tmp_path):
    """Two ingests with overlapping deals and entities, a loop search and a report, at once."""
    files_a = make_corpus(tmp_path / "a", seed=1, n_entities=200, n_deals=1500, prefix="A")
    files_b = make_corpus(tmp_path / "b", seed=1, n_entities=200, n_deals=1500, prefix="A")
    extra = make_corpus(tmp_path / "c", seed=2, n_entities=200, n_deals=800, prefix="C")[1]
    home = tmp_path / "home"
    srv = EmbeddedServer(home)
    srv.start()
    try:
        procs = [_ingest_proc(home, files_a), _ingest_proc(home, [files_b[0], files_b[1], extra])]
        readers = [subprocess.Popen([sys.executable, "-m", "circfin", *args],
                                    env=_env(home), cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
                   for args in (["loops", "--max-len", "3", "--format", "json", "--max-loops", "2000"],
                                ["report", "--out", str(tmp_path / "report"), "--max-len", "3",
                                 "--format", "json", "--null-samples", "10"])]  # concurrency, not statistics
        for p in procs + readers:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
        assert (tmp_path / "report" / "report.json").exists()  # the report ran to its end
        store = FalkorDBStore(srv.connect(), graph="circfin")
        state = dump(store)
        counts = store.read(queries.load("counts").text)[0]
        assert counts == {"entities": 200, "deals": 2300, "pays": 2300}
        # the same two files ingested one after the other give the same graph
        home2 = tmp_path / "home2"
        srv2 = EmbeddedServer(home2)
        try:
            for fs in (files_a, [files_b[0], files_b[1], extra]):
                r = subprocess.run([sys.executable, "-m", "circfin", "ingest", *map(str, fs)],
                                   env=_env(home2), cwd=ROOT, capture_output=True, text=True)
                assert r.returncode == 0, r.stderr
            assert dump(FalkorDBStore(srv2.connect(), graph="circfin")) == state
        finally:
            srv2.stop()
    finally:
        srv.stop()


def test_store_stopped_under_a_command(tmp_path):
    """The server goes away between reading and writing: a clear error, nothing written."""
    srv = EmbeddedServer(tmp_path / "home")
    try:
        store = FalkorDBStore(srv.connect(), graph="g")
        files = make_corpus(tmp_path / "c", n_entities=20, n_deals=50)
        import circfin.ingest.pipeline as pipeline

        real = pipeline.stored_entities
        calls = {"n": 0}

        def stop_after_reading(s):
            rows = real(s)
            calls["n"] += 1
            if calls["n"] == 2:  # the second read comes just before the write
                srv.stop()
            return rows

        pipeline.stored_entities = stop_after_reading
        try:
            with pytest.raises(StoreUnavailable, match="lost the connection"):
                ingest(store, files)
        finally:
            pipeline.stored_entities = real
        store = FalkorDBStore(srv.connect(), graph="g")
        assert dump(store) == _empty()
        assert srv.log_file.exists()  # the server's log is kept for the user
    finally:
        srv.stop()


def test_unreachable_stores_exit_1_with_one_line(tmp_path):
    for spec in ("redis://127.0.0.1:1", "bolt://neo4j:pw@127.0.0.1:1"):
        proc = subprocess.run([sys.executable, "-m", "circfin", "--store", spec, "loops"],
                              env=_env(tmp_path), cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1, (spec, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
        assert "StoreUnavailable" in proc.stderr


@pytest.mark.slow
def test_disk_full(tmp_path):
    """The data folder fills up mid-ingest: a clear error, nothing half-written, the log kept."""
    if os.getuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tiny tmpfs")
    home = tmp_path / "home"
    home.mkdir()
    data = home / "data"
    data.mkdir(mode=0o700)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(data)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    srv = EmbeddedServer(home)
    try:
        small = make_corpus(tmp_path / "small", seed=3, n_entities=30, n_deals=100, prefix="S")
        big = make_corpus(tmp_path / "big", seed=4, n_entities=30, n_deals=20000, prefix="B")[1]
        ok = subprocess.run([sys.executable, "-m", "circfin", "ingest", *map(str, small)],
                            env=_env(home), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert ok.returncode == 0, ok.stderr
        before = dump(FalkorDBStore(srv.connect(), graph="circfin"))
        full = subprocess.run([sys.executable, "-m", "circfin", "ingest", str(small[0]), str(big)],
                              env=_env(home), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert full.returncode == 1, full.stdout + full.stderr
        assert "Traceback" not in full.stderr
        assert "StoreUnavailable" in full.stderr and "AOF" in full.stderr, full.stderr
        assert srv.log_file.exists() and srv.log_file.read_text().strip()
        # restart on the same (still full) disk: the earlier data is intact, the big
        # ingest left nothing behind
        assert dump(FalkorDBStore(srv.connect(), graph="circfin")) == before
    finally:
        srv.stop()
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


@pytest.mark.slow
def test_restart_after_thousands_of_updated_and_deleted_deals(tmp_path):
    """Ingest 4,000 deals, ingest them again with every deal changed, delete half,
    add an older circfin's big MULTI/EXEC writes to the AOF, then SIGKILL the
    server and later stop it: every next command reopens the data (Redis aborted
    with '!server.in_exec' when circfin pinged it while it replayed a MULTI/EXEC)."""
    from .test_server_hardening import _deal_count, _legacy_multi_exec_writes

    home = tmp_path / "home"
    first = make_corpus(tmp_path / "v1", seed=7)
    second = make_corpus(tmp_path / "v2", seed=8)  # same deal ids, other fields
    srv = EmbeddedServer(home)
    timings = {}
    try:
        for name, args in (("ingest", ["ingest", *map(str, first)]),
                           ("re-ingest, all changed", ["ingest", *map(str, second)]),
                           ("delete half", ["delete", *(f"D{i}" for i in range(N_DEALS // 2))])):
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, "-m", "circfin", *args], env=_env(home), cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
            timings[name] = time.monotonic() - t0
            assert r.returncode == 0, r.stderr
        _legacy_multi_exec_writes(srv, 3000, 1000, 2000)
        counts = FalkorDBStore(srv.connect(), graph="circfin").read(queries.load("counts").text)[0]
        assert counts["deals"] == N_DEALS // 2
        reference = dump(FalkorDBStore(srv.connect(), graph="circfin"))
        for how in ("SIGKILL", "db stop"):
            if how == "SIGKILL":
                os.kill(srv.pid(), signal.SIGKILL)
            else:
                r = subprocess.run([sys.executable, "-m", "circfin", "db", "stop"], env=_env(home),
                                   cwd=ROOT, capture_output=True, text=True, timeout=60)
                assert r.returncode == 0 and "stopped" in r.stdout, r.stderr
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, "-m", "circfin", "db", "counts"], env=_env(home),
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
            timings[f"first command after {how}"] = time.monotonic() - t0
            assert r.returncode == 0, r.stderr
            assert f"{N_DEALS // 2} deals" in r.stdout.replace(",", ""), r.stdout
            assert dump(FalkorDBStore(srv.connect(), graph="circfin")) == reference
            assert _deal_count(srv) == [1500, 1500, 500]
        assert "ASSERTION FAILED" not in srv.log_file.read_text(errors="replace")
    finally:
        srv.stop()
    print("\n" + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))
