"""The demo loader builds a pool the console can show, and a sealed draw over it."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from credit import demo as credit_demo
from experts import demo as experts_demo
from experts.models import Draw, DrawGroup, DrawRound, Expert


def test_the_demo_pool_and_draw(session):
    rng = random.Random(2018)
    credit_demo.load(session, rng)
    summary = experts_demo.load(session, rng)
    assert "experts" in summary and "demo draw" in summary
    experts = session.scalar(select(func.count()).select_from(Expert))
    assert experts >= experts_demo.EXPERTS
    draw = session.scalars(select(Draw)).one()
    assert draw.centre_uscc == experts_demo.DEMO_CENTRE
    groups = session.scalars(
        select(DrawGroup).join(DrawRound).where(DrawRound.draw_id == draw.id)
    ).all()
    assert [g.specialty for g in groups] == ["A0801", "B02"]
    rules = {r["rule"] for g in groups for item in g.exclusions for r in item["reasons"]}
    # The practitioner the credit demo penalised for evaluation misconduct sits out.
    assert "draws.penalty" in rules
