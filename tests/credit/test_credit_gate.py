"""The eligibility gate over HTTP on a database that really commits: on PostgreSQL it reads
through a connection and cursor each thread keeps (credit/gate.py), which must see every
commit at once and survive the server ending its connection."""

from __future__ import annotations

import threading
from random import Random

import psycopg
from sqlalchemy.engine import make_url

from credit.identifiers import make_uscc
from tests.conftest import CENTRE_USCC, make_app
from tests.credit.conftest import basis
from trading.auth import create_token
from trading.db import database

QUERY = {"purpose": "bid", "sector": "construction", "region": "320102", "on": "2025-06-01"}


def _terminate_other_backends(url: str) -> int:
    """End every server process of the test database but this one, as a restart would."""
    u = make_url(url)
    with psycopg.connect(
        host=u.host, port=u.port, user=u.username, dbname=u.database, autocommit=True
    ) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_the_gate_sees_each_commit_and_survives_a_lost_connection(committed_url, backend):
    app = make_app(committed_url)
    db = database(app)
    with db.transaction("test:arrange") as session:
        headers = {
            "regulator": {
                "Authorization": "Bearer " + create_token(session, name="reg", role="regulator")
            },
            "centre": {
                "Authorization": "Bearer "
                + create_token(session, name="centre", role="centre", org=CENTRE_USCC)
            },
        }
    client = app.test_client()
    firm = client.post(
        "/api/v1/subjects",
        json={"kind": "bidder", "name": "南京路桥公司", "uscc": make_uscc(Random(5), "320102")},
        headers=headers["regulator"],
    )
    assert firm.status_code == 201, firm.get_json()
    firm = firm.get_json()

    def ask(ref, client=client) -> dict:
        response = client.get(
            f"/api/v1/subjects/{ref}/eligibility", query_string=QUERY, headers=headers["centre"]
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    assert ask(firm["id"])["eligible"] is True
    listed = client.post(
        f"/api/v1/subjects/{firm['id']}/listings",
        json={"list": "blacklist", "basis": basis("2025-05-01"), "start": "2025-05-01"},
        headers=headers["regulator"],
    )
    assert listed.status_code == 201, listed.get_json()
    # The very next question, on the connection held since the first, sees the commit.
    by_id, by_code = ask(firm["id"]), ask(firm["uscc"].lower())
    assert by_id["eligible"] is False and by_code == by_id
    assert [r["rule"] for r in by_id["reasons"]] == ["credit.blacklisted"]

    if backend == "postgresql":
        assert _terminate_other_backends(committed_url) >= 1
        after = ask(firm["id"])  # the dead connection is dropped and the question asked again
        assert after == by_id

    # Every thread of a threaded worker keeps its own connection and gets the same answers.
    answers: list[dict] = []

    def worker() -> None:
        own = app.test_client()
        answers.extend(ask(firm["id"], own) for _ in range(3))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [by_id] * 12
    db.dispose()
