"""Ingest of the new tables (participants, sources, events, financials), and deals
ingest before and after the data model that added them, side by side in one run.

    .venv/bin/python bench/bench_ingest_links.py [--deals 20000] [--entities 2000] [--repeat 3]
        [--before /tmp/wt_before] [--profile NAME]

``--before`` is a checkout of the commit before the data model (5019a4c^), e.g.
``git worktree add --detach /tmp/wt_before 5019a4c^``; it runs on the same venv
and the same embedded server. Every measurement runs in its own child process
(``--child``) that imports circfin from one tree, ingests any set-up files into
a fresh graph untimed, then times one ``circfin.ingest(store, files)`` call
(reading, validating and the one atomic write; not process start). Both trees'
children alternate, so load on this shared machine hits both alike.

The corpus: N entities (with a revenue figure each), 20,000 deals, then per deal
3 members (one disclosed share, the rest split), 2 further sources and 3 events,
and 10 dated financials rows per entity.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _checkout import load_checkout

HERE = Path(__file__).resolve().parent
TYPES = ["equity_investment", "loan", "chip_purchase", "cloud_commitment", "warrant"]


def _csv(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def make_corpus(folder: Path, n_entities: int, n_deals: int, seed: int = 11) -> dict[str, Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    out["entities"] = _csv(folder / "entities.csv", [
        "entity_id", "name", "kind", "aliases", "parent", "country", "revenue_usd", "equity_usd",
        "market_cap_usd", "backlog_usd", "source_url"], (
        [f"e{i}", f"Entity {i}", rng.choice(["ai_lab", "bank", "neocloud", "spv"]), f"E{i} Holdings",
         "", "US", rng.randint(1, 10**11), "", "", "", "https://example.com/e"] for i in range(n_entities)))
    deals = []
    for i in range(n_deals):
        a, b = rng.sample(range(n_entities), 2)
        start = 18628 + rng.randrange(4 * 365)  # 2021-01-01 .. 2024
        deals.append((i, a, b, start, rng.choice(["funded", "completed"])))

    def iso(day: int) -> str:
        import datetime as dt
        return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()

    header = ["deal_id", "date", "payer", "payee", "type", "amount_usd", "amount_qualifier", "status",
              "description", "source_url", "confidence"]

    def deal_rows(bump: int):
        for i, a, b, start, status in deals:
            yield [f"D{i}", iso(start), f"Entity {a}" if i % 3 == 0 else f"e{a}", f"e{b}", TYPES[i % 5],
                   1000 + i + bump, "exact", status, f"deal {i}", f"https://www.reuters.com/d{i}", "high"]

    out["deals"] = _csv(folder / "deals.csv", header, deal_rows(0))
    out["deals_changed"] = _csv(folder / "deals_changed.csv", header, deal_rows(1))
    members, sources, events = [], [], []
    for i, a, b, start, status in deals:
        m1, m2, m3 = rng.sample([x for x in rng.sample(range(n_entities), 6) if x not in (a, b)], 3)
        members += [[f"D{i}", "payer", f"e{m1}", "0.5", ""], [f"D{i}", "payer", f"Entity {m2}", "", ""],
                    [f"D{i}", "payee", f"e{m3}", "", "https://example.com/m"]]
        sources += [[f"D{i}", f"https://www.ft.com/d{i}", "", "FT", iso(start)],
                    [f"D{i}", f"https://www.sec.gov/d{i % 500}", "", "SEC", ""]]
        events += [[f"D{i}", iso(start), "announced", ""], [f"D{i}", iso(start + 30), "signed", ""],
                   [f"D{i}", iso(start + 60), status, "https://example.com/ev"]]
    out["participants"] = _csv(folder / "participants.csv",
                               ["deal_id", "side", "member", "share", "source_url"], members)
    out["sources"] = _csv(folder / "sources.csv", ["deal_id", "url", "kind", "publisher", "published"], sources)
    out["events"] = _csv(folder / "events.csv", ["deal_id", "date", "status", "source_url"], events)
    out["financials"] = _csv(folder / "financials.csv", [
        "entity_id", "as_of", "revenue_usd", "total_assets_usd", "basis", "source_url"], (
        [f"e{i}", f"{2015 + k}-12-31", rng.randint(1, 10**11), rng.randint(1, 10**12), "10-K", ""]
        for i in range(n_entities) for k in range(10)))
    return out


def child(a: argparse.Namespace) -> None:
    load_checkout(Path(a.tree))
    import circfin.ingest as ingest_mod
    from circfin.store.embedded import EmbeddedServer
    from circfin.store.falkordb_store import FalkorDBStore

    store = FalkorDBStore(EmbeddedServer(a.home).connect(), graph=f"b_{uuid.uuid4().hex[:10]}")
    try:
        for files in a.setup:
            ingest_mod.ingest(store, files.split(","))
        timed = a.timed.split(",")
        if a.child_profile:
            import cProfile
            import pstats
            prof = cProfile.Profile()
            prof.enable()
        t = time.perf_counter()
        report = ingest_mod.ingest(store, timed)
        seconds = time.perf_counter() - t
        if a.child_profile:
            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        print(json.dumps({"seconds": seconds, "report": report.to_dict() | {"files": None}}))
    finally:
        store.clear()
        store.close()


def run_child(tree: Path, home: Path, setup: list[list[Path]], timed: list[Path],
              profile: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", "--tree", str(tree), "--home", str(home),
           "--timed", ",".join(map(str, timed))]
    for s in setup:
        cmd += ["--setup", ",".join(map(str, s))]
    if profile:
        cmd.append("--child-profile")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({tree}):\n{proc.stderr[-4000:]}")
    if profile:
        print(proc.stderr, file=sys.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=20000)
    ap.add_argument("--entities", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", default="/tmp/wt_before")
    ap.add_argument("--profile", default=None, help="print a cProfile of one measurement, by name")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--setup", action="append", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--timed", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
        return

    now, before = HERE.parent, Path(a.before)
    if not (before / "__init__.py").is_file():
        raise SystemExit(f"{before}: no checkout; git worktree add --detach {before} 5019a4c^")
    load_checkout(now)
    from circfin.store.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="bench_links_"))
    c = make_corpus(tmp / "corpus", a.entities, a.deals)
    links = [c["participants"], c["sources"], c["events"], c["financials"]]
    n_links = sum(sum(1 for _ in p.open()) - 1 for p in links)
    base = [c["entities"], c["deals"]]
    # name -> (trees, set-up ingests, timed files, rows the timed ingest carries)
    cases = {
        "deals: entities + deals into an empty graph": ((now, before), [], base, a.deals),
        "deals: the same files again (nothing written)": ((now, before), [base], base, a.deals),
        "deals: every deal changed, no new tables stored": (
            (now, before), [base], [c["entities"], c["deals_changed"]], a.deals),
        "deals: every deal changed, the new tables stored": (
            (now,), [base + links], [c["entities"], c["deals_changed"]], a.deals),
        "new tables onto stored deals": ((now,), [base], links, n_links),
        "new tables again (nothing written)": ((now,), [base + links], links, n_links),
        "everything in one ingest into an empty graph": ((now,), [], base + links, n_links + a.deals),
    }
    srv = EmbeddedServer(tmp / "home")
    srv.start()
    results: dict[tuple[str, str], list[float]] = {}
    try:
        for name, (trees, setup, timed, _) in cases.items():
            if a.profile and a.profile in name:
                run_child(now, srv.home, setup, timed, profile=True)
            for _ in range(a.repeat):
                for tree in trees:
                    got = run_child(tree, srv.home, setup, timed)
                    results.setdefault((name, "now" if tree == now else "before"), []).append(got["seconds"])
    finally:
        srv.stop()
    print(f"{a.entities:,} entities, {a.deals:,} deals, {n_links:,} new-table rows "
          f"({sum(1 for _ in c['participants'].open()) - 1:,} members, "
          f"{sum(1 for _ in c['sources'].open()) - 1:,} sources, {sum(1 for _ in c['events'].open()) - 1:,} "
          f"events, {sum(1 for _ in c['financials'].open()) - 1:,} financials); best of {a.repeat}\n")
    print("| measure | rows | now | rows/s | before the data model | now / before |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (_, _, _, rows) in cases.items():
        t = min(results[name, "now"])
        old = results.get((name, "before"))
        cols = [f"{min(old):.2f} s", f"{t / min(old):.2f}"] if old else ["", ""]
        print(f"| {name} | {rows:,} | {t:.2f} s | {rows / t:,.0f} | {' | '.join(cols)} |")
    print("\nmedians:", {f"{k[0]} ({k[1]})": round(statistics.median(v), 3) for k, v in results.items()})


if __name__ == "__main__":
    main()
