"""Fixtures: the same suite runs on SQLite and on a real PostgreSQL.

Every test that takes ``app`` runs once per backend. The schema is built once per backend by
the Alembic migrations; each test runs inside an outer transaction that is rolled back, the
app's own commits becoming savepoints. Tests that need real commits (concurrency, gunicorn)
take ``committed_url``: a fresh database copied from the migrated template.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trading import migrate
from trading.app import create_app
from trading.auth import create_token
from trading.db import database

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


def _psycopg(url: str) -> str:
    u = make_url(url)
    return str(u.set(drivername="postgresql+psycopg"))


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(_psycopg(pg_admin_url()), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


class PgDatabases:
    """Create and drop throw-away databases on the test server."""

    def __init__(self) -> None:
        self.admin = create_engine(_psycopg(pg_admin_url()), isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def url_for(self, name: str) -> str:
        return (
            make_url(_psycopg(pg_admin_url()))
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    def create(self, template: str | None = None) -> str:
        name = f"gx_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        self.made.append(name)
        return name

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.made):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


BACKENDS = ["sqlite", "postgresql"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("TEST_BACKENDS", "sqlite,postgresql"),
        help="comma-separated backends to run database tests on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = [b for b in metafunc.config.getoption("--backends").split(",") if b]
        metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    reason = pg_available()
    if reason is not None:
        message = f"PostgreSQL at {pg_admin_url()} is unreachable ({reason})"
        if IN_CI:
            pytest.fail(message + "; CI=true requires it", pytrace=False)
        pytest.skip(message)
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


class Backend:
    """A migrated template database and a way to make fresh copies of it."""

    def __init__(self, name: str, url: str, copy) -> None:
        self.name, self.url, self._copy = name, url, copy

    def fresh_url(self) -> str:
        return self._copy()


@pytest.fixture(scope="session")
def migrated(backend: str, request: pytest.FixtureRequest, tmp_path_factory) -> Backend:
    if backend == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite")
        template = folder / "template.sqlite3"
        url = f"sqlite:///{template}"
        migrate.upgrade(url)

        def copy_sqlite() -> str:
            target = folder / f"{uuid.uuid4().hex}.sqlite3"
            shutil.copy(template, target)
            return f"sqlite:///{target}"

        working = copy_sqlite()
        return Backend("sqlite", working, copy_sqlite)
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    template = dbs.create()
    migrate.upgrade(dbs.url_for(template))

    def copy_pg() -> str:
        return dbs.url_for(dbs.create(template=template))

    return Backend("postgresql", copy_pg(), copy_pg)


#: The audit chain's keys in tests: every app and every server a test starts uses them, so
#: entries written by one verify in another.
TEST_AUDIT_KEYS = "test:test-audit-key-0123456789"
TEST_SIGNING_KEY = "VGVzdC1vbmx5IEVkMjU1MTkga2V5IG9mIDMyIGJ5dGU="


def make_app(url: str, **overrides):
    config = {
        "DATABASE_URL": url,
        "TESTING": True,
        "TOKEN_CACHE_SECONDS": 0,
        "SECRET_KEY": "test-secret",
        "AUDIT_KEYS": TEST_AUDIT_KEYS,
        "AUDIT_SIGNING_KEY": TEST_SIGNING_KEY,
        # Jobs run in a thread of the app under test; the queue has tests of its own.
        "JOB_RUNNER": "inprocess",
    }
    config.update(overrides)
    return create_app(config)


@contextmanager
def rolled_back_app(url: str, **overrides) -> Iterator:
    """The app (with ``overrides`` to its config) on ``url``, everything it writes rolled
    back afterwards. Jobs run inline (in the request's thread): every session shares one
    connection, which a job's thread must not use at the same time."""
    flask_app = make_app(url, **{"JOB_RUNNER": "inline", **overrides})
    db = database(flask_app)
    connection = db.engine.connect()
    outer = connection.begin()
    db.bind_override = connection
    try:
        yield flask_app
    finally:
        db.bind_override = None
        outer.rollback()
        connection.close()
        db.dispose()


def arranging_session(flask_app):
    """A session of ``flask_app`` for arranging data directly through services."""
    s = database(flask_app).session()
    s.info["actor"] = "test:arrange"
    return s


@pytest.fixture
def app(migrated: Backend):
    """The app on one backend; everything a test writes is rolled back after it."""
    with rolled_back_app(migrated.url) as flask_app:
        yield flask_app


@pytest.fixture
def committed_url(migrated: Backend) -> str:
    """A fresh migrated database of the current backend, for tests that really commit."""
    return migrated.fresh_url()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A session on the test's connection, for arranging data directly through services."""
    s = arranging_session(app)
    yield s
    s.close()


CENTRE_USCC = "91110000600037341L"
OTHER_CENTRE_USCC = "91310000MA1FL0BX7Q"


#: The authorities the test regulators act for (谁认定、谁修复): "regulator" decides what
#: the credit helpers' default basis names.
REGULATOR_AUTHORITIES = {
    "regulator": "北京市住房和城乡建设委员会",
}


@pytest.fixture
def tokens(app, session) -> dict[str, dict[str, str]]:
    """Authorization headers per role: admin, regulator, auditor, centre, other_centre."""
    made = {}
    for role, key, org in [
        ("admin", "admin", None),
        ("regulator", "regulator", None),
        ("auditor", "auditor", None),
        ("centre", "centre", CENTRE_USCC),
        ("centre", "other_centre", OTHER_CENTRE_USCC),
    ]:
        authority = REGULATOR_AUTHORITIES.get(key)
        secret = create_token(session, name=f"test-{key}", role=role, org=org, authority=authority)
        made[key] = {"Authorization": f"Bearer {secret}"}
    session.commit()
    return made


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("TEST_ARTIFACTS", "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


#: Either side of midnight in Beijing, when the UTC date is still the day before.
CHINA_EDGES = {
    "23:30 China time": datetime(2026, 12, 3, 15, 30),
    "00:30 China time": datetime(2026, 12, 3, 16, 30),
}


@pytest.fixture(params=list(CHINA_EDGES))
def china_edge(request, monkeypatch) -> datetime:
    """Stop the service's clock just before or just after midnight in China (naive UTC)."""
    from trading import clock

    moment = CHINA_EDGES[request.param]
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment
