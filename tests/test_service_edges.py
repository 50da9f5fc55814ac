"""Edges of the service as a whole: a database that goes away mid-commit, the console cookie
behind HTTPS, the headers every answer carries."""

from __future__ import annotations

import random

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from credit.identifiers import make_resident_id, make_uscc
from tests.conftest import arranging_session, make_app, rolled_back_app
from tests.console.conftest import Browser
from trading import migrate
from trading.auth import create_token
from trading.db import database


def test_a_commit_the_database_cannot_take_answers_503_and_writes_nothing(pg_databases):
    """The database ends the request's connection between its work and its COMMIT, as a
    shutdown (or a failover) does: the answer is 503 in the error shape, never 500. On
    PostgreSQL only: the embedded SQLite has no server to go away."""
    committed_url = pg_databases.url_for(pg_databases.create())
    migrate.upgrade(committed_url)
    app = make_app(committed_url)
    db = database(app)
    with db.transaction("test:arrange") as session:
        token = create_token(session, name="reg", role="regulator")
    url = make_url(committed_url)

    def end_my_backend(session: Session) -> None:
        pid = session.connection().connection.driver_connection.info.backend_pid
        with psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
        ) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    uscc = make_uscc(random.Random(8), "110105")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    event.listen(Session, "before_commit", end_my_backend)
    try:
        response = client.post(
            "/api/v1/subjects",
            json={"kind": "bidder", "name": "断线公司", "uscc": uscc, "region": "110105"},
            headers=headers,
        )
    finally:
        event.remove(Session, "before_commit", end_my_backend)
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["code"] == 503 and body["rule"] == "service.database_unavailable", body
    assert response.headers["Retry-After"]
    # Nothing was written, and the next request finds the database again.
    assert client.get(f"/api/v1/subjects/{uscc}", headers=headers).status_code == 404
    db.dispose()


def test_the_console_cookie_is_secure_when_the_config_says_https(migrated):
    for scheme, secure in (("https", True), ("http", False)):
        with rolled_back_app(migrated.url, PREFERRED_URL_SCHEME=scheme) as app:
            assert app.config["SESSION_COOKIE_SECURE"] is secure
            session = arranging_session(app)
            secret = create_token(session, name=f"cookie-{scheme}", role="auditor")
            session.commit()
            cookie = Browser(app.test_client()).sign_in(secret).headers["Set-Cookie"]
            assert ("Secure" in cookie) is secure, cookie


def test_the_config_scheme_can_come_from_the_environment(monkeypatch, migrated):
    monkeypatch.setenv("PREFERRED_URL_SCHEME", "https")
    assert make_app(migrated.url).config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "path", ["/healthz", "/api/v1/openapi.json", "/api/v1/subjects", "/api/v1/nowhere", "/login"]
)
def test_every_answer_says_nosniff(client, tokens, path):
    for headers in ({}, tokens["auditor"]):
        response = client.get(path, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff", (path, response.status)


def test_a_status_change_says_from_what_to_what(client, tokens, session):
    employer = make_uscc(random.Random(9), "110105")
    client.post(
        "/api/v1/subjects",
        json={"kind": "bidder", "name": "专家单位", "uscc": employer, "region": "110105"},
        headers=tokens["regulator"],
    )
    expert = client.post(
        "/api/v1/experts",
        json={
            "name": "状态专家",
            "id_number": make_resident_id(random.Random(9), "110105"),
            "region": "110105",
            "specialties": ["A0801"],
            "employer": employer,
        },
        headers=tokens["admin"],
    )
    assert expert.status_code == 201, expert.get_json()
    base = f"/api/v1/experts/{expert.get_json()['id']}"
    for status in ("suspended", "active"):
        changed = client.post(
            f"{base}/status-changes",
            json={"status": status, "reason": "考核"},
            headers=tokens["admin"],
        )
        assert changed.status_code == 201, changed.get_json()
    history = client.get(base, headers=tokens["admin"]).get_json()["status_history"]
    assert [(h["from"], h["to"]) for h in history] == [
        ("active", "suspended"),
        ("suspended", "active"),
    ]
