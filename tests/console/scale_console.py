"""How fast the console's lists answer at scale: 100,000 subjects and 10,000 alerts.

Not a test (pytest does not collect it): a measurement to run by hand, on SQLite by
default or on PostgreSQL with ``DATABASE_URL``::

    .venv/bin/python tests/console/scale_console.py                 # 100k subjects, 10k alerts
    .venv/bin/python tests/console/scale_console.py --subjects 10000 --alerts 1000

The rows are inserted in bulk (this measures reading, not the services' writes); each
page is then asked several times through the Flask test client and the median is shown.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert  # noqa: E402

from credit.identifiers import make_uscc  # noqa: E402
from credit.models import Listing, Subject  # noqa: E402
from trading import migrate  # noqa: E402
from trading.app import create_app  # noqa: E402
from trading.auth import create_token  # noqa: E402
from trading.collusion.models import Alert, AlertEvidence  # noqa: E402
from trading.db import database  # noqa: E402


def seed(url: str, subjects: int, alerts: int) -> dict[str, str]:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "scale"})
    rng = random.Random(1)
    now = datetime(2025, 1, 1)
    usccs: list[str] = []
    with database(app).transaction("scale:seed") as session:
        tokens = {
            role: create_token(session, name=f"scale-{role}", role=role)
            for role in ("regulator", "auditor")
        }
        rows = []
        seen: set[str] = set()
        while len(rows) < subjects:
            uscc = make_uscc(rng, "110105")
            if uscc in seen:
                continue
            seen.add(uscc)
            usccs.append(uscc)
            rows.append({"kind": "bidder", "name": f"北京第{len(rows)}建设有限公司", "uscc": uscc,
                         "region": "110105", "created_at": now})  # fmt: skip
            if len(rows) % 10_000 == 0:
                session.execute(insert(Subject), rows[-10_000:])
        if len(rows) % 10_000:
            session.execute(insert(Subject), rows[len(rows) - len(rows) % 10_000 :])
        session.execute(
            insert(Listing),
            [{"subject_id": i + 1, "kind": "blacklist", "sectors": "", "regions": "",
              "starts_on": date(2024, 1, 1), "basis_authority": "住建委",
              "basis_document_no": f"京建罚〔2024〕{i}号", "basis_decided_on": date(2024, 1, 1),
              "source_platform": "scale", "source_id": str(i), "created_at": now}
             for i in range(0, subjects, 50)],
        )  # fmt: skip
        for start in range(0, alerts, 2000):
            batch = []
            for i in range(start, min(alerts, start + 2000)):
                members = sorted(rng.sample(usccs, 3))
                batch.append(
                    dict(key=f"{i:064d}", open_key=f"{i:064d}", evidence_digest="0" * 64,
                         scope="network", status="open", score=rng.random(), members=members,
                         tenders=[f"T-{i}-{j}" for j in range(4)], explanation="scale",
                         created_at=now, updated_at=now)
                )  # fmt: skip
            session.execute(insert(Alert), batch)
        session.flush()
        session.execute(
            insert(AlertEvidence),
            [{"alert_id": a, "kind": "same_mac", "source": "red_flag", "weight": 0.8,
              "tender_ref": f"T-{a}-0", "members": usccs[:2], "detail": "scale"}
             for a in range(1, alerts + 1)],
        )  # fmt: skip
    return tokens


def measure(url: str, tokens: dict[str, str], repeat: int, alerts: int) -> list[tuple[str, float]]:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "scale", "TOKEN_CACHE_SECONDS": 5})
    pages = {
        "regulator": ["/subjects", "/subjects?page=1999", "/subjects?q=北京第9999",
                      "/subjects?q=911101", "/blacklist", "/blacklist?page=40",
                      "/public/credit?q=北京第12345"],
        "auditor": ["/alerts", "/alerts?status=all&page=199", "/alerts?min_score=0.9",
                    f"/alerts/{max(1, alerts // 2)}", "/tenders", "/audit"],
    }  # fmt: skip
    timings = []
    for role, paths in pages.items():
        client = app.test_client()
        login = client.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        client.post("/login", data={"token": tokens[role], "csrf_token": csrf})
        for path in paths:
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, (path, response.status_code)
            timings.append((path, statistics.median(samples)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp()}/scale.sqlite3"
    migrate.upgrade(url)
    started = time.perf_counter()
    tokens = seed(url, args.subjects, args.alerts)
    print(f"seeded {args.subjects} subjects, {args.alerts} alerts in "
          f"{time.perf_counter() - started:.1f}s ({url.split(':', 1)[0]})")  # fmt: skip
    for path, seconds in measure(url, tokens, args.repeat, args.alerts):
        print(f"{seconds * 1000:8.1f} ms  {path}")


if __name__ == "__main__":
    main()
