"""Expert draw benchmark: the draw at 100,000 experts against the draw at 10,000.

For each size the script builds a fresh PostgreSQL database (migrations, then COPY):
``n`` experts, ``n / 5`` organisations (bidders, agencies, tenderees) each with a legal
representative, ten relations per expert (1,000,000 at 100k: employment history, near
relatives, declared interests, ownership links between organisations, legal
representatives), specialties with their ancestors, some leave and some penalty records.
It then runs the draw service (pool, exclusions with reasons, conflicts against 30
bidders, eligibility, draw, lock, book) on one connection, rolling each draw back so that
every draw sees the same register, and reports p50 and p95 in milliseconds and the ratio
between the sizes.

Two requests are measured:

* ``typical``: two seat groups of leaf specialties in one province (``region_rule`` list
  ``320000``), 30 bidders, an agency, a tenderee, two backups per group: what a trading
  centre asks for. Its pool follows the experts of that specialty in that province.
* ``broad``: one group for a whole second-level category (``A08``, construction) with no
  region rule: the pool is a fixed share of the register, so its cost grows with it;
  reported for honesty, not as the goal.

    .venv/bin/python bench/experts_draw.py                   # 10k and 100k, 40 draws each
    .venv/bin/python bench/experts_draw.py --quick           # 4k and 40k, 15 draws each
    .venv/bin/python bench/experts_draw.py --sizes 10000 --draws 20 --keep

``BENCH_DATABASE_URL`` names the server (default ``postgresql://postgres@127.0.0.1/test``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from credit.identifiers import make_resident_id, make_uscc  # noqa: E402
from credit.regions import load_regions  # noqa: E402
from experts import specialties  # noqa: E402
from experts.draws import DrawSettings, draw_experts  # noqa: E402
from experts.models import DrawGroup, DrawRound  # noqa: E402
from experts.services import codes_with_ancestors  # noqa: E402
from trading import (
    clock,  # noqa: E402
    migrate,  # noqa: E402
)
from trading.db import Database  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CENTRE = "91110000600037341L"
PROVINCE = "320000"  # 江苏省: the typical request's region
RELATIONS_PER_EXPERT = 10


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(name: str) -> str:
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Register:
    """The synthetic register of one size, generated from a seed and COPYed in."""

    def __init__(self, experts: int, seed: int = 316) -> None:
        self.n = experts
        self.rng = random.Random(seed)
        regions = load_regions()
        self.counties = [c for c in regions if not c.endswith("00")]
        self.jiangsu = [c for c in self.counties if c.startswith("32")]
        table = specialties.load_specialties()
        self.leaves = [c for c in table if len(c) == 7]
        # Tenders ask for a few specialties far more than others.
        self.popular = self.rng.sample([c for c in self.leaves if c.startswith("A08")], 10) + (
            self.rng.sample(self.leaves, 10)
        )
        self.now = clock.now().replace(microsecond=0)

    def region(self) -> str:
        # Jiangsu gets its share of a national register (about 6%).
        return self.rng.choice(self.jiangsu if self.rng.random() < 0.06 else self.counties)

    def load(self, url: str) -> dict:
        rng, n, now = self.rng, self.n, self.now
        orgs = n // 5
        subject_rows: list[tuple] = []
        usccs: set[str] = set()
        org_ids: list[int] = []
        kinds = {}
        for _ in range(orgs):
            region = self.region()
            uscc = make_uscc(rng, region)
            while uscc in usccs:
                uscc = make_uscc(rng, region)
            usccs.add(uscc)
            sid = len(subject_rows) + 1
            kind = rng.choices(("bidder", "agency", "tenderee"), (8, 1, 1))[0]
            kinds[sid] = (kind, uscc, region)
            subject_rows.append((sid, kind, f"{kind} {sid}", uscc, None, region, now))
            org_ids.append(sid)
        ids_seen: set[str] = set()

        def person(region: str) -> int:
            number = make_resident_id(rng, region)
            while number in ids_seen:
                number = make_resident_id(rng, region)
            ids_seen.add(number)
            sid = len(subject_rows) + 1
            subject_rows.append((sid, "practitioner", f"person {sid}", None, number, region, now))
            return sid

        principals = {org: person(kinds[org][2]) for org in org_ids}
        relation_rows: list[tuple] = []

        def relate(a: int, kind: str, b: int, start=None, end=None) -> None:
            relation_rows.append(
                (len(relation_rows) + 1, a, b, kind, start, end, now, "bench", None)
            )

        for org in org_ids:
            relate(principals[org], "legal_rep", org)
        # Ownership comes in corporate groups: a parent holding four subsidiaries, and one
        # parent in ten itself held by another group's parent (a holding company).
        shuffled = rng.sample(org_ids, len(org_ids))
        parents = []
        for at in range(0, len(shuffled), 5):
            parent, *children = shuffled[at : at + 5]
            for child in children:
                if rng.random() < 0.5:
                    relate(parent, "shareholder", child)
                else:
                    relate(child, "subsidiary", parent)
            if parents and rng.random() < 0.1:
                relate(rng.choice(parents), "shareholder", parent)
            parents.append(parent)
        expert_rows, specialty_rows, leave_rows, record_rows = [], [], [], []
        people: list[int] = list(principals.values())
        today = now.date()
        for eid in range(1, n + 1):
            region = self.region()
            sid = person(region)
            employer = rng.choice(org_ids)
            expert_rows.append(
                (eid, sid, region, kinds[employer][1], "高级工程师", "139", "active", now, now)
            )
            held = {
                rng.choice(self.popular) if rng.random() < 0.6 else rng.choice(self.leaves)
                for _ in range(rng.randint(1, 3))
            }
            for code, is_held in codes_with_ancestors(sorted(held)).items():
                specialty_rows.append((eid, code, is_held, region))
            relate(sid, "employment", employer, today - timedelta(days=rng.randrange(3000)))
            for years in (2, 6):
                ended = today - timedelta(days=365 * years + rng.randrange(300))
                relate(sid, "employment", rng.choice(org_ids), ended - timedelta(days=900), ended)
            for _ in range(4):
                relate(sid, "relative", rng.choice(people))
            people.append(sid)
            for _ in range(2 if rng.random() < 0.4 else 3):
                relate(sid, "interest", rng.choice(org_ids))
            if rng.random() < 0.02:
                start = today + timedelta(days=rng.randrange(60))
                leave_rows.append(
                    (len(leave_rows) + 1, eid, start, start + timedelta(days=7), "出差", now)
                )
            if rng.random() < 0.01:
                record_rows.append(
                    (
                        len(record_rows) + 1,
                        sid,
                        "record",
                        "negative",
                        "evaluation_misconduct",
                        "minor",
                        "bench",
                        "B-1",
                        today,
                        today,
                        today + timedelta(days=80),
                        "bench",
                        f"r{len(record_rows)}",
                        now,
                    )
                )
        with psycopg.connect(_conninfo(url)) as conn:
            copies = [
                ("subjects (id, kind, name, uscc, id_number, region, created_at)", subject_rows),
                (
                    'relations (id, subject_id, other_id, kind, start, "end", created_at,'
                    " source_platform, source_id)",
                    relation_rows,
                ),
                (
                    "experts (id, subject_id, region, employer_uscc, title, contact, status,"
                    " created_at, updated_at)",
                    expert_rows,
                ),
                ("expert_specialties (expert_id, code, held, region)", specialty_rows),
                (
                    "expert_leaves (id, expert_id, starts_on, ends_on, reason, created_at)",
                    leave_rows,
                ),
                (
                    "credit_records (id, subject_id, event, polarity, category, severity,"
                    " basis_authority, basis_document_no, basis_decided_on, effective_from,"
                    " effective_to, source_platform, source_id, created_at)",
                    record_rows,
                ),
            ]
            with conn.cursor() as cur:
                for target, rows in copies:
                    with cur.copy(f"COPY {target} FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                for table in (
                    "subjects",
                    "relations",
                    "experts",
                    "expert_leaves",
                    "credit_records",
                ):
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT coalesce(max(id), 1) FROM {table}))"
                    )
            conn.commit()
        with psycopg.connect(_conninfo(url), autocommit=True) as conn:
            # A settled database: autovacuum would otherwise visit the fresh tables mid-run.
            conn.execute("VACUUM ANALYZE")
        bidders_with_links = [o for o in org_ids if kinds[o][0] == "bidder"]
        tenderee = next(
            kinds[o][1]
            for o in org_ids
            if kinds[o][0] == "tenderee" and kinds[o][2].startswith("32")
        )
        agency = next(kinds[o][1] for o in org_ids if kinds[o][0] == "agency")
        return {
            "subjects": len(subject_rows),
            "relations": len(relation_rows),
            "specialty_rows": len(specialty_rows),
            "tenderee": tenderee,
            "agency": agency,
            "bidders": [kinds[o][1] for o in rng.sample(bidders_with_links, 30)],
            "popular": self.popular,
        }


def requests(world: dict, start: datetime) -> dict[str, dict]:
    window = {"start": start, "end": start + timedelta(hours=8)}
    common = {
        "tender_ref": "BENCH-1",
        "external_project": {"name": "benchmark"},
        "tenderee": world["tenderee"],
        "agency": world["agency"],
        "bidders": world["bidders"],
        "window": window,
        "backups": 2,
    }
    return {
        "typical": {
            **common,
            "seats": [
                {"specialty": world["popular"][0], "count": 5},
                {"specialty": world["popular"][1], "count": 2},
            ],
            "region_rule": {"mode": "list", "regions": [PROVINCE]},
        },
        "broad": {**common, "seats": [{"specialty": "A08", "count": 7}]},
    }


class Timer:
    """Draws on one database through the service alone (no Flask app: a session, as the CLI
    has); each draw is rolled back, so every draw sees the same register."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.timings: dict[str, list[float]] = {}
        self.pools: dict[str, list[int]] = {}

    def draw(self, label: str, body: dict, record: bool = True) -> None:
        session = self.db.session()
        session.info["actor"] = "bench"
        began = time.perf_counter()
        draw = draw_experts(session, CENTRE, body, DrawSettings())
        elapsed = (time.perf_counter() - began) * 1000
        if label not in self.pools:
            self.pools[label] = [
                len(g.pool)
                for g in session.scalars(
                    select(DrawGroup).join(DrawRound).where(DrawRound.draw_id == draw.id)
                )
            ]
        session.rollback()
        session.close()
        if record:
            self.timings.setdefault(label, []).append(elapsed)

    def figures(self, label: str) -> tuple[float, float]:
        timings = sorted(self.timings[label])
        return statistics.median(timings), timings[round(0.95 * (len(timings) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="4k and 40k experts, 15 draws")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    sizes = [4000, 40000] if args.quick else [int(s) for s in args.sizes.split(",")]
    draws = 15 if args.quick else args.draws
    start = (clock.now() + timedelta(days=20)).replace(hour=1, minute=0, second=0, microsecond=0)
    timers: dict[int, Timer] = {}
    bodies: dict[int, dict[str, dict]] = {}
    for size in sizes:
        began = time.perf_counter()
        url = fresh_database(f"gx_bench_experts_{size}")
        world = Register(size).load(url)
        print(
            f"{size:>7} experts: {world['subjects']} subjects, {world['relations']} relations,"
            f" {world['specialty_rows']} specialty rows (built in {time.perf_counter() - began:.0f}"
            " s)",
            flush=True,
        )
        timers[size], bodies[size] = Timer(url), requests(world, start)
    try:
        for label in ("typical", "broad"):
            for size in sizes:  # warm-up: caches, connection pools, query plans
                for _ in range(3):
                    timers[size].draw(label, bodies[size][label], record=False)
            # Sizes take turns draw by draw, so that the load of the shared machine at any
            # moment weighs on both sides of the ratio alike.
            for _ in range(draws if label == "typical" else max(5, draws // 4)):
                for size in sizes:
                    timers[size].draw(label, bodies[size][label])
            for size in sizes:
                p50, p95 = timers[size].figures(label)
                print(
                    f"{size:>7} {label:<8} pools {timers[size].pools[label]}: p50 {p50:.1f} ms,"
                    f" p95 {p95:.1f} ms",
                    flush=True,
                )
    finally:
        for size in sizes:
            timers[size].db.dispose()
            if not args.keep:
                drop_database(f"gx_bench_experts_{size}")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for label in ("typical", "broad"):
            (a50, a95), (b50, b95) = timers[small].figures(label), timers[large].figures(label)
            print(
                f"ratio {large}/{small} {label:<8}: p50 {b50 / a50:.2f}x, p95 {b95 / a95:.2f}x"
                + ("  (goal: at most 2x)" if label == "typical" else "")
            )


if __name__ == "__main__":
    main()
