"""Helpers for the tender story: subjects through the credit service, tenders and bids
through the API, and a small market with two planted cartels written straight to the tables.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit.identifiers import make_resident_id, make_uscc
from credit.services import create_subject, list_subject
from trading import clock
from trading.models import Bid, Tender

REGION = "110105"


def now() -> datetime:
    return clock.now()


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def basis(decided_on: date | None = None) -> dict:
    return {
        "authority": "北京市发展和改革委员会",
        "document_no": "京发改罚〔2025〕7号",
        "decided_on": (decided_on or clock.today() - timedelta(days=1)).isoformat(),
    }


class Trading:
    """Arranges a tender story: subjects, tenders, bids, awards."""

    def __init__(self, client, tokens, session):
        self.client, self.tokens, self.session = client, tokens, session
        self.rng = random.Random(20250301)
        self.count = 0

    # subjects, through the credit service
    def org(self, kind: str = "bidder", name: str | None = None):
        self.count += 1
        subject = create_subject(
            self.session,
            {
                "kind": kind,
                "name": name or f"{kind} {self.count}",
                "uscc": make_uscc(self.rng, REGION),
                "region": REGION,
            },
        )
        self.session.commit()
        return subject

    def person(self, name: str = "项目经理"):
        subject = create_subject(
            self.session,
            {"kind": "practitioner", "name": name, "id_number": make_resident_id(self.rng, REGION)},
        )
        self.session.commit()
        return subject

    def blacklist(self, subject) -> None:
        start = clock.today() - timedelta(days=30)
        list_subject(
            self.session,
            subject,
            {"list": "blacklist", "basis": basis(start), "start": start.isoformat()},
        )
        self.session.commit()

    # tenders and bids, through the API
    def tender_body(self, **fields) -> dict:
        self.count += 1
        deadline = now() - timedelta(days=1)
        if isinstance(fields.get("deadline"), datetime):
            deadline = fields.pop("deadline")
        body = {
            "ref": f"JS-2025-{self.count:04d}",
            "title": "朝阳区某道路改造工程施工",
            "tenderee": self.tenderee.uscc,
            "agency": self.agency.uscc,
            "sector": "construction",
            "region": REGION,
            "specialty": "A0101",
            "estimate": "1000000.00",
            "deadline": iso(deadline),
            "opening_at": iso(deadline + timedelta(hours=1)),
        }
        body.update(fields)
        return body

    @property
    def tenderee(self):
        if not hasattr(self, "_tenderee"):
            self._tenderee = self.org("tenderee", "北京市朝阳区交通委员会")
        return self._tenderee

    @property
    def agency(self):
        if not hasattr(self, "_agency"):
            self._agency = self.org("agency", "北京某招标代理有限公司")
        return self._agency

    def tender(self, role: str = "centre", **fields) -> dict:
        response = self.client.post(
            "/api/v1/tenders", json=self.tender_body(**fields), headers=self.tokens[role]
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def bid(self, tender: dict, bidder, price: str, expect: int = 201, role="centre", **fields):
        deadline = datetime.fromisoformat(tender["deadline"].replace("Z", "+00:00"))
        body = {
            "bidder": bidder.uscc,
            "price": price,
            "submitted_at": iso(deadline.replace(tzinfo=None) - timedelta(hours=2)),
            **fields,
        }
        response = self.client.post(
            f"/api/v1/tenders/{tender['ref']}/bids", json=body, headers=self.tokens[role]
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def get(self, ref: str, role: str = "auditor") -> dict:
        response = self.client.get(f"/api/v1/tenders/{ref}", headers=self.tokens[role])
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def trading(client, tokens, session) -> Trading:
    return Trading(client, tokens, session)


# --- a small market with two cartels, written straight to the tables -------------------


class Market:
    """Honest firms bidding in a region, a rotation ring, and a shared-computer trio.

    - the *ring* (four firms) meets in 16 tenders, taking turns to win with the others
      covering a few per cent above;
    - the *trio* bids in one tender from one computer (machine code, MAC and disk);
    - twenty honest firms fill 40 ordinary tenders, four to six at a time, lowest price wins.
    Written with bulk inserts: the scan, not the API, is under test here.
    """

    def __init__(self, session, seed: int = 7):
        self.session = session
        self.rng = random.Random(seed)
        self.ref_count = 0
        self.day = clock.today() - timedelta(days=400)
        self.honest = [self._firm(f"诚信建设{i}") for i in range(20)]
        self.ring = [self._firm(f"轮庄公司{i}") for i in range(4)]
        self.trio = [self._firm(f"同机公司{i}") for i in range(3)]
        self.outsiders = [self._firm(f"其他公司{i}") for i in range(3)]
        for _ in range(40):
            self._tender(self.rng.sample(self.honest, self.rng.randint(4, 6)))
        for turn in range(16):
            self._ring_tender(turn)
        self.trio_ref = self._tender(
            self.trio + self.outsiders,
            shared={
                "machine_code": "MC-7F3A9C2E11",
                "mac": "3C:97:0E:12:34:56",
                "disk": "WD-WCC4N0123456",
            },
            sharers=self.trio,
        )
        session.commit()

    def _firm(self, name: str):
        return create_subject(
            self.session,
            {"kind": "bidder", "name": name, "uscc": make_uscc(self.rng, REGION), "region": REGION},
        )

    def _new_tender(self) -> Tender:
        self.ref_count += 1
        self.day += timedelta(days=5)
        tender = Tender(
            ref=f"MKT-{self.ref_count:03d}",
            title="市场测试项目",
            sector="construction",
            region=REGION,
            estimate=Decimal("2000000.00"),
            tender_date=self.day,
            origin="import",
            created_at=now(),
        )
        self.session.add(tender)
        self.session.flush()
        return tender

    def _bid_row(self, tender: Tender, firm, price: float, winner: bool, **extra) -> dict:
        machine = f"MC-{firm.id:04d}-{self.rng.randrange(16**6):06X}"
        row = {
            "tender_id": tender.id,
            "bidder_id": firm.id,
            "price": Decimal(f"{price:.2f}"),
            "winner": winner,
            "origin": "import",
            "created_at": now(),
            **dict.fromkeys(("mac", "cpu", "disk", "ip", "author", "agent")),
            "machine_code": machine,
            "doc_hash": f"{self.rng.getrandbits(128):032x}",
        }
        row.update(extra)
        return row

    def _insert(self, tender: Tender, rows: list[dict]) -> None:
        self.session.execute(Bid.__table__.insert(), rows)

    def _tender(self, firms, shared: dict | None = None, sharers=()) -> str:
        tender = self._new_tender()
        prices = [1_800_000 * self.rng.uniform(0.9, 1.15) for _ in firms]
        low = min(range(len(firms)), key=lambda i: prices[i])
        rows = [
            self._bid_row(
                tender, firm, prices[i], i == low, **(shared if firm in sharers and shared else {})
            )
            for i, firm in enumerate(firms)
        ]
        self._insert(tender, rows)
        return tender.ref

    def _ring_tender(self, turn: int) -> None:
        tender = self._new_tender()
        winner = self.ring[turn % 4]
        base = 1_900_000 * self.rng.uniform(0.95, 1.05)
        rows = [self._bid_row(tender, winner, base, True)]
        for firm in self.ring:
            if firm is not winner:
                rows.append(self._bid_row(tender, firm, base * self.rng.uniform(1.01, 1.06), False))
        for firm in self.rng.sample(self.honest, 3):
            rows.append(self._bid_row(tender, firm, base * self.rng.uniform(1.08, 1.2), False))
        self._insert(tender, rows)


@pytest.fixture
def market(session) -> Market:
    return Market(session)


def load_market(session, market) -> dict[str, int]:
    """Write a synthetic market (``generate_market``) to the tables, in its own order.

    Bidders and project managers become subjects, tenders and bids keep the market's
    order (ids ascending), so a scan from the database sees what the library sees.
    """
    from credit.models import Subject

    created = now()
    subjects: dict[str, dict] = {}
    for tender in market:
        for bid in tender.bids:
            if bid.bidder not in subjects:
                subjects[bid.bidder] = {
                    "kind": "bidder",
                    "name": f"firm {bid.bidder}",
                    "uscc": bid.bidder,
                    "id_number": None,
                }
            manager = bid.project_manager
            if manager and manager not in subjects:
                subjects[manager] = {
                    "kind": "practitioner",
                    "name": f"manager {manager}",
                    "uscc": None,
                    "id_number": manager[:18],
                }
    rows = [{**row, "region": REGION, "created_at": created} for row in subjects.values()]
    session.execute(Subject.__table__.insert(), rows)
    ids = dict(
        session.execute(select(Subject.uscc, Subject.id).where(Subject.uscc.is_not(None))).all()
    )
    people = select(Subject.id_number, Subject.id).where(Subject.id_number.is_not(None))
    ids.update(session.execute(people).all())
    refs = {}
    for tender in market:
        row = Tender(
            ref=tender.ref,
            title=tender.ref,
            sector=tender.sector,
            region=tender.region,
            estimate=tender.estimate,
            tender_date=tender.date,
            origin="import",
            created_at=created,
        )
        session.add(row)
        session.flush()
        refs[tender.ref] = row.id
        session.execute(
            Bid.__table__.insert(),
            [
                {
                    "tender_id": row.id,
                    "bidder_id": ids[b.bidder],
                    "price": b.price,
                    "submitted_at": b.submitted_at,
                    "project_manager_id": ids.get((b.project_manager or "")[:18]),
                    "deposit_account": b.deposit_account,
                    "agent": b.agent,
                    "machine_code": b.machine_code,
                    "mac": b.mac,
                    "cpu": b.cpu,
                    "disk": b.disk,
                    "ip": b.ip,
                    "doc_hash": b.doc_hash,
                    "author": b.author,
                    "winner": b.winner,
                    "origin": "import",
                    "created_at": created,
                }
                for b in tender.bids
            ],
        )
    session.commit()
    return refs
