"""Demo data: a few hundred evaluation experts in the Yangtze delta, and one sealed draw.

Runs after the credit demo in the same transaction, so the experts can work for the
firms, agencies and public bodies it registered: some of them are therefore in conflict
with the bidders of a tender, which the demo draw shows. The practitioner the credit demo
penalised for evaluation misconduct (评标违规) joins the pool too, and is left out of
draws while the record is in its publicity period. A few experts are on leave or
suspended. Everything derives from ``rng``: the same seed gives the same pool.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.identifiers import make_resident_id, make_uscc
from credit.models import CreditRecord, Subject
from experts import services, specialties
from experts.draws import DrawSettings, draw_experts
from experts.models import Expert
from trading import clock
from trading.errors import ServiceError

EXPERTS = 300
REGIONS = [
    "320102", "320104", "320105", "320106", "320111", "320115",  # 南京
    "320505", "320506", "320507", "320508",  # 苏州
    "320205", "320206", "320211", "320213",  # 无锡
    "310101", "310104", "310105", "310115",  # 上海
    "330102", "330105", "330106", "330110",  # 杭州
]  # fmt: skip
# Specialties most tenders ask for: building, municipal and road works, their cost and
# supervision, office and IT goods, property and consulting services.
FAMILIES = ("A0801", "A0802", "A0803", "A0806", "A04", "A07", "B02", "B05", "C01", "C05")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志红玲峰斌海波宁辉鹏飞"
TITLES = ("高级工程师", "正高级工程师", "高级经济师", "注册造价工程师", "高级会计师")
DEMO_CENTRE = "91110000600037341L"  # the demo centre token's organisation (trading.cli)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _codes_by_family() -> dict[str, list[str]]:
    table = specialties.load_specialties()
    return {
        family: [code for code in table if code.startswith(family) and len(code) > len(family)]
        or [family]
        for family in FAMILIES
    }


def load(session: Session, rng: random.Random) -> str:
    now = clock.now()
    codes = _codes_by_family()
    organisations = list(
        session.scalars(select(Subject.uscc).where(Subject.uscc.isnot(None)).order_by(Subject.id))
    )
    made: list[Expert] = []
    for _ in range(EXPERTS):
        region = rng.choice(REGIONS)
        family = rng.choice(FAMILIES)
        held = sorted(set(rng.sample(codes[family], min(len(codes[family]), rng.randint(1, 3)))))
        # Most experts work for a registered organisation, a few for one outside the register.
        if organisations and rng.random() < 0.7:
            employer = rng.choice(organisations)
        else:
            employer = make_uscc(rng, region)
        made.append(
            services.create_expert(
                session,
                {
                    "name": _name(rng),
                    "id_number": make_resident_id(rng, region),
                    "region": region,
                    "specialties": held,
                    "employer": employer,
                    "title": rng.choice(TITLES),
                    "contact": f"139{rng.randrange(10**8):08d}",
                },
            )
        )
    penalised = _penalised_practitioners(session)
    for subject in penalised:
        services.create_expert(
            session,
            {
                "name": subject.name,
                "id_number": subject.id_number,
                "region": subject.region,
                "specialties": [rng.choice(codes["A0801"])],
                "employer": rng.choice(organisations) if organisations else make_uscc(rng),
                "title": "高级工程师",
            },
        )
    today = clock.china_date(now)
    for expert in rng.sample(made, 12):
        start = today + timedelta(days=rng.randrange(0, 30))
        services.add_leave(
            session,
            expert,
            {"start": start, "end": start + timedelta(days=rng.randrange(2, 15)), "reason": "出差"},
        )
    for expert in rng.sample(made, 5):
        services.change_status(session, expert, {"status": "suspended", "reason": "年度考核不合格"})
    draw_note = _demo_draw(session, rng, codes)
    return (
        f"{len(made) + len(penalised)} experts ({len(penalised)} with a penalty record), "
        f"12 on leave, 5 suspended; {draw_note}"
    )


def _penalised_practitioners(session: Session) -> list[Subject]:
    return list(
        session.scalars(
            select(Subject)
            .join(CreditRecord, CreditRecord.subject_id == Subject.id)
            .where(
                Subject.kind == "practitioner",
                CreditRecord.category == "evaluation_misconduct",
                Subject.id.notin_(select(Expert.subject_id)),
            )
            .distinct()
            .order_by(Subject.id)
        )
    )


def _demo_draw(session: Session, rng: random.Random, codes: dict[str, list[str]]) -> str:
    tenderee = session.scalar(
        select(Subject.uscc).where(Subject.kind == "tenderee").order_by(Subject.id).limit(1)
    )
    bidders = list(
        session.scalars(
            select(Subject.uscc).where(Subject.kind == "bidder").order_by(Subject.id).limit(8)
        )
    )
    if tenderee is None:
        return "no demo draw (no tenderee registered)"
    start = (clock.now() + timedelta(days=7)).replace(hour=1, minute=0, second=0, microsecond=0)
    request: dict[str, Any] = {
        "tender_ref": "DEMO-2026-001",
        # The experts' demo loads before the tenders': this one is outside the register.
        "external_project": {"name": "演示项目 DEMO-2026-001（非进场项目）"},
        "tenderee": tenderee,
        "bidders": bidders,
        "window": {"start": start, "end": start + timedelta(hours=8)},
        "seats": [{"specialty": "A0801", "count": 3}, {"specialty": "B02", "count": 2}],
        "backups": 2,
    }
    previous_actor = session.info.get("actor")
    try:
        draw = draw_experts(session, DEMO_CENTRE, request, DrawSettings())
    except ServiceError as error:
        return f"no demo draw ({error.message})"
    finally:
        if previous_actor is not None:
            session.info["actor"] = previous_actor
    return f"demo draw {draw.id} for {DEMO_CENTRE}, sealed until {draw.unseal_at:%Y-%m-%d %H:%M}"
