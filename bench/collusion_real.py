"""How the collusion scan does on real markets with known cartels.

For each market of ``shared/data/real-cartels`` (García Rodríguez et al. 2022: Italy, Brazil)
the benchmark converts the CSV to the historical-bids import format, imports it through
``flask --app wsgi trading import-bids`` into a fresh database, scans it through
``flask --app wsgi collusion scan`` (the service's own scan), reads back what the service
stored and prints:

- tender level: AUC of the stored ``suspicion`` against the tender label
  (``Collusive_competitor``), over all tenders and over tenders with at least 4 bids;
- alerts per 100 tenders, and precision / recall / F1 of the firms named in alerts against
  the firm label (``Collusive_competitor_original``);
- the same for each single screen (cv, spd, diffp, rd, kurt, skew) as a baseline: its AUC
  with the direction the screen literature gives (low cv, spd and skew, high diffp, rd and
  kurt are suspicious), and the firms bidding in the tenders it ranks in its most
  suspicious 15 % (the alert budget of the goal) as its "alert members".

Firm ids become bidders with valid USCCs drawn deterministically from the firm id. The
estimate column is imported (it may be empty). Italy has no dates; its tenders are dated
one day apart in file order. Brazil's dates are Unix times.

    .venv/bin/python bench/collusion_real.py                     # both markets, SQLite
    BENCH_DATABASE_URL=postgresql://... bench/collusion_real.py  # (the database is recreated)
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.collusion_quality import auc  # noqa: E402
from credit.identifiers import make_uscc  # noqa: E402

DATA = ROOT.parent.parent / "shared" / "data" / "real-cartels"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/real-cartels")
MARKETS = {
    "italy": "DB_Collusion_Italy_processed.csv",
    "brazil": "DB_Collusion_Brazil_processed.csv",
}
COLUMNS = ("tender_ref", "tender_date", "estimate", "bidder_uscc", "bidder_name", "price", "winner")
#: Direction of each screen: +1 when a high value is suspicious, -1 when a low one is.
SCREEN_DIRECTION = {"cv": -1, "spd": -1, "diffp": 1, "rd": 1, "kurt": 1, "skew": -1}
#: Share of tenders a single screen "flags" for its firm baseline (15 per 100 tenders).
SCREEN_BUDGET = 0.15


def firm_uscc(market: str, firm: str) -> str:
    """A valid USCC for a firm id, the same on every run."""
    return make_uscc(random.Random(f"{market}:{firm}"))


def convert(market: str, source: Path, target: Path) -> tuple[dict, dict, dict]:
    """Write the import CSV; return tender labels, firm labels and firm -> USCC."""
    tender_label: dict[str, bool] = {}
    firm_label: dict[str, bool] = {}
    usccs: dict[str, str] = {}
    day0 = date(2015, 1, 1)
    order: dict[str, int] = {}
    with source.open(newline="") as f_in, target.open("w", newline="") as f_out:
        out = csv.writer(f_out)
        out.writerow(COLUMNS)
        for row in csv.DictReader(f_in):
            tender = row["Tender"]
            ref = f"{market.upper()}-{tender}"
            order.setdefault(tender, len(order))
            if row.get("Date"):
                day = datetime.fromtimestamp(int(float(row["Date"])), UTC).date()
            else:
                day = day0 + timedelta(days=order[tender])
            firm = row["Competitors"]
            uscc = usccs.setdefault(firm, firm_uscc(market, firm))
            tender_label[ref] = tender_label.get(ref, False) or row["Collusive_competitor"] == "1"
            firm_label[uscc] = firm_label.get(uscc, False) or (
                row["Collusive_competitor_original"] == "1"
            )
            estimate = _yuan(row.get("Pre-Tender Estimate (PTE)") or "")
            winner = "1" if float(row["Winner"] or 0) >= 1 else "0"
            price = _yuan(row["Bid_value"])
            out.writerow([ref, day.isoformat(), estimate, uscc, f"Firm {firm}", price, winner])
    return tender_label, firm_label, usccs


def _yuan(value: str) -> str:
    """Money to the fen, as the import takes it (a few source prices carry more digits)."""
    return f"{Decimal(value).quantize(Decimal('0.01'))}" if value.strip() else ""


def flask(args: list[str], env: dict) -> str:
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def prf(named: set[str], positives: set[str]) -> tuple[float, float, float]:
    hits = len(named & positives)
    p = hits / len(named) if named else float("nan")
    r = hits / len(positives) if positives else float("nan")
    f = 2 * p * r / (p + r) if named and hits else 0.0
    return p, r, f


def fresh_database(url: str | None, workdir: Path, market: str) -> str:
    if not url:
        return f"sqlite:///{workdir / (market + '.db')}"
    base, _, _ = url.rpartition("/")
    name = f"bench_real_{market}"
    engine = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{base}/{name}"


def stored(url: str) -> tuple[dict, dict, list[tuple[float, list[str], str]]]:
    """Per tender ref: screens + suspicion; per ref: bidders; alerts (score, members, status)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.ref, s.n_bids, s.cv, s.spd, s.diffp, s.rd, s.kurt, s.skew, s.suspicion"
                " FROM tenders t JOIN tender_screens s ON s.tender_id = t.id"
            )
        ).all()
        tenders = {
            r[0]: dict(zip(("n", *SCREEN_DIRECTION, "suspicion"), r[1:], strict=True)) for r in rows
        }
        bidders: dict[str, set[str]] = defaultdict(set)
        for ref, uscc in conn.execute(
            text(
                "SELECT t.ref, s.uscc FROM bids b JOIN tenders t ON t.id = b.tender_id"
                " JOIN subjects s ON s.id = b.bidder_id"
            )
        ):
            bidders[ref].add(uscc)
        alerts = [
            (float(score), list(members if isinstance(members, list) else _json(members)), status)
            for score, members, status in conn.execute(
                text("SELECT score, members, status FROM collusion_alerts")
            )
        ]
    engine.dispose()
    return tenders, bidders, alerts


def _json(value):
    import json

    return json.loads(value)


def run_market(market: str, workdir: Path, base_url: str | None) -> dict:
    source = DATA / MARKETS[market]
    csv_path = workdir / f"{market}-bids.csv"
    tender_label, firm_label, _ = convert(market, source, csv_path)
    url = fresh_database(base_url, workdir, market)
    env = {**os.environ, "DATABASE_URL": url}
    flask(["db", "upgrade"], env)
    started = time.perf_counter()
    imported = flask(["trading", "import-bids", str(csv_path)], env)
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    scanned = flask(["collusion", "scan"], env)
    scan_s = time.perf_counter() - started
    tenders, bidders, alerts = stored(url)
    refs = sorted(tender_label)
    labels = [tender_label[r] for r in refs]
    positives = {u for u, y in firm_label.items() if y}
    result: dict = {
        "market": market,
        "tenders": len(refs),
        "collusive_tenders": sum(labels),
        "firms": len(firm_label),
        "collusive_firms": len(positives),
        "imported": imported,
        "scanned": scanned,
        "import_s": import_s,
        "scan_s": scan_s,
    }

    def auc_of(values: dict[str, float], subset=None) -> float:
        keep = [r for r in refs if subset is None or subset(r)]
        return auc([values.get(r, 0.0) for r in keep], [tender_label[r] for r in keep])

    def four(ref: str) -> bool:
        return (tenders.get(ref) or {}).get("n", 0) >= 4

    suspicion = {r: t["suspicion"] for r, t in tenders.items()}
    open_alerts = [a for a in alerts if a[2] == "open"]
    named = set().union(*(set(a[1]) for a in open_alerts)) if open_alerts else set()
    result["service"] = {
        "auc": auc_of(suspicion),
        "auc4": auc_of(suspicion, four),
        "alerts_per_100": 100 * len(open_alerts) / len(refs),
        "firm": prf(named, positives),
        "named": len(named),
    }
    baselines = {}
    for screen, sign in SCREEN_DIRECTION.items():
        # Tenders without the screen (too few bids) rank as least suspicious.
        values = {
            r: sign * t[screen] if t[screen] is not None else -1e18 for r, t in tenders.items()
        }
        ranked = sorted(refs, key=lambda r: -values.get(r, -1e18))
        flagged = ranked[: round(SCREEN_BUDGET * len(refs))]
        members = set().union(*(bidders[r] for r in flagged)) if flagged else set()
        baselines[screen] = {
            "auc": auc_of(values),
            "auc4": auc_of(values, four),
            "firm": prf(members, positives),
            "named": len(members),
        }
    result["screens"] = baselines
    return result


def report(result: dict) -> None:
    print(
        f"\n== {result['market']}: {result['tenders']} tenders "
        f"({result['collusive_tenders']} collusive), {result['firms']} firms "
        f"({result['collusive_firms']} collusive)"
    )
    print(f"   import: {result['imported']}  [{result['import_s']:.1f}s]")
    print(f"   scan:   {result['scanned']}  [{result['scan_s']:.1f}s]")
    cols = ("AUC", "AUC≥4", "al/100", "firms", "P", "R", "F1")
    widths = (6, 6, 7, 6, 5, 5, 5)
    print(f"   {'':10} " + " ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    s = result["service"]
    p, r, f = s["firm"]
    print(
        f"   {'suspicion':10} {s['auc']:6.3f} {s['auc4']:6.3f} {s['alerts_per_100']:7.1f} "
        f"{s['named']:6d} {p:5.2f} {r:5.2f} {f:5.2f}"
    )
    for screen, b in result["screens"].items():
        p, r, f = b["firm"]
        print(
            f"   {screen:10} {b['auc']:6.3f} {b['auc4']:6.3f} {'(15.0)':>7} "
            f"{b['named']:6d} {p:5.2f} {r:5.2f} {f:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("markets", nargs="*", help="italy, brazil (default both)")
    args = parser.parse_args()
    base_url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="collusion-real-") as tmp:
        for market in args.markets or list(MARKETS):
            report(run_market(market, Path(tmp), base_url))


if __name__ == "__main__":
    main()
