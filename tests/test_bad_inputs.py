"""Every malformed input gets one clear error naming file, line and field, exit 1, and no write.

The corpus lives in tests/bad_inputs/ (made by generate.py there); each case
names the line, field and a phrase the error must carry. The command runs as
a user runs it, through circfin's entry point, against the real embedded store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from circfin import queries
from circfin.cli.app import main
from circfin.store.falkordb_store import FalkorDBStore

HERE = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED = json.loads((HERE / "expected.json").read_text())


def run_cli(monkeypatch, capsys, server, graph, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("CIRCFIN_HOME", str(server.home))
    monkeypatch.setenv("CIRCFIN_GRAPH", graph)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", ["circfin", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_corpus_is_big_enough():
    assert len(EXPECTED) >= 50


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input(name, monkeypatch, capsys, server, graph_name):
    exp = EXPECTED[name]
    path = HERE / name
    code, out, err = run_cli(monkeypatch, capsys, server, graph_name, "ingest", str(path))
    assert code == 1, (out, err)
    assert "Traceback" not in err and out == ""
    where = f"{path}:{exp['line']}" if exp["line"] else str(path)
    assert where in err, err
    if exp["field"]:
        assert f"field {exp['field']!r}" in err, err
    assert exp["phrase"] in err, err
    store = FalkorDBStore(server.connect(), graph=graph_name)
    rows = store.read(queries.load("counts").text)
    assert not rows or rows[0] == {"entities": 0, "deals": 0, "pays": 0}, "something was written"


def test_hundred_megabyte_line(tmp_path, monkeypatch, capsys, server, graph_name):
    header = ("deal_id,date,payer,payee,type,amount_usd,amount_qualifier,status,description,"
              "source_url,confidence\n")
    path = tmp_path / "huge.csv"
    with path.open("w") as f:
        f.write(header)
        f.write("D1,2024,a,b,loan,1,exact,signed,")
        f.write("x" * 100_000_000)
        f.write(",https://example.com,high\n")
    code, _, err = run_cli(monkeypatch, capsys, server, graph_name, "ingest", str(path))
    assert code == 1 and f"{path}:2" in err and "longer than" in err, err


def test_file_over_the_size_limit(tmp_path, monkeypatch, capsys, server, graph_name):
    import circfin.ingest.readers as readers

    path = tmp_path / "big.csv"
    path.write_text("deal_id\n" + "x\n" * 1000)
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1000)
    code, _, err = run_cli(monkeypatch, capsys, server, graph_name, "ingest", str(path))
    assert code == 1 and "the limit is" in err and "split it" in err, err


def test_debug_shows_the_traceback(monkeypatch, capsys, server, graph_name):
    monkeypatch.setenv("CIRCFIN_HOME", str(server.home))
    monkeypatch.setattr(sys, "argv", ["circfin", "--debug", "ingest", str(HERE / "date_feb30.csv")])
    from circfin.errors import ValidationError

    with pytest.raises(ValidationError):
        main()
