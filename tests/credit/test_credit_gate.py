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


#: Fewer connections than threads: the gate and the requests' sessions must share them.
SMALL_POOL = {"DB_POOL_SIZE": 2, "DB_MAX_OVERFLOW": 0, "DB_POOL_TIMEOUT": 5}
THREADS = 12


def test_more_threads_than_pool_slots_all_answer_and_the_service_recovers(committed_url):
    """Eligibility questions and other calls from more threads than the pool has
    connections: every one is answered (a connection is given back after each use, none
    is kept by a thread), and afterwards the service answers as before, unaided."""
    app = make_app(committed_url, **SMALL_POOL)
    db = database(app)
    with db.transaction("test:arrange") as session:
        regulator = {
            "Authorization": "Bearer " + create_token(session, name="reg", role="regulator")
        }
        centre = {
            "Authorization": "Bearer "
            + create_token(session, name="centre", role="centre", org=CENTRE_USCC)
        }
    rng = Random(15)
    client = app.test_client()
    firm = client.post(
        "/api/v1/subjects",
        json={"kind": "bidder", "name": "池测试公司", "uscc": make_uscc(rng, "320102")},
        headers=regulator,
    ).get_json()
    fresh = [make_uscc(rng, "320102") for _ in range(THREADS)]
    statuses: list[tuple[str, int]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        own = app.test_client()
        try:
            start.wait()
            for round_ in range(6):
                calls = [
                    (
                        "gate id",
                        lambda: own.get(
                            f"/api/v1/subjects/{firm['id']}/eligibility",
                            query_string=QUERY,
                            headers=centre,
                        ),
                    ),
                    (
                        "gate uscc",
                        lambda: own.get(
                            f"/api/v1/subjects/{firm['uscc']}/eligibility",
                            query_string=QUERY,
                            headers=centre,
                        ),
                    ),
                    ("subjects", lambda: own.get("/api/v1/subjects", headers=centre)),
                    ("readyz", lambda: own.get("/readyz")),
                ]
                if round_ == 0:
                    calls.append(
                        (
                            "register",
                            lambda: own.post(
                                "/api/v1/subjects",
                                json={"kind": "bidder", "name": f"池测试{n}号", "uscc": fresh[n]},
                                headers=regulator,
                            ),
                        )
                    )
                for label, call in calls:
                    statuses.append((label, call().status_code))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert sorted({s for _, s in statuses}) == [200, 201], [x for x in statuses if x[1] >= 300]
    assert len(statuses) == THREADS * (6 * 4 + 1)
    # Nothing is left checked out: the service answers at once, as before the load.
    assert client.get("/readyz").status_code == 200
    listed = client.get("/api/v1/subjects", headers=centre)
    assert listed.status_code == 200 and listed.get_json()["total"] == THREADS + 1
    if db.dialect == "postgresql":
        assert db.engine.pool.checkedout() == 0
    db.dispose()
