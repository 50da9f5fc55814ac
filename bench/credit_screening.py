"""Batch screening against single eligibility (goal: a batch of 1,000 costs <= 20x one call).

    .venv/bin/python bench/credit_screening.py            # 100,000 subjects, 1,000,000 records
    .venv/bin/python bench/credit_screening.py --small    # 10,000 / 100,000

Builds the same database as ``bench/credit_eligibility.py`` (its own name,
``gx_bench_credit_screen``), serves the app with gunicorn (one worker, so that both sides
are served alike) and asks, over one kept-alive HTTP connection, in turn:

* ``GET /api/v1/subjects/{id}/eligibility`` for random subjects, ``--singles`` times;
* ``POST /api/v1/eligibility`` with 1,000 random subjects, half by USCC and half by name
  typed as another platform might (traditional 設, full-width brackets, a space),
  ``--batches`` times.

The figure is the median batch time over the median single time, measured in one run so
that the machine's speed cancels.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import credit_data, credit_eligibility  # noqa: E402
from bench.harness import serve  # noqa: E402

QUERY = credit_eligibility.QUERY


def _timed(conn: http.client.HTTPConnection, method: str, path: str, body, headers) -> float:
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
    return elapsed


def _typed(name: str) -> str:
    # As another platform might spell it: traditional 設, full-width brackets, a space.
    return name.replace("建设有限公司", "建設（有限公司）").replace("人", "人 ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 subjects, 100,000 records")
    parser.add_argument("--singles", type=int, default=400)
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    subjects, records = (10_000, 100_000) if args.small else (100_000, 1_000_000)
    credit_eligibility.DATABASE = "gx_bench_credit_screen"
    url, ids = credit_eligibility.build(subjects, records, subjects // 10)
    people = credit_data.subjects(subjects)  # the same rows, deterministically
    token = credit_data.create_token(url)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    rng = random.Random(11)
    try:
        with serve("wsgi:app", env={"DATABASE_URL": url}, workers=1) as base:
            parts = urlsplit(base)
            conn = http.client.HTTPConnection(parts.hostname, parts.port)
            for _ in range(50):  # warm up both paths
                _timed(
                    conn,
                    "GET",
                    f"/api/v1/subjects/{rng.choice(ids)}/eligibility?{QUERY}",
                    None,
                    headers,
                )
            singles = [
                _timed(
                    conn,
                    "GET",
                    f"/api/v1/subjects/{rng.choice(ids)}/eligibility?{QUERY}",
                    None,
                    headers,
                )
                for _ in range(args.singles)
            ]
            batches = []
            for n in range(args.batches + 2):
                chosen = rng.sample(range(len(people)), 1000)
                refs = []
                for i, index in enumerate(chosen):
                    uscc, name, _region = people[index]
                    refs.append(_typed(name) if i % 2 else uscc)
                body = json.dumps(
                    {
                        "purpose": "bid",
                        "sector": "construction",
                        "region": "320102",
                        "on": "2025-06-01",
                        "subjects": refs,
                    },
                    ensure_ascii=False,
                ).encode()
                elapsed = _timed(conn, "POST", "/api/v1/eligibility", body, headers)
                if n >= 2:  # the first two warm the path
                    batches.append(elapsed)
            conn.close()
        single, batch = statistics.median(singles), statistics.median(batches)
        ratio = batch / single
        print(
            f"single eligibility: median {single * 1000:.2f} ms over {len(singles)} calls\n"
            f"batch of 1,000 (half by USCC, half by name): median {batch * 1000:.1f} ms over "
            f"{len(batches)} batches\n"
            f"ratio {ratio:.1f}x; goal <= 20x: {'met' if ratio <= 20 else 'NOT met'}"
        )
    finally:
        if not args.keep:
            credit_data.drop_database(credit_eligibility.DATABASE)


if __name__ == "__main__":
    main()
