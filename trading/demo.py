"""Demo data for ``make run``: forty tenders in Beijing with two cartels to find.

Registered through the services, as a trading centre would (so every row is audited and
every gate is passed): tenderees, agencies and bidders through the credit service, tenders,
bids and awards through :mod:`trading.services`. Then a full collusion scan, so the alerts
are waiting for an auditor:

- **a rotation ring** (轮流坐庄) of four construction firms that meet in sixteen tenders,
  take turns to win and cover a few per cent above the designated winner;
- **a shared computer** (同一台电脑制作投标文件): three firms whose bid files were made on
  one machine, in four tenders, one time paying their deposits from one account.

Twenty further tenders are honest: four to six firms, the lowest price wins.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from credit.identifiers import make_resident_id, make_uscc
from credit.services import create_subject
from trading import clock
from trading.services import Caller, award_tender, create_tender, register_bid

REGION = "110105"  # 北京市朝阳区

_HONEST = [
    "北京城建华信工程有限公司", "北京中和路桥建设有限公司", "北京京港市政工程有限公司",
    "北京宏远建筑安装有限公司", "北京兴业建工集团有限公司", "北京恒基道桥工程有限公司",
    "北京金石园林绿化有限公司", "北京瑞泰机电安装有限公司", "北京安达水务工程有限公司",
    "北京东方建设发展有限公司", "北京华北基础工程有限公司", "北京天成装饰工程有限公司",
]  # fmt: skip
_RING = [
    "北京鼎盛建设工程有限公司", "北京鑫源市政工程有限公司",
    "北京泰和路桥工程有限公司", "北京广厦建筑工程有限公司",
]  # fmt: skip
_TRIO = ["北京祥云建设有限公司", "北京瑞丰工程有限公司", "北京盛达建筑有限公司"]
_AUTHORS = ["Administrator", "微软用户"]  # defaults the analysis ignores
_WORKS = [
    "道路改造工程", "雨污分流改造工程", "老旧小区综合整治工程", "公园绿化提升工程",
    "学校校舍改造工程", "桥梁维修加固工程", "供热管网改造工程", "社区服务中心装修工程",
]  # fmt: skip


def _org(session: Session, rng: random.Random, kind: str, name: str):
    return create_subject(
        session, {"kind": kind, "name": name, "uscc": make_uscc(rng, REGION), "region": REGION}
    )


def _machine(rng: random.Random, author: str) -> dict:
    """One firm's computer and office line, as the bidding client records them."""
    return {
        "machine_code": "".join(rng.choice("0123456789ABCDEF") for _ in range(32)),
        "mac": ":".join(f"{rng.randrange(256):02X}" for _ in range(6)),
        "cpu": "BFEBFBFF" + "".join(rng.choice("0123456789ABCDEF") for _ in range(8)),
        "disk": "WD-WCC" + "".join(rng.choice("0123456789") for _ in range(8)),
        "ip": f"61.{rng.randrange(48, 52)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "author": author,
    }


def _document(rng: random.Random, machine: dict) -> dict:
    return {**machine, "doc_hash": "".join(rng.choice("0123456789abcdef") for _ in range(64))}


def _account(rng: random.Random) -> str:
    return "6222" + "".join(rng.choice("0123456789") for _ in range(15))


def load(session: Session, rng: random.Random) -> str:
    from trading.cli import DEMO_CENTRE_USCC  # the organisation of the demo centre token
    from trading.collusion.services import scan_market

    centre = Caller(actor="demo", role="centre", org=DEMO_CENTRE_USCC)
    tenderees = [
        _org(session, rng, "tenderee", name)
        for name in ("北京市朝阳区住房和城乡建设委员会", "北京市朝阳区园林绿化局")
    ]
    agency = _org(session, rng, "agency", "北京国信招标代理有限公司")
    honest = [_org(session, rng, "bidder", name) for name in _HONEST]
    ring = [_org(session, rng, "bidder", name) for name in _RING]
    trio = [_org(session, rng, "bidder", name) for name in _TRIO]
    # Each firm fields three project managers of its own.
    managers = {
        firm.id: [
            create_subject(
                session,
                {
                    "kind": "practitioner",
                    "name": f"{firm.name[2:4]}项目经理{k + 1}",
                    "id_number": make_resident_id(rng, REGION),
                },
            )
            for k in range(3)
        ]
        for firm in honest + ring + trio
    }
    accounts = {firm.id: _account(rng) for firm in honest + ring + trio}
    machines = {
        firm.id: _machine(rng, rng.choice(_AUTHORS) if i % 2 else f"{firm.name[2:4]}经营部")
        for i, firm in enumerate(honest + ring + trio)
    }
    shared_machine = machines[trio[0].id]

    # Which tenders are rigged, in date order: 16 for the ring, 4 for the trio.
    kinds = ["ring"] * 16 + ["trio"] * 4 + ["honest"] * 20
    rng.shuffle(kinds)
    first_day = clock.today() - timedelta(days=300)
    now = clock.now()
    for number, kind in enumerate(kinds, start=1):
        day = first_day + timedelta(days=7 * number)
        deadline = datetime.combine(day, time(1, 30))  # 09:30 in Beijing
        estimate = Decimal(rng.randrange(80, 600) * 10_000)
        tender = create_tender(
            session,
            {
                "ref": f"CY{day:%Y}-{number:04d}",
                "title": f"朝阳区{rng.choice(_WORKS)}（第{number}标段）",
                "tenderee": rng.choice(tenderees).uscc,
                "agency": agency.uscc,
                "sector": "construction",
                "region": REGION,
                "specialty": "A0101",
                "estimate": estimate,
                "deadline": deadline,
                "opening_at": deadline + timedelta(minutes=30),
            },
            centre,
        )
        cost = float(estimate) * rng.uniform(0.85, 0.95)
        offers: list[tuple[object, float, dict]] = []
        if kind == "ring":
            winner = ring[number % 4]
            price = cost * rng.uniform(1.06, 1.1)
            offers.append((winner, price, {}))
            offers += [(f, price * rng.uniform(1.01, 1.06), {}) for f in ring if f is not winner]
            # Honest firms price the work as it is; the ring's overcharge keeps them out.
            offers += [(f, cost * rng.uniform(1.13, 1.25), {}) for f in rng.sample(honest, 3)]
        elif kind == "trio":
            price = cost * rng.uniform(1.05, 1.1)
            same_account = rng.random() < 0.3
            for firm in trio:
                made_on = {k: shared_machine[k] for k in ("machine_code", "mac", "disk")}
                extra = {"fingerprint": {**_document(rng, machines[firm.id]), **made_on}}
                if same_account:
                    extra["deposit_account"] = accounts[trio[0].id]
                offers.append((firm, price * rng.uniform(1.0, 1.05), extra))
            offers += [(f, cost * rng.uniform(1.02, 1.15), {}) for f in rng.sample(honest, 2)]
        else:
            offers += [
                (f, cost * rng.uniform(1.0, 1.12), {})
                for f in rng.sample(honest, rng.randint(4, 6))
            ]
        for firm, price, extra in offers:
            body = {
                "bidder": firm.uscc,
                "price": Decimal(f"{price:.2f}"),
                "submitted_at": deadline - timedelta(hours=rng.randint(2, 72)),
                "project_manager": str(rng.choice(managers[firm.id]).id),
                "deposit_account": accounts[firm.id],
                "agent": f"投标代表{firm.id}",
                "fingerprint": _document(rng, machines[firm.id]),
                **extra,
            }
            register_bid(session, tender.ref, body, centre, now=now)
        lowest = min(offers, key=lambda offer: offer[1])[0]
        award_tender(
            session,
            tender.ref,
            {"bidder": lowest.uscc, "awarded_at": deadline + timedelta(days=3)},
            centre,
            now=now,
        )
    result = scan_market(session, now=now)
    return (
        f"{len(kinds)} tenders, {result['bids']} bids, {len(honest + ring + trio)} bidders; "
        f"scan raised {result['alerts_created']} collusion alerts"
    )
