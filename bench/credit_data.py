"""Synthetic credit data for the credit benchmarks: subjects, records, listings.

Deterministic from a seed. Rows go into PostgreSQL with COPY (the point is to measure the
service, not the loader). Subjects get valid USCCs; records valid categories, severities
and publicity periods, so that the same rows also make a valid exchange file.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url

from credit.categories import CATEGORIES, add_months
from credit.identifiers import make_uscc
from trading import migrate

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PLATFORM = "bench.ggzy.example"
REGIONS = ["320102", "320104", "320205", "320505", "310104", "330106", "110105", "440305"]
NEGATIVE = [c.code for c in CATEGORIES.values() if c.polarity == "negative"]
POSITIVE = [c.code for c in CATEGORIES.values() if c.polarity == "positive"]
SEVERITY_MONTHS = {"minor": (1, 3), "general": (3, 12), "serious": (12, 36)}
NOW = datetime(2026, 1, 1)


def _conninfo(url: str) -> str:
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(name: str) -> str:
    """Drop and create database ``name`` on the bench server, migrate it, return its URL."""
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def subjects(n: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """``n`` bidders: (uscc, name, region)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        region = rng.choice(REGIONS)
        uscc = make_uscc(rng, region)
        if uscc in seen:
            continue
        seen.add(uscc)
        out.append((uscc, f"投标人{len(out):06d}建设有限公司", region))
    return out


def name_key(name: str) -> str:
    from credit.names import name_key as key

    return key(name)


def copy_subjects(url: str, rows: list[tuple[str, str, str]]) -> list[int]:
    """COPY subjects in; return their ids in order."""
    with psycopg.connect(_conninfo(url)) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY subjects (kind, name, name_key, uscc, region, created_at) FROM STDIN"
            ) as copy,
        ):
            for uscc, name, region in rows:
                copy.write_row(("bidder", name, name_key(name), uscc, region, NOW))
        ids = dict(conn.execute("SELECT uscc, id FROM subjects").fetchall())
    return [ids[r[0]] for r in rows]


def records(subject_refs: list, n: int, seed: int = 2) -> Iterator[dict]:
    """``n`` credit records as exchange rows (``subject`` is whatever ref is given)."""
    rng = random.Random(seed)
    start0 = date(2021, 1, 1)
    for i in range(n):
        positive = rng.random() < 0.15
        start = start0 + timedelta(days=rng.randrange(0, 5 * 365))
        if positive:
            category, severity = rng.choice(POSITIVE), None
            end = add_months(start, rng.randrange(1, 36))
        else:
            category = rng.choice(NEGATIVE)
            severity = rng.choices(("minor", "general", "serious"), (5, 4, 1))[0]
            low, high = SEVERITY_MONTHS[severity]
            end = add_months(start, rng.randrange(low, high + 1)) - timedelta(
                days=1 if severity == "minor" else 0
            )
        yield {
            "type": "record",
            "source": {"platform": PLATFORM, "id": f"R{i:07d}"},
            "subject": subject_refs[rng.randrange(len(subject_refs))],
            "polarity": "positive" if positive else "negative",
            "category": category,
            "severity": severity,
            "description": "合同履约评价不合格" if not positive else "年度守信企业",
            "basis": {
                "authority": "某市住房和城乡建设局",
                "document_no": f"建罚〔{start.year}〕{i % 10000}号",
                "decided_on": start.isoformat(),
            },
            "effective_from": start.isoformat(),
            "effective_to": end.isoformat(),
        }


def table_row(record: dict, subject_id: int) -> tuple:
    """The same record as a ``credit_records`` row, for COPY."""
    basis = record["basis"]
    return (
        subject_id,
        "record",
        record["polarity"],
        record["category"],
        record["severity"],
        record["description"],
        basis["authority"],
        basis["document_no"],
        basis["decided_on"],
        record["effective_from"],
        record["effective_to"],
        record["source"]["platform"],
        record["source"]["id"],
        NOW,
    )


RECORD_COLUMNS = (
    "subject_id, event, polarity, category, severity, description, basis_authority, "
    "basis_document_no, basis_decided_on, effective_from, effective_to, source_platform, "
    "source_id, created_at"
)


def copy_records(url: str, rows: Iterator[tuple]) -> float:
    """COPY ``credit_records`` rows in; return the seconds it took."""
    started = time.perf_counter()
    with (
        psycopg.connect(_conninfo(url)) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY credit_records ({RECORD_COLUMNS}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def copy_listings(url: str, subject_ids: list[int], n: int, seed: int = 3) -> None:
    """``n`` listings: half blacklist, half abnormal; some scoped, some lifted."""
    rng = random.Random(seed)
    with psycopg.connect(_conninfo(url)) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY listings (subject_id, kind, sectors, regions, starts_on, ends_on, "
                "basis_authority, basis_document_no, basis_decided_on, source_platform, "
                "source_id, created_at) FROM STDIN"
            ) as copy,
        ):
            for i in range(n):
                start = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 4 * 365))
                copy.write_row(
                    (
                        subject_ids[rng.randrange(len(subject_ids))],
                        "blacklist" if i % 2 else "abnormal",
                        rng.choice(["", ",construction,", ",procurement,land,"]),
                        rng.choice(["", "", ",320000,", ",310000,"]),
                        start,
                        start + timedelta(days=3 * 365) if rng.random() < 0.5 else None,
                        "某省发展和改革委员会",
                        f"失信〔{start.year}〕{i}号",
                        start,
                        PLATFORM,
                        f"L{i:07d}",
                        NOW,
                    )
                )
        conn.execute(
            "INSERT INTO listing_lifts (listing_id, lifted_on, basis_authority, "
            "basis_document_no, basis_decided_on, source_platform, source_id, created_at) "
            "SELECT id, starts_on + 200, '某省发展和改革委员会', '移出〔2025〕1号', "
            "starts_on + 200, source_platform, 'U' || id, now() FROM listings WHERE id % 5 = 0"
        )
        conn.execute("ANALYZE")


def create_token(url: str, role: str = "centre") -> str:
    from sqlalchemy.orm import Session

    from trading import audit
    from trading.auth import create_token as make
    from trading.db import make_engine

    audit.install()
    engine = make_engine(url)
    with Session(engine) as session:
        secret = make(
            session,
            name=f"bench-{role}-{time.time_ns()}",
            role=role,
            org="91110000600037341L" if role == "centre" else None,
        )
        session.commit()
    engine.dispose()
    return secret
