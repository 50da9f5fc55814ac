"""Laws of the draw service: every eligible expert is equally likely, and no draw ever
seats or lists a conflicted, booked, suspended, absent or penalised expert."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from itertools import count

from expert_world import World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit import services as credit
from credit.categories import add_months
from experts import draw as engine
from experts import services
from experts.draws import DrawSettings, draw_experts
from experts.models import Draw, ExpertBooking
from tests.conftest import CENTRE_USCC
from trading import clock
from trading.errors import Conflict

# Chi-square critical value at p = 0.001 for 9 degrees of freedom (NIST/SEMATECH table).
CHI2_CRITICAL_P001_DF9 = 27.877


def request(tenderee, bidders, seats: int, backups: int, days: int = 10) -> dict:
    start = (clock.now() + timedelta(days=days)).replace(microsecond=0)
    return {
        "tender_ref": "FAIR-1",
        "external_project": {"name": "fairness test"},
        "tenderee": tenderee.uscc,
        "bidders": [b.uscc for b in bidders],
        "window": {"start": start, "end": start + timedelta(hours=6)},
        "seats": [{"specialty": "A0101", "count": seats}],
        "backups": backups,
    }


def fixed_seeds(monkeypatch, label: str) -> None:
    numbers = count()
    monkeypatch.setattr(
        engine, "new_seed", lambda: hashlib.sha256(f"{label}:{next(numbers)}".encode()).digest()
    )


def test_every_eligible_expert_is_chosen_equally_often(session, monkeypatch):
    world = World(session, seed=2018)
    tenderee, bidders = world.org("tenderee"), [world.org() for _ in range(2)]
    eligible = world.experts(10)
    conflicted = world.expert(employer=bidders[0].uscc)
    suspended = world.expert()
    services.change_status(session, suspended, {"status": "suspended", "reason": "x"})
    session.flush()
    fixed_seeds(monkeypatch, "chi-square")
    body = request(tenderee, bidders, seats=3, backups=1)
    seats = dict.fromkeys((e.id for e in eligible), 0)
    backups = dict.fromkeys((e.id for e in eligible), 0)
    draws = 250
    for _ in range(draws):
        savepoint = session.begin_nested()
        draw = draw_experts(session, CENTRE_USCC, body, DrawSettings())
        [group] = draw_groups(session, draw)
        for expert_id in group.selected:
            seats[int(expert_id)] += 1
        for expert_id in group.backups:
            backups[int(expert_id)] += 1
        savepoint.rollback()  # the next draw sees the same pool, unbooked
        session.expunge_all()
    assert set(seats) == {e.id for e in eligible}  # the excluded never appear
    assert conflicted.id not in seats and suspended.id not in seats
    assert sum(seats.values()) == 3 * draws and sum(backups.values()) == draws
    assert chi_square(seats.values(), 3 * draws / 10) < CHI2_CRITICAL_P001_DF9
    assert chi_square(backups.values(), draws / 10) < CHI2_CRITICAL_P001_DF9


def draw_groups(session, draw: Draw):
    from sqlalchemy import select

    from experts.models import DrawGroup, DrawRound

    return list(
        session.scalars(
            select(DrawGroup)
            .join(DrawRound, DrawRound.id == DrawGroup.round_id)
            .where(DrawRound.draw_id == draw.id)
            .order_by(DrawGroup.position)
        )
    )


def chi_square(observed, expected: float) -> float:
    return sum((o - expected) ** 2 / expected for o in observed)


# --- property: random small worlds ------------------------------------------------------------

EMPLOYERS = ("elsewhere", "bidder", "tenderee", "bidders_parent", "three_hops")

expert_facts = st.fixed_dictionaries(
    {
        "status": st.sampled_from(("active", "active", "active", "suspended", "retired")),
        "on_leave": st.booleans(),
        "booked": st.booleans(),
        "penalised": st.booleans(),
        "employer": st.sampled_from(EMPLOYERS),
        "left_bidder_years_ago": st.sampled_from((None, None, 1, 2, 4, 5)),
        "relative_of_principal": st.booleans(),
        "interest_in_bidder": st.booleans(),
    }
)


def barred(facts: dict) -> bool:
    """The rules, restated independently of the service."""
    return (
        facts["status"] != "active"
        or facts["on_leave"]
        or facts["booked"]
        or facts["penalised"]
        or facts["employer"] in ("bidder", "tenderee", "bidders_parent")
        or (facts["left_bidder_years_ago"] or 99) < 3
        or facts["relative_of_principal"]
        or facts["interest_in_bidder"]
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    experts=st.lists(expert_facts, min_size=1, max_size=8),
    seats=st.integers(1, 3),
    backups=st.integers(0, 2),
    seed=st.integers(0, 2**32),
)
def test_no_draw_contains_an_expert_who_may_not_sit(session, experts, seats, backups, seed):
    savepoint = session.begin_nested()
    try:
        world = World(session, seed=seed)
        tenderee, bidder = world.org("tenderee"), world.org()
        parent, grandparent, cousin = world.org(), world.org(), world.org()
        world.relate(parent, "shareholder", bidder, share=60)
        world.relate(grandparent, "shareholder", parent, share=60)
        world.relate(cousin, "subsidiary", grandparent)  # three hops from the bidder
        principal = world.person()
        world.relate(principal, "legal_rep", bidder)
        body = request(tenderee, [bidder], seats, backups)
        start = body["window"]["start"]
        employer_of = {
            "elsewhere": None,
            "bidder": bidder.uscc,
            "tenderee": tenderee.uscc,
            "bidders_parent": parent.uscc,
            "three_hops": cousin.uscc,
        }
        other_draw = Draw(
            centre_uscc=CENTRE_USCC,
            tender_ref="EARLIER",
            request={},
            window_start=start,
            window_end=start + timedelta(hours=2),
            unseal_at=start,
            actor="test",
            created_at=clock.now(),
        )
        session.add(other_draw)
        session.flush()
        made = []
        for facts in experts:
            expert = world.expert(employer=employer_of[facts["employer"]])
            arrange(world, expert, facts, start.date(), bidder, principal, other_draw)
            made.append((expert, facts))
        session.flush()
        allowed = {expert.id for expert, facts in made if not barred(facts)}
        try:
            draw = draw_experts(session, CENTRE_USCC, body, DrawSettings())
        except Conflict as refused:
            assert refused.rule == "draws.enough_experts"
            assert len(allowed) < seats
            return
        [group] = draw_groups(session, draw)
        assert {int(e) for e in group.pool} == allowed
        assert {int(e) for e in (*group.selected, *group.backups)} <= allowed
        assert len(group.selected) == seats
        excluded = {item["expert_id"] for item in group.exclusions}
        assert excluded == {expert.id for expert, _ in made} - allowed
    finally:
        savepoint.rollback()
        session.info.pop("audit_pending", None)


def arrange(world, expert, facts, on: date, bidder, principal, other_draw) -> None:
    session = world.session
    if facts["status"] != "active":
        services.change_status(session, expert, {"status": facts["status"], "reason": "x"})
    if facts["on_leave"]:
        services.add_leave(session, expert, {"start": on, "end": on + timedelta(days=1)})
    if facts["booked"]:
        session.add(
            ExpertBooking(
                expert_id=expert.id,
                draw_id=other_draw.id,
                starts_at=other_draw.window_start,
                ends_at=other_draw.window_end,
                created_at=clock.now(),
            )
        )
    if facts["penalised"]:
        today = clock.today()
        credit.add_record(
            session,
            world._subject(expert),
            {
                "polarity": "negative",
                "category": "evaluation_misconduct",
                "severity": "minor",
                "basis": {
                    "authority": "公管办",
                    "document_no": "1",
                    "decided_on": today.isoformat(),
                },
                "effective_from": today.isoformat(),
            },
            today=today,
        )
    if facts["left_bidder_years_ago"] is not None:
        years = facts["left_bidder_years_ago"]
        world.relate(
            expert,
            "employment",
            bidder,
            start=add_months(on, -12 * (years + 3)).isoformat(),
            end=add_months(clock.today(), -12 * years).isoformat(),
        )
    if facts["relative_of_principal"]:
        world.relate(expert, "relative", principal)
    if facts["interest_in_bidder"]:
        world.relate(expert, "interest", bidder)
