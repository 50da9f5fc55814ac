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
    result["learned"] = simulate_reviews(url, tender_label, firm_label, tenders)
    if any(a[2] == "open" for a in alerts):
        result["learned_tenders_only"] = simulate_reviews(
            url, tender_label, firm_label, tenders, alerts=0
        )
    if any(f is None or "error" in f for f in result["learned"]["folds"]):
        result["learned_low"] = simulate_reviews(
            url, tender_label, firm_label, tenders, min_reviews=LOW_THRESHOLD
        )
    return result


#: Reviews the benchmark simulates: the top alerts by score, and a share of tenders.
REVIEWED_ALERTS = 20
REVIEWED_SHARE = 0.2
REVIEW_SEED = 20_261_204
#: The review threshold a market too small for the service's is re-run with (bench only).
LOW_THRESHOLD = 5


def simulate_reviews(
    url: str,
    tender_label: dict,
    firm_label: dict,
    tenders: dict,
    min_reviews: int | None = None,
    alerts: int = REVIEWED_ALERTS,
) -> dict:
    """Auditors review with the labels, the model scores the rest; folds by tender.

    In each of five rounds an auditor reviews the :data:`REVIEWED_ALERTS` top-scored alerts
    (confirmed when at least half of the members are cartel firms, else dismissed) and one
    fifth of the tenders (a fixed-seed partition, so every tender is reviewed in exactly one
    round), through the service's own review functions; the service trains its model
    (``training.train``) and scores what nobody reviewed. Each round is rolled back. The
    tender AUC is measured on the tenders without any label (the rest of the 80 %), for the
    learned score and, on the same tenders, for the unsupervised suspicion; the firm
    precision / recall / F1 count as named the firms the model scores at 0.5 or more and
    the members of confirmed alerts. Markets with real dates are also trained on reviews of
    the earlier half (a random 40 % of it, 20 % of all) and scored on the later half.

    ``alerts`` is how many top alerts are reviewed (0: tender verdicts only, so that every
    evaluated tender is out of sample). ``min_reviews`` lowers the service's threshold of
    reviews of each kind, for this run only (a market too small to reach it shows what the
    model would do).
    """
    from sqlalchemy import select

    from trading.app import create_app
    from trading.collusion import services, training
    from trading.collusion.models import Alert, LearnedFirmScore, LearnedTenderScore
    from trading.db import database
    from trading.models import Tender

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    db = database(app)
    refs = sorted(tender_label)
    shuffled = list(refs)
    random.Random(REVIEW_SEED).shuffle(shuffled)
    rounds = [sorted(shuffled[i::5]) for i in range(5)]
    positives = {u for u, y in firm_label.items() if y}
    suspicion = {r: t["suspicion"] for r, t in tenders.items()}

    def one_round(reviewed: list[str], scored: list[str] | None = None) -> dict | None:
        session = db.session()
        session.info["actor"] = "bench:auditor"
        try:
            top = session.scalars(
                select(Alert)
                .where(Alert.status == "open")
                .order_by(Alert.score.desc(), Alert.id)
                .limit(alerts)
            ).all()
            for alert in top:
                cartel = sum(1 for m in alert.members if firm_label.get(m))
                decision = "confirm" if 2 * cartel >= len(alert.members) else "dismiss"
                services.review_alert(
                    session, alert.id, {"decision": decision, "note": "bench"}, reviewer="bench"
                )
            for ref in reviewed:
                verdict = "collusive" if tender_label[ref] else "competitive"
                training.review_tender(
                    session, ref, {"verdict": verdict, "note": "bench"}, reviewer="bench"
                )
            labels = training.review_labels(session)
            try:
                made = training.train(session)
            except Exception as error:  # too few reviews: the unsupervised score stands
                return {"error": str(error)}
            learned = dict(
                session.execute(
                    select(Tender.ref, LearnedTenderScore.score).join(
                        LearnedTenderScore, LearnedTenderScore.tender_id == Tender.id
                    )
                ).all()
            )
            firm_scores = dict(
                session.execute(
                    select(Subject.uscc, LearnedFirmScore.score).join(
                        LearnedFirmScore, LearnedFirmScore.subject_id == Subject.id
                    )
                ).all()
            )
            confirmed = {
                m
                for a in session.scalars(select(Alert).where(Alert.status == "confirmed"))
                for m in a.members
            }
        finally:
            session.rollback()
            session.close()
        own = set(reviewed)
        keep = [r for r in (scored or refs) if r not in own and r in learned]
        blind = [r for r in keep if r not in labels.by_ref]
        y = [tender_label[r] for r in keep]
        y_blind = [tender_label[r] for r in blind]
        named = {u for u, s in firm_scores.items() if s >= 0.5} | confirmed
        return {
            "cv_auc": made["cv_auc"],
            "training": made["training_tenders"],
            "confirmed": made["confirmed"],
            "dismissed": made["dismissed"],
            "evaluated": len(keep),
            "auc_learned": auc([learned[r] for r in keep], y),
            "auc_unsupervised": auc([suspicion.get(r, 0.0) for r in keep], y),
            "blind": len(blind),
            "auc_learned_blind": auc([learned[r] for r in blind], y_blind),
            "auc_unsupervised_blind": auc([suspicion.get(r, 0.0) for r in blind], y_blind),
            "firm": prf(named, positives),
        }

    from credit.models import Subject

    thresholds = (training.MIN_CONFIRMED, training.MIN_DISMISSED)
    if min_reviews is not None:
        training.MIN_CONFIRMED = training.MIN_DISMISSED = min_reviews
    try:
        with app.app_context():
            return _rounds(db, refs, rounds, one_round, Tender)
    finally:
        training.MIN_CONFIRMED, training.MIN_DISMISSED = thresholds
        db.dispose()


def _rounds(db, refs, rounds, one_round, Tender) -> dict:
    folds = [one_round(fold) for fold in rounds]
    dated = None
    dates = _tender_dates(db, Tender)
    if len(set(dates.values())) > 1 and not _evenly_spaced(dates):
        ordered = sorted(refs, key=lambda r: (dates[r], r))
        early, late = ordered[: len(ordered) // 2], ordered[len(ordered) // 2 :]
        picked = sorted(random.Random(REVIEW_SEED).sample(early, round(0.4 * len(early))))
        dated = one_round(picked, scored=late)
    return {"folds": folds, "dated": dated}


def _tender_dates(db, tender_model) -> dict[str, object]:
    from sqlalchemy import select

    session = db.session()
    try:
        return dict(session.execute(select(tender_model.ref, tender_model.tender_date)).all())
    finally:
        session.close()


def _evenly_spaced(dates: dict) -> bool:
    """Italy's tenders have no dates: the converter spaces them one day apart in file order."""
    days = sorted(d.toordinal() for d in dates.values())
    return all(b - a == 1 for a, b in zip(days, days[1:], strict=False))


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
    print(
        f"   reviews: top {REVIEWED_ALERTS} alerts and {REVIEWED_SHARE:.0%} of tenders per "
        "round; AUC on the other tenders (all / those no review named)"
    )
    _report_learned(result.get("learned") or {})
    if result.get("learned_tenders_only"):
        print("   the same with tender verdicts only (no alert reviewed):")
        _report_learned(result["learned_tenders_only"])
    if result.get("learned_low"):
        print(f"   the same with the review threshold lowered to {LOW_THRESHOLD} (bench only):")
        _report_learned(result["learned_low"])


def _report_learned(learned: dict) -> None:
    print(
        f"   {'round':10} {'learned':>7} {'unsup.':>7} {'scored':>6} {'blind':>7} {'unsup.':>7} "
        f"{'n':>4} {'cv AUC':>7} {'+/-':>7} {'P':>5} {'R':>5} {'F1':>5}"
    )
    rows = [(f"fold {i + 1}", fold) for i, fold in enumerate(learned.get("folds", []))]
    if learned.get("dated"):
        rows.append(("later half", learned["dated"]))
    for name, row in rows:
        if row is None or "error" in row:
            print(f"   {name:10} no model: {(row or {}).get('error', '')[:100]}")
            continue
        p, r, f = row["firm"]
        cv = "n/a" if row["cv_auc"] is None else f"{row['cv_auc']:.3f}"
        print(
            f"   {name:10} {row['auc_learned']:7.3f} {row['auc_unsupervised']:7.3f} "
            f"{row['evaluated']:6d} {row['auc_learned_blind']:7.3f} "
            f"{row['auc_unsupervised_blind']:7.3f} {row['blind']:4d} {cv:>7} "
            f"{row['confirmed']:>3}/{row['dismissed']:<3} {p:5.2f} {r:5.2f} {f:5.2f}"
        )
    folds = [f for f in learned.get("folds", []) if f and "error" not in f]
    if folds:

        def mean(key: str) -> float:
            values = [f[key] for f in folds if f[key] == f[key]]  # NaN when one class only
            return sum(values) / len(values) if values else float("nan")

        f1 = sum(f["firm"][2] for f in folds) / len(folds)
        print(
            f"   {'mean':10} {mean('auc_learned'):7.3f} {mean('auc_unsupervised'):7.3f} "
            f"{'':6} {mean('auc_learned_blind'):7.3f} {mean('auc_unsupervised_blind'):7.3f} "
            f"{'':4} {'':>7} {'':>7} {'':>5} {'':>5} {f1:5.2f}"
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
