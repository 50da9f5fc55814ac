"""A draw's life: drawn and sealed, verified, tampered with, replaced, short, retried,
and rated after the evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from expert_world import draw_body, drawn_ids
from sqlalchemy import JSON, bindparam, func, select, text

from credit.eligibility import eligibility
from credit.models import CreditRecord
from experts import draw as engine
from experts import services
from experts.models import Draw, DrawGroup, DrawRound, ExpertBooking
from trading import clock
from trading.audit import AuditEntry


def when(view: dict, key: str) -> datetime:
    return datetime.fromisoformat(view["window"][key].replace("+00:00", ""))


@pytest.fixture
def tender(world):
    tenderee = world.org("tenderee")
    bidders = [world.org() for _ in range(3)]
    return tenderee, bidders


@pytest.fixture
def drawn(world, tender, centre):
    """A committed draw: two A0101 seats with two backups, one B01 seat with one backup."""
    world.experts(8)
    world.experts(3, specialties=("B01",))
    world.commit()
    tenderee, bidders = tender
    body = draw_body(tenderee, bidders, seats=(("A0101", 2), ("B01", 1)), backups=2)
    body["seats"][1]["backups"] = 1
    response = centre(body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_owner_sees_names_contacts_and_backups(drawn):
    assert [(e["seat"], e["specialty"]) for e in drawn["experts"]] == [
        (1, "A0101"),
        (2, "A0101"),
        (3, "B01"),
    ]
    assert all(e["contact"] and e["name"] for e in drawn["experts"])
    assert [(b["specialty"], b["order"]) for b in drawn["backups"]] == [
        ("A0101", 1),
        ("A0101", 2),
        ("B01", 1),
    ]
    assert len(drawn_ids(drawn)) == 6  # nobody twice, backups included
    round0 = drawn["rounds"][0]
    assert round0["seed"] is None and len(round0["seed_commitment"]) == 64
    assert [g["pool_size"] for g in round0["groups"]] == [8, 3]
    assert drawn["sealed"] is True


def test_sealed_until_the_window_ends(drawn, client, tokens, at):
    url = f"/api/v1/draws/{drawn['id']}"
    assert client.get(url, headers=tokens["centre"]).status_code == 200
    other = client.get(url, headers=tokens["other_centre"])
    assert other.status_code == 404 and other.get_json()["rule"] == "draws.exists"
    for role in ("auditor", "regulator", "admin"):
        sealed = client.get(url, headers=tokens[role])
        assert sealed.status_code == 403 and sealed.get_json()["rule"] == "draws.sealed"
        assert client.get(f"{url}/verification", headers=tokens[role]).status_code == 403
    assert client.get(f"{url}/verification", headers=tokens["other_centre"]).status_code == 404
    listed = client.get("/api/v1/draws", headers=tokens["auditor"]).get_json()
    assert listed["total"] == 0

    at(when(drawn, "end") + timedelta(minutes=1))
    full = client.get(url, headers=tokens["auditor"])
    assert full.status_code == 200
    record = full.get_json()
    assert record["sealed"] is False
    assert len(record["rounds"][0]["seed"]) == 64
    group = record["rounds"][0]["groups"][0]
    assert len(group["pool"]) == 8 and group["exclusions"] == []
    assert all("contact" not in e for e in record["experts"] + record["backups"])
    assert record["request"]["bidders"] == drawn_request_bidders(record)
    assert client.get(url, headers=tokens["other_centre"]).status_code == 404
    answer = client.get(f"{url}/verification", headers=tokens["regulator"]).get_json()
    assert answer["match"] is True
    assert client.get("/api/v1/draws", headers=tokens["auditor"]).get_json()["total"] == 1


def test_the_audit_trail_does_not_leak_a_sealed_draw(drawn, client, tokens, at):
    """Auditors read every entry of the chain, but a sealed draw's entries only redacted:
    who sits and who is a backup stays with the centre until the unseal time."""
    url = f"/api/v1/draws/{drawn['id']}/replacements"
    seated = drawn["experts"][0]["id"]
    client.post(url, json={"expert_id": seated, "reason": "declined"}, headers=tokens["centre"])

    def draw_entries(role):
        page = client.get(
            f"/api/v1/audit?target_type=draw&target_id={drawn['id']}", headers=tokens[role]
        )
        assert page.status_code == 200
        return page.get_json()["items"]

    for role in ("auditor", "admin"):
        commit, *named = draw_entries(role)
        # The commitment is public from the start; it names nobody.
        assert commit["action"] == "draw.commit" and commit["redacted"] is False
        assert commit["after"]["seed_commitment"] == drawn["commitment"]
        assert set(commit["after"]) >= {"pool_digests", "request_digest", "entropy"}
        assert "results" not in commit["after"]
        assert [e["action"] for e in named] == ["draw.reveal", "draw.replace"]
        for entry in named:
            assert entry["redacted"] is True and len(entry["hash"]) == 64
            assert entry["before"] is None and entry["after"] is None
            assert entry["sealed_until"]
    assert client.get("/api/v1/audit/verification", headers=tokens["auditor"]).get_json()["ok"]

    at(when(drawn, "end") + timedelta(minutes=1))
    [_, revealed, replaced] = draw_entries("auditor")
    assert revealed["redacted"] is False
    assert revealed["after"]["results"]["A0101"][0] == [
        str(e["id"]) for e in drawn["experts"] if e["specialty"] == "A0101"
    ]
    assert replaced["after"]["old"] == seated


def drawn_request_bidders(record):
    return record["request"]["bidders"]


def test_the_owner_can_verify_at_any_time(drawn, client, tokens):
    answer = client.get(f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["match"] is True and body["rounds"][0]["pools_match"] is True


def _tamper(session, sql: str, **params):
    statement = text(sql)
    for name, value in params.items():
        if isinstance(value, list):
            statement = statement.bindparams(bindparam(name, type_=JSON))
    session.execute(statement, params)
    session.commit()


def _group(session, draw_id: int, position: int = 0) -> DrawGroup:
    return session.scalars(
        select(DrawGroup)
        .join(DrawRound, DrawRound.id == DrawGroup.round_id)
        .where(DrawRound.draw_id == draw_id, DrawGroup.position == position)
    ).one()


@pytest.mark.parametrize(
    "tampering", ["pool_removed", "pool_added", "seed", "order", "backup_order", "commitment"]
)
def test_tampering_with_the_record_breaks_verification(tampering, drawn, session, client, tokens):
    group = _group(session, drawn["id"])
    seats, backups = list(group.selected), list(group.backups)
    pool = list(group.pool)
    outsider = next(e for e in pool if e not in seats + backups)
    if tampering == "pool_removed":
        _tamper(
            session,
            "UPDATE draw_groups SET pool = :v WHERE id = :id",
            v=[e for e in pool if e != outsider],
            id=group.id,
        )
    elif tampering == "pool_added":
        _tamper(
            session,
            "UPDATE draw_groups SET pool = :v WHERE id = :id",
            v=[*pool, "999999"],
            id=group.id,
        )
    elif tampering == "seed":
        _tamper(
            session,
            "UPDATE draw_rounds SET seed = :v WHERE id = :id",
            v="00" * 32,
            id=group.round_id,
        )
    elif tampering == "commitment":
        _tamper(
            session,
            "UPDATE draw_rounds SET seed_commitment = :v WHERE id = :id",
            v="ab" * 32,
            id=group.round_id,
        )
    elif tampering == "order":
        _tamper(
            session,
            "UPDATE draw_groups SET selected = :v WHERE id = :id",
            v=seats[::-1],
            id=group.id,
        )
    else:
        _tamper(
            session,
            "UPDATE draw_groups SET backups = :v WHERE id = :id",
            v=backups[::-1],
            id=group.id,
        )
    session.expire_all()
    answer = client.get(
        f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"]
    ).get_json()
    assert answer["match"] is False
    round0 = answer["rounds"][0]
    if tampering.startswith("pool"):
        assert round0["pools_match"] is False
    elif tampering in ("seed", "commitment"):
        assert round0["seed_matches_commitment"] is False
    else:
        assert round0["results_match"] is False and round0["mismatched_groups"] == ["A0101"]


@pytest.mark.parametrize("tampered", ["redrawn", "results", "pools", "replacement"])
def test_verification_checks_the_record_against_the_audit_chain(
    tampered, drawn, session, client, tokens
):
    """An insider rewrites the record consistently (a new secret, its commitment, the seed
    and the draw they give): the record agrees with itself, the chain remembers."""
    group = _group(session, drawn["id"])
    round_id = group.round_id
    expected = {
        "redrawn": ["commitment", "seed", "results"],
        "results": ["results"],
        "pools": ["pools"],
        "replacement": ["replacements"],
    }[tampered]
    if tampered == "redrawn":
        round_ = session.get(DrawRound, round_id)
        draw = session.get(Draw, drawn["id"])
        secret = bytes(range(32))
        stored = list(
            session.scalars(
                select(DrawGroup).where(DrawGroup.round_id == round_id).order_by(DrawGroup.position)
            )
        )
        groups = [
            engine.SeatGroup(g.specialty, tuple(g.pool), g.seats, g.backups_requested)
            for g in stored
        ]
        commitment = engine.round_commitment(
            secret,
            [(g.specialty, g.pool_digest) for g in stored],
            engine.request_digest(draw.request),
        )
        seed = engine.derive_seed(secret, round_.entropy)
        _tamper(
            session,
            "UPDATE draw_rounds SET server_secret = :x, seed = :s, seed_commitment = :c"
            " WHERE id = :id",
            x=secret.hex(),
            s=seed.hex(),
            c=commitment,
            id=round_id,
        )
        for position, result in enumerate(engine.draw(seed, groups)):
            _tamper(
                session,
                "UPDATE draw_groups SET selected = :v, backups = :b"
                " WHERE round_id = :r AND position = :p",
                v=list(result.selected),
                b=list(result.backups),
                r=round_id,
                p=position,
            )
    elif tampered == "results":
        selected = list(group.selected)
        outsider = next(e for e in group.pool if e not in selected + list(group.backups))
        _tamper(
            session,
            "UPDATE draw_groups SET selected = :v WHERE id = :id",
            v=[outsider, *selected[1:]],
            id=group.id,
        )
    elif tampered == "pools":
        _tamper(
            session,
            "UPDATE draw_groups SET pool_digest = :v WHERE id = :id",
            v="0" * 64,
            id=group.id,
        )
    else:
        seated = drawn["experts"][0]["id"]
        client.post(
            f"/api/v1/draws/{drawn['id']}/replacements",
            json={"expert_id": seated, "reason": "declined"},
            headers=tokens["centre"],
        )
        _tamper(
            session,
            "UPDATE draw_replacements SET reason = 'conflict', old_expert_id = :o"
            " WHERE draw_id = :d",
            o=drawn["experts"][1]["id"],
            d=drawn["id"],
        )
    session.expire_all()
    answer = client.get(
        f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"]
    ).get_json()
    assert answer["match"] is False
    chain = answer["chain"]
    assert chain["entries_intact"] is True and chain["match"] is False
    assert chain["differs"] == expected, chain
    if tampered == "redrawn":
        assert answer["rounds"][0]["match"] is True  # the record agrees with itself


def test_verification_reports_the_chain_in_agreement(drawn, client, tokens):
    answer = client.get(
        f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"]
    ).get_json()
    assert answer["match"] is True
    assert answer["chain"] == {
        "match": True,
        "entries": 2,
        "entries_intact": True,
        "differs": [],
        "problems": [],
    }


def test_replacements_follow_the_committed_backup_order(drawn, client, tokens, session):
    url = f"/api/v1/draws/{drawn['id']}/replacements"
    a_seats = [e["id"] for e in drawn["experts"] if e["specialty"] == "A0101"]
    a_backups = [b["id"] for b in drawn["backups"] if b["specialty"] == "A0101"]

    first = client.post(
        url, json={"expert_id": a_seats[0], "reason": "declined"}, headers=tokens["centre"]
    )
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["new_expert"]["id"] == a_backups[0]
    assert first.get_json()["source"] == "backup" and first.get_json()["new_expert"]["contact"]

    # The second backup became unavailable: it is passed over, with the reason recorded.
    services.change_status(
        session,
        services.get_expert(session, a_backups[1]),
        {"status": "suspended", "reason": "投诉核查"},
    )
    session.commit()
    second = client.post(
        url, json={"expert_id": a_seats[1], "reason": "no_answer"}, headers=tokens["centre"]
    )
    assert second.status_code == 201, second.get_json()
    body = second.get_json()
    assert body["skipped"][0]["expert_id"] == a_backups[1]
    assert body["skipped"][0]["reasons"][0]["rule"] == "draws.not_active"
    # Backups exhausted: a supplementary draw with its own committed seed.
    assert body["source"] == "supplementary" and body["round"] == 1
    new_id = body["new_expert"]["id"]
    assert new_id not in drawn_ids(drawn)

    view = client.get(f"/api/v1/draws/{drawn['id']}", headers=tokens["centre"]).get_json()
    seated = {e["seat"]: e["id"] for e in view["experts"]}
    assert seated[1] == a_backups[0] and seated[2] == new_id
    assert [r["reason"] for r in view["replacements"]] == ["declined", "no_answer"]
    assert len(view["rounds"]) == 2 and view["rounds"][1]["seed_commitment"]
    states = {b["id"]: b["state"] for b in view["backups"]}
    assert states[a_backups[0]] == "seated" and states[a_backups[1]] == "waiting"
    # The replaced experts' bookings are released; the new ones booked.
    live = set(
        session.scalars(
            select(ExpertBooking.expert_id).where(
                ExpertBooking.draw_id == drawn["id"], ExpertBooking.released_at.is_(None)
            )
        )
    )
    assert live == {a_backups[0], new_id, drawn["experts"][2]["id"]}
    answer = client.get(
        f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"]
    ).get_json()
    assert answer["match"] is True and answer["replacements_match"] is True
    assert [r["number"] for r in answer["rounds"]] == [0, 1]


def test_a_hand_picked_replacement_is_caught(drawn, client, tokens, session):
    a_seat = drawn["experts"][0]["id"]
    response = client.post(
        f"/api/v1/draws/{drawn['id']}/replacements",
        json={"expert_id": a_seat, "reason": "declined"},
        headers=tokens["centre"],
    )
    assert response.status_code == 201
    second_backup = drawn["backups"][1]["id"]
    _tamper(
        session,
        "UPDATE draw_replacements SET new_expert_id = :v WHERE draw_id = :d",
        v=second_backup,
        d=drawn["id"],
    )
    answer = client.get(
        f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"]
    ).get_json()
    assert answer["replacements_match"] is False and answer["match"] is False


def test_replacement_refusals(drawn, client, tokens, world, at):
    url = f"/api/v1/draws/{drawn['id']}/replacements"
    not_seated = drawn["backups"][0]["id"]
    response = client.post(
        url, json={"expert_id": not_seated, "reason": "declined"}, headers=tokens["centre"]
    )
    assert response.status_code == 422 and response.get_json()["rule"] == "draws.seat_held"
    b_seat = drawn["experts"][2]["id"]
    other = client.post(
        url, json={"expert_id": b_seat, "reason": "declined"}, headers=tokens["other_centre"]
    )
    assert other.status_code == 404
    # B01: one seat, one backup, one more expert in the pool, then nobody.
    sitting = b_seat
    for expected_source in ("backup", "supplementary"):
        response = client.post(
            url, json={"expert_id": sitting, "reason": "declined"}, headers=tokens["centre"]
        )
        assert response.status_code == 201 and response.get_json()["source"] == expected_source
        sitting = response.get_json()["new_expert"]["id"]
    short = client.post(
        url, json={"expert_id": sitting, "reason": "conflict"}, headers=tokens["centre"]
    )
    assert short.status_code == 409 and short.get_json()["rule"] == "draws.enough_experts"
    assert short.get_json()["errors"]["shortfall"][0]["excluded"]["draws.already_in_draw"] == 3
    view = client.get(f"/api/v1/draws/{drawn['id']}", headers=tokens["centre"]).get_json()
    assert len(view["rounds"]) == 2  # the refused supplementary round left nothing behind
    at(when(drawn, "end") + timedelta(hours=1))
    closed = client.post(
        url,
        json={"expert_id": drawn["experts"][0]["id"], "reason": "declined"},
        headers=tokens["centre"],
    )
    assert closed.status_code == 409 and closed.get_json()["rule"] == "draws.open_for_replacement"


def test_a_failed_replacement_is_recorded_and_leaves_the_seat_as_it_was(
    drawn, client, tokens, session
):
    url = f"/api/v1/draws/{drawn['id']}/replacements"
    sitting = drawn["experts"][2]["id"]  # B01: one backup, then one more in the pool
    for _ in range(2):
        response = client.post(
            url, json={"expert_id": sitting, "reason": "declined"}, headers=tokens["centre"]
        )
        sitting = response.get_json()["new_expert"]["id"]
    failed = client.post(
        url,
        json={"expert_id": sitting, "reason": "declined", "note": "电话拒绝"},
        headers=tokens["centre"],
    )
    assert failed.status_code == 409 and failed.get_json()["rule"] == "draws.enough_experts"
    view = client.get(f"/api/v1/draws/{drawn['id']}", headers=tokens["centre"]).get_json()
    assert [e["id"] for e in view["experts"] if e["seat"] == 3] == [sitting]
    assert len(view["rounds"]) == 2 and len(view["replacements"]) == 2
    [record] = view["failed_replacements"]
    assert record["seat"] == 3 and record["expert_id"] == sitting
    assert record["reason"] == "declined" and record["note"] == "电话拒绝"
    assert record["rule"] == "draws.enough_experts" and record["at"]
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "draw.replace_failed", AuditEntry.target_id == str(drawn["id"])
        )
    ).all()
    assert [(e.after["seat"], e.after["expert"], e.after["rule"]) for e in entries] == [
        (3, sitting, "draws.enough_experts")
    ]
    assert client.get(
        f"/api/v1/draws/{drawn['id']}/verification", headers=tokens["centre"]
    ).get_json()["match"]


def test_not_enough_experts_names_each_group_and_books_nothing(world, tender, centre, session):
    tenderee, bidders = tender
    world.experts(2, specialties=("A0101",))
    conflicted = world.expert(employer=bidders[0].uscc)
    suspended = world.expert()
    services.change_status(session, suspended, {"status": "suspended", "reason": "x"})
    world.expert(specialties=("B01",), region="310101")
    world.commit()
    body = draw_body(
        tenderee,
        bidders,
        seats=(("A0101", 3), ("B01", 1), ("C01", 1)),
        region_rule={"mode": "local"},
    )
    response = centre(body)
    assert response.status_code == 409
    error = response.get_json()
    assert error["rule"] == "draws.enough_experts"
    shortfall = {item["specialty"]: item for item in error["errors"]["shortfall"]}
    assert shortfall["A0101"]["needed"] == 3 and shortfall["A0101"]["available"] == 2
    assert shortfall["A0101"]["excluded"] == {"conflict.employment": 1, "draws.not_active": 1}
    assert shortfall["B01"]["available"] == 0 and shortfall["B01"]["outside_region"] == 1
    assert shortfall["C01"]["candidates"] == 0
    assert len(error["errors"]["seats"]) == 3
    assert conflicted.id  # arranged above
    assert session.scalar(select(func.count()).select_from(ExpertBooking)) == 0
    assert session.scalar(select(func.count()).select_from(Draw)) == 0


def test_an_idempotency_key_replays_the_same_draw(world, tender, centre, session):
    world.experts(5)
    world.commit()
    tenderee, bidders = tender
    body = draw_body(tenderee, bidders)
    key = {"Idempotency-Key": "draw-JG2026-001"}
    first = centre(body, key)
    again = centre(body, key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert session.scalar(select(func.count()).select_from(Draw)) == 1
    assert session.scalar(select(func.count()).select_from(ExpertBooking)) == 2
    different = centre({**body, "tender_ref": "other"}, key)
    assert different.status_code == 422


def test_only_a_centre_draws(world, tender, client, tokens):
    world.experts(3)
    world.commit()
    body = draw_body(tender[0], tender[1], seats=(("A0101", 1),))
    assert client.post("/api/v1/draws", json=body, headers=tokens["auditor"]).status_code == 403
    admin = client.post("/api/v1/draws", json=body, headers=tokens["admin"])
    assert admin.status_code == 403 and admin.get_json()["rule"] == "draws.centre_only"


def test_feedback_writes_the_credit_record_that_bars_the_next_draw(
    drawn, client, tokens, session, at, world, tender
):
    url = f"/api/v1/draws/{drawn['id']}/feedback"
    absent, good = drawn["experts"][0]["id"], drawn["experts"][1]["id"]
    early = client.post(
        url, json={"expert_id": absent, "attendance": "absent"}, headers=tokens["centre"]
    )
    assert early.status_code == 409
    assert early.get_json()["rule"] == "draws.feedback_after_evaluation"
    # the instant in the message is written as on the wire, with its offset
    assert f"({drawn['window']['start'].replace('Z', '+00:00')})" in early.get_json()["message"]

    feedback_at = when(drawn, "start") + timedelta(hours=2)
    at(feedback_at)
    response = client.post(
        url,
        json={"expert_id": absent, "attendance": "absent", "note": "未到场"},
        headers=tokens["centre"],
    )
    assert response.status_code == 201, response.get_json()
    record_id = response.get_json()["credit_record_id"]
    record = session.get(CreditRecord, record_id)
    assert record.polarity == "negative" and record.category == "evaluation_misconduct"
    assert record.basis_document_no == f"draw {drawn['id']}"
    expert = services.get_expert(session, absent)
    # the record runs from the China date the feedback was given (which may be the day after
    # start, and the day after the UTC date)
    today = clock.china_date(feedback_at)
    assert eligibility(session, expert.subject_id, "expert", on=today).eligible is False

    fine = client.post(
        url,
        json={"expert_id": good, "attendance": "attended", "conduct": "good"},
        headers=tokens["centre"],
    )
    assert fine.status_code == 201 and fine.get_json()["credit_record_id"] is None
    twice = client.post(
        url, json={"expert_id": good, "attendance": "attended"}, headers=tokens["centre"]
    )
    assert twice.status_code == 409
    stranger = client.post(
        url,
        json={"expert_id": drawn["backups"][0]["id"], "attendance": "attended"},
        headers=tokens["centre"],
    )
    assert stranger.status_code == 422

    # The next draw, after this evaluation, leaves the absent expert out for the penalty.
    tenderee, bidders = tender
    later = draw_body(
        tenderee,
        bidders,
        seats=(("A0101", 1),),
        backups=0,
        window={
            "start": (when(drawn, "end") + timedelta(days=3)).isoformat() + "Z",
            "end": (when(drawn, "end") + timedelta(days=3, hours=4)).isoformat() + "Z",
        },
    )
    next_draw = client.post("/api/v1/draws", json=later, headers=tokens["centre"])
    assert next_draw.status_code == 201, next_draw.get_json()
    assert next_draw.get_json()["rounds"][0]["groups"][0]["excluded"] == {"draws.penalty": 1}


def test_the_draw_record_s_request_carries_instants_with_their_offset(drawn, client, tokens):
    # An auditor reads the whole record after the unseal time, request included.
    unsealed = when(drawn, "end") + timedelta(hours=1)
    with clock.frozen(unsealed):
        record = client.get(f"/api/v1/draws/{drawn['id']}", headers=tokens["auditor"])
    assert record.status_code == 200, record.get_json()
    window = record.get_json()["request"]["window"]
    assert window["start"].endswith("+00:00") and window["end"].endswith("+00:00"), window
