"""Helpers for the console's stories: sign a browser (the Flask test client) in by token."""

from __future__ import annotations

import re

import pytest

from trading import clock

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Browser:
    """A Flask test client that signs in with a token and posts forms like a browser."""

    def __init__(self, client) -> None:
        self.client = client
        self.csrf: str | None = None

    def sign_in(self, secret: str, expect: int = 303):
        page = self.client.get("/login")
        response = self.client.post(
            "/login", data={"token": secret, "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == expect, response.text[:500]
        return response

    def get(self, path: str, **kw):
        response = self.client.get(path, **kw)
        if "csrf_token" in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/")
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, **kw)


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


@pytest.fixture
def signed_in(app, tokens):
    """``signed_in("auditor")``: a fresh browser signed in with that role's token."""

    def make(role: str) -> Browser:
        b = Browser(app.test_client())
        b.sign_in(secret_of(tokens[role]))
        return b

    return make


def market_csv(rng_seed: int = 7, tenders: int = 6, prefix: str = "HIST") -> list[str]:
    """Historical bids where three firms file from one computer with stepped prices.

    Every tender has the three colluders and two honest firms; the colluders share a
    machine code, a MAC address and a document author, and price 1% apart.
    """
    import random

    from credit.identifiers import make_uscc

    rng = random.Random(rng_seed)
    colluders = [(make_uscc(rng, "110105"), f"北京串通建设{i}有限公司") for i in range(3)]
    honest = [(make_uscc(rng, "110108"), f"北京守信工程{i}有限公司") for i in range(4)]
    lines = [
        "tender_ref,tender_date,estimate,bidder_uscc,bidder_name,price,winner,"
        "machine_code,mac,author,sector,region"
    ]
    for t in range(tenders):
        ref = f"{prefix}-2024-{t:03d}"
        day = f"2024-{1 + t % 12:02d}-{10 + t:02d}"
        estimate = 1_000_000 + 50_000 * t
        base = estimate * 0.9
        for i, (uscc, name) in enumerate(colluders):
            price = round(base * (1 + 0.01 * i), 2)
            winner = "1" if i == t % 3 else "0"
            lines.append(
                f"{ref},{day},{estimate},{uscc},{name},{price:.2f},{winner},"
                f"MC-SHARED-01,00:1A:2B:3C:4D:5E,zhangsan,construction,110105"
            )
        for j, (uscc, name) in enumerate(rng.sample(honest, 2)):
            price = round(base * rng.uniform(1.04, 1.2), 2)
            lines.append(
                f"{ref},{day},{estimate},{uscc},{name},{price:.2f},0,"
                f"MC-{uscc[-6:]}-{j},{rng.randrange(16**12):012x},user{j},construction,110105"
            )
    return lines


def seed_market(session) -> dict:
    """Import the market above and scan it: the colluders come out as an open alert."""
    from trading.bids_import import import_bids
    from trading.collusion.services import scan_market

    report = import_bids(session, market_csv())
    assert report.rejected_total == 0, report.as_dict()
    return scan_market(session)


CENTRE = "91110000600037341L"
OTHER_CENTRE = "91310000MA1FL0BX7Q"


def seed_world(session) -> dict:
    """A small market built through the services, as the demo or a real centre would.

    A tenderee, an agency and bidders; an open tender of the centre with three bids;
    twelve experts in specialty A0101 employed elsewhere; a blacklisted firm and a
    blacklisted person (for the masked public view); the colluding market with its alert.
    """
    import random
    from datetime import timedelta

    from credit import services as credit
    from credit.identifiers import make_resident_id, make_uscc
    from experts.services import create_expert
    from trading import services as tenders

    rng = random.Random(20240601)
    made: dict = {"market": seed_market(session)}

    def org(name: str, kind: str = "bidder", region: str = "110105") -> str:
        uscc = make_uscc(rng, region)
        credit.create_subject(session, {"kind": kind, "name": name, "uscc": uscc})
        return uscc

    made["tenderee"] = org("北京市朝阳区教育委员会", "tenderee")
    made["agency"] = org("北京诚信招标代理有限公司", "agency")
    made["bidders"] = [org(f"北京投标人{i}建筑有限公司") for i in range(3)]
    employers = [org(f"北京专家单位{i}设计院", "tenderee", "110108") for i in range(3)]
    made["experts"] = []
    for i in range(12):
        expert = create_expert(
            session,
            {
                "name": f"专家{'甲乙丙丁戊己庚辛壬癸子丑'[i]}{i}",
                "id_number": make_resident_id(rng, "110108"),
                "region": "110108",
                "specialties": ["A0101"],
                "employer": employers[i % 3],
                "title": "高级工程师",
                "contact": f"1380000{i:04d}",
            },
        )
        made["experts"].append(expert.id)
    now = clock.now().replace(microsecond=0)
    caller = tenders.Caller(actor="centre:test", role="centre", org=CENTRE)
    tender = tenders.create_tender(
        session,
        {
            "ref": "BJ-2025-001",
            "title": "朝阳区某小学教学楼改扩建工程",
            "tenderee": made["tenderee"],
            "agency": made["agency"],
            "sector": "construction",
            "region": "110105",
            "specialty": "A0101",
            "estimate": 12_500_000,
            "deadline": now + timedelta(days=10),
            "opening_at": now + timedelta(days=10, hours=1),
        },
        caller,
    )
    for i, uscc in enumerate(made["bidders"]):
        tenders.register_bid(
            session,
            tender.ref,
            {"bidder": uscc, "price": 11_000_000 + 150_000 * i, "submitted_at": now},
            caller,
        )
    made["tender"] = tender.ref
    basis = {
        "authority": "北京市住房和城乡建设委员会",
        "document_no": "京建法罚〔2025〕7号",
        # A month back, so the listings (which start on the decision) are in force whatever
        # the hour and whichever calendar (the server's, China's) a test's times fall on.
        "decided_on": (clock.today() - timedelta(days=30)).isoformat(),
    }
    made["debarred"] = org("北京失信建设有限公司")
    credit.list_subject(
        session,
        credit.resolve_subject(session, made["debarred"]),
        {"list": "blacklist", "basis": basis},
    )
    person_id = make_resident_id(rng, "110105")
    person = credit.create_subject(
        session, {"kind": "practitioner", "name": "李四光", "id_number": person_id}
    )
    credit.list_subject(session, person, {"list": "blacklist", "basis": basis})
    made["person_id_number"] = person_id
    session.flush()
    return made
