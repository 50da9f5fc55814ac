"""Tenders and bids through the API: registration, the gates that refuse, screens, award."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from credit.services import add_record
from tests.trading.conftest import basis, iso, now
from trading.models import Bid

ERROR_KEYS = {"code", "status", "message", "errors"}


def test_a_centre_registers_a_tender_and_every_reader_sees_it(trading, client, tokens):
    created = trading.tender()
    assert created["status"] == "closed" and created["bid_count"] == 0
    assert created["tenderee"]["uscc"] == trading.tenderee.uscc
    assert created["agency"]["uscc"] == trading.agency.uscc
    assert created["estimate"] == "1000000.00" and created["suspicion"] == 0.0
    assert "screens" not in created and created["centre"] == "91110000600037341L"
    for role in ("centre", "regulator", "auditor", "other_centre"):
        assert trading.get(created["ref"], role)["ref"] == created["ref"]
    future = trading.tender(deadline=now() + timedelta(days=3))
    assert future["status"] == "open"


@pytest.mark.parametrize(
    "field, value",
    [
        ("ref", "has/slash"),
        ("ref", ""),
        ("title", ""),
        ("sector", "roads"),
        ("region", "12345"),
        ("region", "990000"),
        ("specialty", "Z01"),
        ("specialty", "A9999"),
        ("estimate", "-5"),
        ("estimate", "12.345"),
        ("estimate", "lots"),
        ("deadline", "next tuesday"),
        ("opening_at", "2020-01-01T00:00:00Z"),
        ("tenderee", None),
    ],
)
def test_a_tender_that_breaks_a_field_rule_is_422_naming_the_field(
    trading, client, tokens, field, value
):
    body = trading.tender_body(**{field: value})
    response = client.post("/api/v1/tenders", json=body, headers=tokens["centre"])
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors, errors


def test_a_missing_field_is_422(trading, client, tokens):
    body = trading.tender_body()
    del body["deadline"]
    response = client.post("/api/v1/tenders", json=body, headers=tokens["centre"])
    assert response.status_code == 422 and "deadline" in response.get_json()["errors"]


def test_an_unknown_tenderee_is_404_and_a_taken_ref_409(trading, client, tokens):
    body = trading.tender_body(tenderee="91110105MA00000000")
    response = client.post("/api/v1/tenders", json=body, headers=tokens["centre"])
    assert response.status_code == 404
    assert "tenderee" in response.get_json()["errors"]
    first = trading.tender()
    again = client.post(
        "/api/v1/tenders", json=trading.tender_body(ref=first["ref"]), headers=tokens["centre"]
    )
    assert again.status_code == 409 and again.get_json()["rule"] == "tenders.unique_ref"


def test_an_agency_that_is_not_eligible_is_refused_with_the_reasons(trading, client, tokens):
    debarred = trading.org("agency", "被列入黑名单的代理")
    trading.blacklist(debarred)
    response = client.post(
        "/api/v1/tenders", json=trading.tender_body(agency=debarred.uscc), headers=tokens["centre"]
    )
    assert response.status_code == 403
    body = response.get_json()
    assert body["rule"] == "tenders.agency_eligible"
    assert [r["rule"] for r in body["errors"]["eligibility"]] == ["credit.blacklisted"]
    a_bidder = trading.org("bidder")
    response = client.post(
        "/api/v1/tenders", json=trading.tender_body(agency=a_bidder.uscc), headers=tokens["centre"]
    )
    assert response.status_code == 403
    assert response.get_json()["errors"]["eligibility"][0]["rule"] == "credit.subject_kind"


def test_an_auditor_may_not_register_tenders(trading, client, tokens):
    response = client.post("/api/v1/tenders", json=trading.tender_body(), headers=tokens["auditor"])
    assert response.status_code == 403 and response.get_json()["rule"] == "auth.role_allowed"


def test_bids_register_and_screens_appear_from_the_third(trading):
    tender = trading.tender()
    firms = [trading.org() for _ in range(4)]
    manager = trading.person("李项目")
    bid = trading.bid(
        tender,
        firms[0],
        "950000.00",
        project_manager=manager.id_number,
        deposit_account="6222 0200 1234 5678",
        agent="王五",
        fingerprint={"machine_code": "ABC123", "mac": "3C-97-0E-12-34-56", "ip": "202.96.1.1"},
    )
    assert bid["bidder"]["uscc"] == firms[0].uscc and bid["price"] == "950000.00"
    assert bid["project_manager"] == {"id": manager.id, "name": "李项目"}
    assert bid["fingerprint"]["machine_code"] == "ABC123" and bid["winner"] is False
    trading.bid(tender, firms[1], 980000)
    two = trading.get(tender["ref"])
    assert two["bid_count"] == 2 and "screens" not in two
    assert 0.0 <= two["suspicion"] <= 1.0
    trading.bid(tender, firms[2], "1010000.50")
    three = trading.get(tender["ref"])
    assert set(three["screens"]) == {"cv", "spd", "diffp", "rd", "kurt", "skew"}
    assert three["screens"]["kurt"] is None  # kurtosis needs four bids
    assert three["screens"]["spd"] == pytest.approx((1010000.50 - 950000) / 950000)
    trading.bid(tender, firms[3], "990000")
    four = trading.get(tender["ref"])
    assert four["screens"]["kurt"] is not None and 0.0 <= four["suspicion"] <= 1.0
    prices = [Decimal(b["price"]) for b in four["bids"]]
    assert prices == sorted(prices)  # cheapest first


def test_identical_prices_make_a_tender_suspicious(trading):
    tender = trading.tender()
    for firm in [trading.org() for _ in range(3)]:
        trading.bid(tender, firm, "987654.32")
    shown = trading.get(tender["ref"])
    assert shown["red_flags"] >= 1 and shown["suspicion"] > 0.5


def test_an_ineligible_bidder_is_refused_with_the_eligibility_reasons(trading, client, tokens):
    tender = trading.tender()
    debarred = trading.org(name="失信企业")
    trading.blacklist(debarred)
    refused = trading.bid(tender, debarred, "900000", expect=403)
    assert refused["rule"] == "bids.bidder_eligible"
    assert refused["errors"]["eligibility"][0]["rule"] == "credit.blacklisted"
    assert "credit.blacklisted" in refused["errors"]["bidder"][0]
    assert trading.get(tender["ref"])["bid_count"] == 0


def test_a_bid_after_the_deadline_is_refused(trading):
    tender = trading.tender()
    late = iso(now() - timedelta(hours=12))  # the deadline was a day ago
    refused = trading.bid(tender, trading.org(), "900000", expect=409, submitted_at=late)
    assert refused["rule"] == "bids.before_deadline"
    future = iso(now() + timedelta(days=2))
    open_tender = trading.tender(deadline=now() + timedelta(days=5))
    refused = trading.bid(open_tender, trading.org(), "900000", expect=422, submitted_at=future)
    assert "submitted_at" in refused["errors"]


def test_one_bid_per_bidder_per_tender(trading, session):
    tender = trading.tender()
    firm = trading.org()
    trading.bid(tender, firm, "900000")
    again = trading.bid(tender, firm, "890000", expect=409)
    assert again["rule"] == "bids.one_per_bidder"
    assert session.scalar(select(func.count(Bid.id))) == 1


def test_bid_bodies_are_validated_per_field(trading, client, tokens):
    tender = trading.tender()
    firm = trading.org()
    for field, value in [
        ("price", "0"),
        ("price", "1.001"),
        ("price", "abc"),
        ("submitted_at", "soon"),
        ("fingerprint", "x"),
        ("project_manager", ""),
    ]:
        response = client.post(
            f"/api/v1/tenders/{tender['ref']}/bids",
            json={"bidder": firm.uscc, "price": "1", "submitted_at": iso(now()), field: value},
            headers=tokens["centre"],
        )
        assert response.status_code == 422, (field, value, response.get_json())
        assert field in response.get_json()["errors"]


def test_unknowns_are_404_and_a_company_cannot_be_a_project_manager(trading):
    tender = trading.tender()
    firm = trading.org()
    missing = trading.bid(tender, firm, "900000", expect=404, project_manager="110105199001011234")
    assert "project_manager" in missing["errors"]
    wrong = trading.bid(tender, firm, "900000", expect=422, project_manager=str(firm.id))
    assert wrong["rule"] == "bids.project_manager_is_practitioner"
    response = trading.client.post(
        "/api/v1/tenders/NO-SUCH/bids",
        json={"bidder": firm.uscc, "price": "1", "submitted_at": iso(now())},
        headers=trading.tokens["centre"],
    )
    assert response.status_code == 404 and response.get_json().keys() >= ERROR_KEYS


def test_only_the_centre_that_runs_the_tender_takes_its_bids(trading):
    tender = trading.tender()
    refused = trading.bid(tender, trading.org(), "900000", expect=403, role="other_centre")
    assert refused["rule"] == "tenders.own_centre"
    auditor = trading.bid(tender, trading.org(), "900000", expect=403, role="auditor")
    assert auditor["rule"] == "auth.role_allowed"


def test_a_retried_bid_with_the_same_key_is_registered_once(trading, client, tokens, session):
    tender = trading.tender()
    firm = trading.org()
    body = {"bidder": firm.uscc, "price": "900000", "submitted_at": tender["deadline"]}
    headers = {**tokens["centre"], "Idempotency-Key": "bid-1"}
    first = client.post(f"/api/v1/tenders/{tender['ref']}/bids", json=body, headers=headers)
    second = client.post(f"/api/v1/tenders/{tender['ref']}/bids", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    assert session.scalar(select(func.count(Bid.id))) == 1


def test_award_once_to_a_bidder_of_the_tender(trading, client, tokens):
    tender = trading.tender()
    firms = [trading.org() for _ in range(3)]
    for firm, price in zip(firms, ("900000", "910000", "930000"), strict=True):
        trading.bid(tender, firm, price)
    url = f"/api/v1/tenders/{tender['ref']}/award"
    outsider = client.post(url, json={"bidder": trading.org().uscc}, headers=tokens["centre"])
    assert outsider.status_code == 422
    assert outsider.get_json()["rule"] == "tenders.award_to_a_bidder"
    awarded = client.post(url, json={"bidder": firms[1].uscc}, headers=tokens["centre"])
    assert awarded.status_code == 200, awarded.get_json()
    body = awarded.get_json()
    assert body["status"] == "awarded" and body["award"]["bidder"]["uscc"] == firms[1].uscc
    assert body["award"]["price"] == "910000.00"
    assert [b["winner"] for b in body["bids"]].count(True) == 1
    again = client.post(url, json={"bidder": firms[0].uscc}, headers=tokens["centre"])
    assert again.status_code == 409 and again.get_json()["rule"] == "tenders.award_once"
    late = trading.bid(tender, trading.org(), "880000", expect=409)
    assert late["rule"] == "bids.tender_not_awarded"


def test_award_is_refused_before_the_deadline_and_to_a_winner_since_debarred(
    trading, client, tokens, session
):
    open_tender = trading.tender(deadline=now() + timedelta(days=2))
    firm = trading.org()
    trading.bid(open_tender, firm, "900000", submitted_at=iso(now() - timedelta(hours=1)))
    early = client.post(
        f"/api/v1/tenders/{open_tender['ref']}/award",
        json={"bidder": firm.uscc},
        headers=tokens["centre"],
    )
    assert early.status_code == 409 and early.get_json()["rule"] == "tenders.award_after_deadline"
    tender = trading.tender()
    trading.bid(tender, firm, "900000")
    add_record(
        session,
        firm,
        {
            "polarity": "negative",
            "category": "collusion",
            "severity": "serious",
            "description": "围标",
            "basis": basis(),
        },
    )
    session.commit()
    refused = client.post(
        f"/api/v1/tenders/{tender['ref']}/award",
        json={"bidder": firm.uscc},
        headers=tokens["centre"],
    )
    assert refused.status_code == 403 and refused.get_json()["rule"] == "tenders.winner_eligible"


def test_the_tender_list_filters_sorts_and_pages(trading, client, tokens):
    refs = [trading.tender(title=f"道路工程 {i}")["ref"] for i in range(3)]
    goods = trading.tender(title="办公设备采购", sector="procurement", specialty="B")
    for firm in [trading.org() for _ in range(3)]:
        trading.bid(goods, firm, "500000.00")  # identical prices: suspicious
    headers = tokens["auditor"]
    page = client.get("/api/v1/tenders?page_size=2", headers=headers).get_json()
    assert page["total"] == 4 and len(page["items"]) == 2 and page["page"] == 1
    found = client.get("/api/v1/tenders?sector=procurement", headers=headers).get_json()
    assert [t["ref"] for t in found["items"]] == [goods["ref"]]
    assert found["items"][0]["bid_count"] == 3
    by_title = client.get("/api/v1/tenders", query_string={"q": "道路"}, headers=headers)
    assert {t["ref"] for t in by_title.get_json()["items"]} == set(refs)
    worst = client.get("/api/v1/tenders?sort=suspicion&page_size=1", headers=headers).get_json()
    assert worst["items"][0]["ref"] == goods["ref"]
    strict = client.get("/api/v1/tenders?min_suspicion=0.5", headers=headers).get_json()
    assert [t["ref"] for t in strict["items"]] == [goods["ref"]]
    bad = client.get("/api/v1/tenders?sector=roads&page=0", headers=headers)
    assert bad.status_code == 422 and {"sector", "page"} <= bad.get_json()["errors"].keys()


def test_every_write_is_audited(trading, client, tokens):
    tender = trading.tender()
    trading.bid(tender, trading.org(), "900000")
    listing = client.get("/api/v1/audit?limit=1000", headers=tokens["auditor"]).get_json()
    actions = [item["action"] for item in listing["items"]]
    assert "tender.create" in actions and "bid.create" in actions
