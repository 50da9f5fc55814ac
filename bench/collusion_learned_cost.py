"""What the learned score adds to a market scan (issue 11: at most 20 %).

A synthetic market (:func:`trading.collusion.synthetic.generate_market`, 2,000 firms and
10,000 tenders by default, about 74,000 bids) is loaded into a fresh migrated database and
scanned by the service's ``scan_market`` three times: twice without a model (the second is
the baseline, with warm caches), then, after 20 + 20 tender verdicts taken from the planted
truth and ``training.train``, once more, when the scan also rescores every tender and
firm with the model. Prints the three scan times, the training time and the ratio.

    .venv/bin/python bench/collusion_learned_cost.py [--firms N --tenders N]
    BENCH_DATABASE_URL=postgresql://... (the database ``bench_learned_cost`` is recreated)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.collusion_real import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=2000)
    parser.add_argument("--tenders", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from tests.trading.conftest import load_market
    from trading.app import create_app
    from trading.collusion import services, training
    from trading.collusion.synthetic import generate_market
    from trading.db import database

    with tempfile.TemporaryDirectory(prefix="learned-cost-") as tmp:
        url = fresh_database(os.environ.get("BENCH_DATABASE_URL"), Path(tmp), "learned_cost")
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        db = database(app)
        views, truth = generate_market(args.seed, firms=args.firms, tenders=args.tenders)
        with app.app_context():
            with db.transaction("bench:load") as session:
                load_market(session, views)

            def timed(what, work) -> float:
                started, cpu = time.perf_counter(), time.process_time()
                with db.transaction("bench:auditor") as session:
                    result = work(session)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                print(f"{what:40} {seconds:7.2f} s wall {cpu:7.2f} s CPU  {result}")
                return cpu

            timed("scan, no model (cold)", lambda s: services.scan_market(s)["alerts_created"])
            base = timed("scan, no model", lambda s: services.scan_market(s)["alerts_created"])
            refs = sorted(v.ref for v in views)
            rng = random.Random(args.seed)
            collusive = rng.sample([r for r in refs if r in truth.collusive_tenders], 20)
            honest = rng.sample([r for r in refs if r not in truth.collusive_tenders], 20)

            def review(session) -> int:
                for ref in collusive + honest:
                    verdict = "collusive" if ref in truth.collusive_tenders else "competitive"
                    training.review_tender(
                        session, ref, {"verdict": verdict, "note": "bench"}, reviewer="bench"
                    )
                return 40

            timed("40 tender verdicts", review)
            timed("train", lambda s: training.train(s)["cv_auc"])
            rescore = training.rescore
            spent: list[float] = []

            def timed_rescore(*a, **k):
                cpu = time.process_time()
                try:
                    return rescore(*a, **k)
                finally:
                    spent.append(time.process_time() - cpu)

            training.rescore = timed_rescore
            try:
                learned = timed(
                    "scan, rescoring with the model",
                    lambda s: services.scan_market(s)["model_version"],
                )
            finally:
                training.rescore = rescore
            print(f"{'  of which rescoring (features, scores)':40} {spent[0]:7.2f} s CPU")
        db.dispose()
    bids = sum(len(v.bids) for v in views)
    print(
        f"{bids:,} bids, CPU of this process: the scan with the model {learned / base - 1:+.0%} "
        f"over the scan without; rescoring alone {spent[0] / base:.0%} of it"
    )


if __name__ == "__main__":
    main()
