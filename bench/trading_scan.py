"""The full collusion scan on PostgreSQL at 100k and 1M bids: cost per bid and memory.

For each size, a synthetic market (:func:`trading.collusion.synthetic.generate_market`,
bids per tender 5 to 15, so ten on average) is generated and loaded into a fresh,
migrated database with ``COPY`` (psycopg 3 ``cursor.copy``): bidders and project managers
as subjects, tenders, bids with their fingerprints and awards. Then ``scan_market`` runs in
a fresh process, exactly as ``flask --app wsgi collusion scan`` does (stream the bids, red
flags and screens per tender, co-bidding network, clusters, screens and alerts written,
one commit), timed from start to commit, with that process's peak RSS.

    .venv/bin/python bench/trading_scan.py             # 100k and 1M bids (20k firms, 100k tenders)
    .venv/bin/python bench/trading_scan.py --reduced   # 10k and 100k bids, for a quick look
    BENCH_DATABASE_URL=postgresql://user@host/db ...   # the server to create databases on

The goal (DESIGN): from 100k to 1M bids the cost per bid grows at most 1.2x, and memory
stays within a few GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
BIDS_PER_TENDER = (5, 15)
# (firms, tenders): about ten bids per tender.
FULL = ((2_000, 10_000), (20_000, 100_000))
REDUCED = ((200, 1_000), (2_000, 10_000))


def _admin_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def _url_for(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)


def _psycopg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _truth_path(name: str) -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}.truth.json"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- load ----------------------------------------------------------------------------


def load(name: str, firms: int, tenders: int, seed: int) -> dict:
    """Generate a market and COPY it into a new migrated database ``name``."""
    import psycopg

    from trading import migrate
    from trading.collusion.synthetic import generate_market

    started = time.perf_counter()
    market, truth = generate_market(
        seed, firms=firms, tenders=tenders, bids_per_tender=BIDS_PER_TENDER
    )
    generated = time.perf_counter()
    with psycopg.connect(_psycopg_dsn(_admin_url()), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _url_for(name)
    migrate.upgrade(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    subject_ids: dict[str, int] = {}
    manager_ids: dict[str, int] = {}
    bids = 0
    with psycopg.connect(_psycopg_dsn(url)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY subjects (id, kind, name, uscc, id_number, region, created_at) FROM STDIN"
        ) as copy:
            for tender in market:
                for bid in tender.bids:
                    if bid.bidder not in subject_ids:
                        subject_ids[bid.bidder] = len(subject_ids) + len(manager_ids) + 1
                        copy.write_row(
                            (
                                subject_ids[bid.bidder],
                                "bidder",
                                f"firm {bid.bidder}",
                                bid.bidder,
                                None,
                                bid.bidder[2:8],
                                now,
                            )
                        )
                    manager = bid.project_manager
                    if manager and manager not in manager_ids:
                        manager_ids[manager] = len(subject_ids) + len(manager_ids) + 1
                        copy.write_row(
                            (
                                manager_ids[manager],
                                "practitioner",
                                f"manager {manager}",
                                None,
                                manager[:18],
                                bid.bidder[2:8],
                                now,
                            )
                        )
        with cur.copy(
            "COPY tenders (id, ref, title, sector, region, estimate, tender_date, awarded_at,"
            " origin, created_at) FROM STDIN"
        ) as copy:
            for number, tender in enumerate(market, start=1):
                awarded = any(b.winner for b in tender.bids)
                copy.write_row(
                    (
                        number,
                        tender.ref,
                        f"tender {tender.ref}",
                        tender.sector,
                        (tender.region or "")[:6] or None,
                        tender.estimate,
                        tender.date,
                        datetime.combine(tender.date, clock()) if awarded else None,
                        "import",
                        now,
                    )
                )
        with cur.copy(
            "COPY bids (tender_id, bidder_id, price, submitted_at, project_manager_id,"
            " deposit_account, agent, machine_code, mac, cpu, disk, ip, doc_hash, author,"
            " winner, origin, created_at) FROM STDIN"
        ) as copy:
            for number, tender in enumerate(market, start=1):
                seen: set[str] = set()
                for bid in tender.bids:
                    if bid.bidder in seen:  # one bid per bidder per tender
                        continue
                    seen.add(bid.bidder)
                    bids += 1
                    copy.write_row(
                        (
                            number,
                            subject_ids[bid.bidder],
                            bid.price,
                            bid.submitted_at,
                            manager_ids.get(bid.project_manager),
                            bid.deposit_account,
                            bid.agent,
                            bid.machine_code,
                            bid.mac,
                            bid.cpu,
                            bid.disk,
                            bid.ip,
                            bid.doc_hash,
                            bid.author,
                            bid.winner,
                            "import",
                            now,
                        )
                    )
        for table in ("subjects", "tenders"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    loaded = time.perf_counter()
    _truth_path(name).write_text(
        json.dumps(
            {
                "groups": [[kind, sorted(members)] for kind, members in truth.groups()],
                "rigged": sorted(truth.collusive_tenders),
            }
        )
    )
    return {
        "database": name,
        "firms": len(subject_ids),
        "managers": len(manager_ids),
        "tenders": len(market),
        "bids": bids,
        "cartels": len(truth.groups()),
        "generate_s": generated - started,
        "copy_s": loaded - generated,
        "peak_mib": _peak_mib(),
    }


# --- scan ----------------------------------------------------------------------------


def scan(name: str) -> dict:
    """``collusion scan`` on database ``name``, timed to its commit, in this process."""
    from trading.app import create_app
    from trading.collusion.services import scan_market
    from trading.db import database

    app = create_app({"DATABASE_URL": _url_for(name)})
    stages: dict[str, float] = {}
    started = time.perf_counter()
    cpu_started = time.process_time()

    def progress(stage: str, _count: int) -> None:
        # Wall clock and this process's CPU since the start, in seconds.
        stages[stage] = (
            round(time.perf_counter() - started, 2),
            round(time.process_time() - cpu_started, 2),
        )

    with app.app_context(), database(app).transaction("bench:trading_scan") as session:
        result = scan_market(session, progress=progress)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    quality = _quality(app, name)
    database(app).dispose()
    return {
        **quality,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "stages": stages,
        "bids": result["bids"],
        "tenders": result["tenders"],
        "clusters": result["clusters"],
        "alerts": result["alerts_created"],
        "peak_mib": _peak_mib(),
    }


def _quality(app, name: str) -> dict:
    """The stored alerts and suspicions against the planted truth (bench/collusion_quality.py
    measures the library alone; this checks what the service keeps)."""
    from sqlalchemy import select

    from bench.collusion_quality import auc, cluster_scores
    from trading.collusion.models import Alert, TenderScreen
    from trading.collusion.synthetic import Truth
    from trading.db import database
    from trading.models import Tender

    path = _truth_path(name)
    if not path.exists():
        return {}
    planted = json.loads(path.read_text())
    groups: dict[str, list[frozenset[str]]] = {}
    for kind, members in planted["groups"]:
        groups.setdefault(kind, []).append(frozenset(members))
    truth = Truth({k: tuple(v) for k, v in groups.items()}, frozenset(planted["rigged"]))
    with app.app_context(), database(app).transaction("bench:quality") as session:
        alerts = [
            type("Found", (), {"members": frozenset(members)})()
            for members in session.scalars(select(Alert.members).where(Alert.status == "open"))
        ]
        rows = session.execute(
            select(Tender.ref, TenderScreen.suspicion).join(
                TenderScreen, TenderScreen.tender_id == Tender.id
            )
        ).all()
    precision, recall, kinds = cluster_scores(alerts, truth)
    labels = [ref in truth.collusive_tenders for ref, _ in rows]
    return {
        "alert_precision": precision,
        "alert_recall": recall,
        "found_by_kind": kinds,
        "auc_suspicion": auc([s for _, s in rows], labels),
    }


def _child(*args: str) -> dict:
    """Run this script's subcommand in a fresh process (so peak RSS is that step's own)."""
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_dsn(_admin_url()), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    loader = sub.add_parser("load")
    loader.add_argument("name")
    loader.add_argument("firms", type=int)
    loader.add_argument("tenders", type=int)
    loader.add_argument("--seed", type=int, default=7)
    scanner = sub.add_parser("scan")
    scanner.add_argument("name")
    parser.add_argument("--reduced", action="store_true", help="10k and 100k bids")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--repeat", type=int, default=1, help="scans per size (best kept)")
    args, _ = parser.parse_known_args(argv)

    if args.command == "load":
        print(json.dumps(load(args.name, args.firms, args.tenders, args.seed)))
        return 0
    if args.command == "scan":
        print(json.dumps(scan(args.name)))
        return 0

    sizes = REDUCED if args.reduced else FULL
    print(
        f"Collusion scan on PostgreSQL ({_admin_url().rsplit('@', 1)[-1]}), "
        f"{'reduced' if args.reduced else 'full'} sizes, bids per tender {BIDS_PER_TENDER}"
    )
    rows = []
    tag = uuid.uuid4().hex[:6]
    try:
        for firms, tenders in sizes:
            name = f"gx_bench_scan_{tenders}_{tag}"
            loaded = _child("load", name, str(firms), str(tenders))
            scans = [_child("scan", name) for _ in range(max(1, args.repeat))]
            best = min(scans, key=lambda s: s["cpu_seconds"])
            rows.append((loaded, best))
            print(
                f"  {loaded['bids']:>9,} bids  {loaded['tenders']:>7,} tenders "
                f"{loaded['firms']:>6,} bidders: generate {loaded['generate_s']:.0f} s, "
                f"COPY {loaded['copy_s']:.0f} s; scan {best['seconds']:.1f} s "
                f"({best['seconds'] / best['bids'] * 1e6:.1f} us/bid; CPU "
                f"{best['cpu_seconds'] / best['bids'] * 1e6:.1f} us/bid), peak RSS "
                f"{best['peak_mib']:.0f} MiB, {best['clusters']} clusters, "
                f"{scans[0]['alerts']} alerts raised by the first scan"
            )
            if "alert_precision" in best:
                kinds = ", ".join(f"{k} {v}" for k, v in sorted(best["found_by_kind"].items()))
                print(
                    f"      alerts vs planted cartels: precision {best['alert_precision']:.2f}, "
                    f"recall {best['alert_recall']:.2f} ({kinds}); AUC of tender suspicion "
                    f"{best['auc_suspicion']:.3f}"
                )
            print(
                "      stages (wall/CPU s from start): "
                + ", ".join(f"{k} {w}/{c}" for k, (w, c) in best["stages"].items())
            )
            if not args.keep:
                _drop(name)
                _truth_path(name).unlink(missing_ok=True)
    finally:
        if not args.keep:
            for _, tenders in sizes:
                _drop(f"gx_bench_scan_{tenders}_{tag}")
    (_, small), (_, large) = rows

    def ratio(key: str) -> float:
        return (large[key] / large["bids"]) / (small[key] / small["bids"])

    print(
        f"  cost per bid, {large['bids']:,} over {small['bids']:,} bids: wall clock "
        f"{ratio('seconds'):.2f}x, CPU of the scanning process {ratio('cpu_seconds'):.2f}x "
        f"(goal <= 1.2x); peak RSS of the large scan {large['peak_mib']:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
