"""The circfin command as a user runs it, against the real embedded database."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .conftest import DEALS_HEADER, write


@pytest.fixture
def seeded(cli):
    proc = cli("seed", check=True)
    assert "deals" in proc.stdout
    return cli


def test_seed_then_loops_finds_the_stargate_loop(seeded):
    for engine in ("cypher", "memory"):
        proc = seeded("loops", "--max-len", "4", "--format", "json", "--engine", engine, check=True)
        loops = json.loads(proc.stdout)
        keys = {lp["key"] for lp in loops}
        assert "nvidia>openai>oracle" in keys, engine
        stargate = next(lp for lp in loops if lp["key"] == "nvidia>openai>oracle")
        assert stargate["entities"] == ["Nvidia", "OpenAI", "Oracle"]
        legs = {(leg["payer"], leg["payee"]): leg for leg in stargate["legs"]}
        assert "D068" in legs[("OpenAI", "Oracle")]["deal_ids"]
        assert "D049" in legs[("Oracle", "Nvidia")]["deal_ids"]
        assert all(leg["amount_usd"] is None or leg["amount_usd"] > 0 for leg in stargate["legs"])
        assert len(keys) == len(loops)  # each loop once


def test_seed_is_idempotent(seeded):
    proc = seeded("seed", "--format", "json", check=True)
    rep = json.loads(proc.stdout)
    assert rep["deals"]["new"] == 0 and rep["deals"]["updated"] == 0
    assert rep["deals"]["unchanged"] >= 120 and rep["entities"]["unchanged"] >= 50


def test_loops_csv_and_table(seeded):
    proc = seeded("loops", "--max-len", "3", "--format", "csv", check=True)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows and {"key", "entities", "deal_ids", "bottleneck_usd"} <= set(rows[0])
    table = seeded("loops", "--max-len", "3", check=True).stdout
    assert "Nvidia → OpenAI → Oracle → Nvidia" in table


def test_bad_input_is_one_clear_line_and_exit_1(cli, tmp_path):
    p = write(tmp_path / "deals.csv", DEALS_HEADER +
              "D1,2024-02-31,a,b,loan,1,exact,signed,,https://x.org,high\n")
    proc = cli("ingest", str(p))
    assert proc.returncode == 1
    assert f"{p}:2: field 'date'" in proc.stderr and "Traceback" not in proc.stderr
    counts = json.loads(cli("db", "counts", "--format", "json", check=True).stdout)
    assert counts["deals"] == 0


def test_bad_options_exit_non_zero(cli):
    for args in (["loops", "--max-len", "1"], ["loops", "--types", "gift"],
                 ["loops", "--since", "2024-13"], ["loops", "--engine", "quantum"],
                 ["loops", "--entity", "Nobody Inc"]):
        proc = cli(*args)
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr, args


@pytest.mark.parametrize("cmd", ["ingest", "seed", "delete", "loops", "demo", "export", "concentration", "hubs",
                                 "pairs", "db start", "db stop", "db status", "db counts", "deals", "entities",
                                 "show", "audit", "score", "significance", "shock", "report", "graph",
                                 "timeline", "brief", "circularity", "exposure", "stress", "browser",
                                 "sec financials", "sec holdings", "sec filings", "review list",
                                 "review accept", "review reject"])
def test_every_command_has_help_with_an_example(cli, cmd):
    proc = cli(*cmd.split(), "--help", check=True)
    assert "Example:" in proc.stdout, cmd


@pytest.mark.parametrize(("width", "colour"), [("40", "NO_COLOR"), ("62", "FORCE_COLOR"), ("100", "NO_COLOR"),
                                               ("100", "FORCE_COLOR"), ("400", "NO_COLOR")])
def test_the_command_list_is_each_summary_in_full_and_the_same_as_the_full_apps(cli, width, colour):
    # a process's `circfin --help` is drawn without typer from the recorded listing (cli/fast_help.py);
    # in this process the app draws it from stand-ins for the commands; `--debug --help` builds every
    # command. All three print the same, colour and all.
    env = {"COLUMNS": width, "NO_COLOR": "1" if colour == "NO_COLOR" else "", "FORCE_COLOR": "1" if colour == "FORCE_COLOR" else ""}
    drawn = cli("--help", env=env, check=True, process=True).stdout
    full = cli("--debug", "--help", env=env, check=True, process=True).stdout
    assert drawn == full
    listing = cli("--help", env=env, check=True).stdout
    assert listing == cli("--debug", "--help", env=env, check=True).stdout
    if width == "400":  # nothing wraps: each command's line holds its docstring's first paragraph
        from circfin.cli.app import app

        for c in app.registered_commands:
            summary = " ".join((c.callback.__doc__ or "").strip().split("\n\n")[0].split())
            name = c.name or c.callback.__name__
            assert any(ln.split("│")[1].split() == [name, *summary.split()]
                       for ln in drawn.splitlines() if ln.count("│") == 2), name


def test_store_credentials_are_never_printed(cli):
    proc = cli("--store", "bolt://neo4j:s3cr3t-pw@127.0.0.1:1/", "db", "counts")
    assert proc.returncode == 1
    assert "s3cr3t-pw" not in proc.stdout + proc.stderr
    assert "StoreUnavailable" in proc.stderr


def test_analytics_commands_json(seeded):
    conc = json.loads(seeded("concentration", "--format", "json", "--limit", "500", check=True).stdout)
    assert {"concentration", "self_funded_demand"} <= set(conc)
    assert all(0 < r["hhi"] <= 1 for r in conc["concentration"])
    hubs = json.loads(seeded("hubs", "--format", "json", "--limit", "3", check=True).stdout)
    assert len(hubs) == 3 and hubs[0]["volume_usd"] >= hubs[1]["volume_usd"] >= hubs[2]["volume_usd"]
    pairs = json.loads(seeded("pairs", "--format", "json", check=True).stdout)
    nv = [p for p in pairs if (p["funder_id"], p["funded_id"]) == ("microsoft", "openai")]
    assert nv and "D001" in nv[0]["funding_deals"]


@pytest.mark.parametrize("flags", [[], ["--rollup"], ["--ordered", "--within", "365"],
                                   ["--entity", "Oracle", "--since", "2025"],
                                   ["--types", "equity_investment,cloud_commitment,chip_purchase",
                                    "--min-amount", "1e9", "--status", "all"]])
def test_engines_print_the_same_json(seeded, flags):
    outs = [seeded("loops", *flags, "--max-len", "4", "--format", "json", "--engine", e,
                   check=True).stdout for e in ("memory", "cypher")]
    assert outs[0] == outs[1] and json.loads(outs[0]) is not None


def test_hostile_filter_arguments_are_values_not_code(seeded):
    before = json.loads(seeded("db", "counts", "--format", "json", check=True).stdout)
    for args in (["--entity", "x'}) MATCH (n) DETACH DELETE n //"],
                 ["--entity", "`Entity`) DETACH DELETE (n"],
                 ["--types", "loan'] OR true //"], ["--status", "signed\\n} RETURN 1"],
                 ["--since", "2024' OR '1'='1"], ["--min-amount", "1e9; DROP"]):
        proc = seeded("loops", *args)
        assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, args
    after = json.loads(seeded("db", "counts", "--format", "json", check=True).stdout)
    assert before == after


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_export_reads_back_in_networkx(seeded, tmp_path, fmt):
    import networkx as nx

    out = tmp_path / f"web.{fmt}"
    seeded("export", "--out", str(out), "--format", fmt, "--max-len", "4", check=True)
    g = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
    counts = json.loads(seeded("db", "counts", "--format", "json", check=True).stdout)
    cancelled = len(json.loads(seeded("deals", "--status", "cancelled", "--format", "json",
                                      check=True).stdout)["deals"])  # not counted by default
    assert g.number_of_edges() == counts["deals"] - cancelled
    assert g.number_of_nodes() == counts["entities"]
    edges = {d["deal_id"]: (u, v, d) for u, v, d in g.edges(data=True)}
    u, v, d068 = edges["D068"]
    assert (u, v) == ("openai", "oracle") and d068["source_url"].startswith("http")
    assert int(d068["loops"]) > 0 and d068["deal_type"] == "cloud_commitment"
    assert g.nodes["nvidia"]["label"] == "Nvidia" and int(g.nodes["nvidia"]["loops"]) > 0
    # holdings by whose money they are: Northern Trust's 13F Nvidia stake is its clients'
    nt, tether = g.nodes["northern-trust"], g.nodes["tether"]
    assert float(nt["holdings_managed_usd"]) == 47_331_798_000 and "holdings_own_usd" not in nt
    assert float(tether["holdings_own_usd"]) > 1e11 and "holdings_managed_usd" not in tether
    bad = seeded("export", "--out", str(tmp_path / "x"), "--format", "pdf")
    assert bad.returncode == 1 and "graphml or gexf" in bad.stderr


def _row_numbers(table: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r"^│\s*(\d+) │", table, flags=re.M)]


def test_tables_show_the_first_rows_and_say_how_many_more(seeded):
    # A table is for reading: the first 25 loops (50 deals, 50 entities) and how many
    # there are; --limit 0 shows all; json keeps every row. Checked against the json.
    n_loops = len(json.loads(seeded("loops", "--format", "json", check=True).stdout))
    deals = json.loads(seeded("deals", "--format", "json", check=True).stdout)["deals"]
    assert n_loops > 25 and len(deals) > 50
    for sort in ("score", "length"):
        proc = seeded("loops", "--sort", sort, check=True)
        assert f"the 25 first of {n_loops} circular-financing loops" in proc.stdout, sort
        assert f"{n_loops - 25} loops not shown: --limit 0 shows them all" in proc.stderr, sort
        assert _row_numbers(proc.stdout) == list(range(1, 26)), sort
    every = seeded("loops", "--limit", "0", check=True)
    assert f"{n_loops} circular-financing loops" in every.stdout and "not shown" not in every.stderr
    assert _row_numbers(every.stdout) == list(range(1, n_loops + 1))
    table = seeded("deals", check=True)
    assert f"the 50 latest of {len(deals)} deals" in table.stdout
    assert f"{len(deals) - 50} earlier deals not shown" in table.stderr
    latest = deals[-1]["deal_id"]
    assert latest in table.stdout and deals[0]["deal_id"] not in table.stdout
    assert "the 3 latest of" in seeded("deals", "--limit", "3", check=True).stdout
    assert len(json.loads(seeded("deals", "--format", "json", "--limit", "3", check=True).stdout)["deals"]) == 3
    ents = seeded("entities", check=True)
    assert "the 50 first by name of" in ents.stdout and "entities not shown" in ents.stderr
    assert seeded("deals", "--limit", "-1").returncode != 0
