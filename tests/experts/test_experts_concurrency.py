"""Many centres drawing at once from a small pool never book one expert twice in
overlapping windows. Runs on both backends: PostgreSQL proves the row locks, SQLite its
serialised writers."""

from __future__ import annotations

import threading
from datetime import timedelta

from expert_world import World, draw_body
from sqlalchemy import text

from tests.conftest import CENTRE_USCC, make_app
from trading import clock
from trading.auth import create_token
from trading.db import database

DRAWS = 12


def test_concurrent_draws_never_double_book_an_expert(committed_url, backend):
    app = make_app(committed_url)
    db = database(app)
    with db.transaction("test:arrange") as session:
        world = World(session, seed=77)
        tenderee = world.org("tenderee")
        bidders = [world.org() for _ in range(3)]
        world.experts(6)
        secret = create_token(session, name="busy-centre", role="centre", org=CENTRE_USCC)
        tenderee_uscc, bidder_usccs = tenderee.uscc, [b.uscc for b in bidders]
    headers = {"Authorization": f"Bearer {secret}"}
    start = (clock.now() + timedelta(days=5)).replace(microsecond=0)
    barrier = threading.Barrier(DRAWS)
    answers: list[tuple[int, dict]] = []
    errors: list[BaseException] = []

    def fire(k: int) -> None:
        # Every window contains the hour from start+2h to start+3h: all of them overlap.
        begins = start + timedelta(hours=k % 3)
        body = draw_body(
            tenderee_uscc,
            bidder_usccs,
            seats=(("A0101", 2),),
            backups=1,
            tender_ref=f"RUSH-{k}",
            window={
                "start": begins.isoformat() + "Z",
                "end": (begins + timedelta(hours=3)).isoformat() + "Z",
            },
        )
        client = app.test_client()
        try:
            barrier.wait()
            response = client.post("/api/v1/draws", json=body, headers=headers)
            answers.append((response.status_code, response.get_json()))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(k,)) for k in range(DRAWS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, answers
    refused = [body for status, body in answers if status == 409]
    assert all(body["rule"] == "draws.enough_experts" for body in refused), refused
    # Six experts and windows that all overlap: exactly three draws of two can be seated.
    assert statuses.count(201) == 3

    with db.transaction("test:check") as session:
        double = session.execute(
            text(
                "SELECT a.expert_id FROM expert_bookings a JOIN expert_bookings b"
                " ON a.expert_id = b.expert_id AND a.id < b.id"
                " AND a.released_at IS NULL AND b.released_at IS NULL"
                " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
            )
        ).all()
        booked = session.execute(
            text("SELECT count(*), count(DISTINCT expert_id) FROM expert_bookings")
        ).one()
    assert double == []
    assert tuple(booked) == (6, 6)
    db.dispose()


def _replacement_world(committed_url):
    """A committed draw of one seat with three backups, and the centre's headers."""
    app = make_app(committed_url)
    db = database(app)
    with db.transaction("test:arrange") as session:
        world = World(session, seed=78)
        tenderee = world.org("tenderee")
        world.experts(4)
        secret = create_token(session, name="clicking-centre", role="centre", org=CENTRE_USCC)
        tenderee_uscc = tenderee.uscc
    headers = {"Authorization": f"Bearer {secret}"}
    body = draw_body(tenderee_uscc, seats=(("A0101", 1),), backups=3, tender_ref="CLICK-1")
    created = app.test_client().post("/api/v1/draws", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    return app, db, headers, created.get_json()


def _fire_together(app, n: int, url: str, body: dict, headers) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(n)
    answers: list[tuple[int, dict]] = []
    errors: list[BaseException] = []

    def fire(k: int) -> None:
        client = app.test_client()
        try:
            barrier.wait()
            response = client.post(url, json=body, headers=headers(k))
            answers.append((response.status_code, response.get_json()))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(k,)) for k in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return answers


def _seats_and_bookings(db, draw_id: int) -> tuple[int, int, int]:
    with db.transaction("test:check") as session:
        active = session.execute(
            text("SELECT count(*) FROM draw_seats WHERE draw_id = :d AND active"), {"d": draw_id}
        ).scalar_one()
        booked = session.execute(
            text("SELECT count(*) FROM expert_bookings WHERE draw_id = :d AND released_at IS NULL"),
            {"d": draw_id},
        ).scalar_one()
        replaced = session.execute(
            text("SELECT count(*) FROM draw_replacements WHERE draw_id = :d"), {"d": draw_id}
        ).scalar_one()
    return active, booked, replaced


def test_concurrent_replacements_of_one_seat_replace_it_once(committed_url, backend):
    app, db, headers, drawn = _replacement_world(committed_url)
    seated = drawn["experts"][0]["id"]
    url = f"/api/v1/draws/{drawn['id']}/replacements"
    answers = _fire_together(
        app, 4, url, {"expert_id": seated, "reason": "declined"}, lambda k: headers
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 409, 409, 409], answers
    refused = [body for status, body in answers if status == 409]
    assert all(body["rule"] == "draws.seat_already_replaced" for body in refused), refused
    [(_, won)] = [(s, b) for s, b in answers if s == 201]
    assert won["new_expert"]["id"] == drawn["backups"][0]["id"]
    assert _seats_and_bookings(db, drawn["id"]) == (1, 1, 1)
    answer = app.test_client().get(f"/api/v1/draws/{drawn['id']}/verification", headers=headers)
    assert answer.get_json()["match"] is True, answer.get_json()
    db.dispose()


def test_a_retried_replacement_with_its_idempotency_key_replays_the_answer(committed_url, backend):
    app, db, headers, drawn = _replacement_world(committed_url)
    seated = drawn["experts"][0]["id"]
    url = f"/api/v1/draws/{drawn['id']}/replacements"
    answers = _fire_together(
        app,
        3,
        url,
        {"expert_id": seated, "reason": "declined"},
        lambda k: {**headers, "Idempotency-Key": "decline-once"},
    )
    assert [status for status, _ in answers] == [201, 201, 201], answers
    assert len({body["new_expert"]["id"] for _, body in answers}) == 1
    assert _seats_and_bookings(db, drawn["id"]) == (1, 1, 1)
    db.dispose()
