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
