"""Collusion scans, alerts and their review, on a small market with two planted cartels."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from credit.eligibility import eligibility
from credit.models import CreditRecord
from tests.conftest import make_app
from tests.trading.conftest import Market, basis, iso, load_market, now
from trading import clock
from trading.collusion import store
from trading.collusion.models import Alert, TenderScreen
from trading.collusion.scan import ALERT_THRESHOLD
from trading.collusion.scan import scan as library_scan
from trading.collusion.services import scan_market, scan_tender
from trading.collusion.synthetic import generate_market
from trading.db import database
from trading.models import Bid, Tender

SCANS = "/api/v1/collusion/scans"
ALERTS = "/api/v1/collusion/alerts"


def scan(client, tokens, role="auditor", **body):
    response = client.post(SCANS, json=body, headers=tokens[role])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def alerts(client, tokens, **query):
    response = client.get(ALERTS, query_string=query, headers=tokens["auditor"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def alert_of(client, tokens, members) -> dict:
    wanted = sorted(m.uscc for m in members)
    for item in alerts(client, tokens, page_size=500)["items"]:
        if item["members"] == wanted:
            response = client.get(f"{ALERTS}/{item['id']}", headers=tokens["auditor"])
            assert response.status_code == 200
            return response.get_json()
    raise AssertionError(f"no alert for {wanted}")


def review(client, tokens, alert_id, expect=201, role="auditor", **body):
    response = client.post(f"{ALERTS}/{alert_id}/reviews", json=body, headers=tokens[role])
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_a_scan_raises_an_alert_for_each_planted_cartel_saying_why(client, tokens, market):
    result = scan(client, tokens)
    assert result["scope"] == "market" and result["tenders"] == 57 and result["bids"] > 250
    assert result["alerts_created"] == 2, result
    trio = alert_of(client, tokens, market.trio)
    assert trio["status"] == "open" and trio["tenders"] == [market.trio_ref]
    kinds = {e["kind"] for e in trio["evidence"]}
    assert {"same_machine_code", "same_mac", "same_disk"} <= kinds
    for item in trio["evidence"]:
        assert item["source"] == "red_flag" and 0 < item["weight"] <= 1
        assert item["tender"] == market.trio_ref and item["detail"]
    assert trio["score"] >= 0.9 and "machine code" in trio["explanation"]
    ring = alert_of(client, tokens, market.ring)
    assert ring["scope"] == "network" and len(ring["tenders"]) >= 16
    assert "winner_rotation" in {e["kind"] for e in ring["evidence"]}
    assert all(e["source"] == "network" for e in ring["evidence"])
    assert ring["bidders"][0]["name"].startswith("轮庄公司")
    listed = alerts(client, tokens, status="open")["items"]
    assert [a["score"] for a in listed] == sorted((a["score"] for a in listed), reverse=True)


def test_the_scan_stores_each_tenders_screens_and_suspicion(client, tokens, market, session):
    scan(client, tokens)
    ring_tender = client.get("/api/v1/tenders/MKT-041", headers=tokens["auditor"]).get_json()
    assert set(ring_tender["screens"]) == {"cv", "spd", "diffp", "rd", "kurt", "skew"}
    trio_tender = client.get(f"/api/v1/tenders/{market.trio_ref}", headers=tokens["auditor"])
    assert trio_tender.get_json()["suspicion"] > 0.9
    honest = client.get("/api/v1/tenders/MKT-001", headers=tokens["auditor"]).get_json()
    assert honest["suspicion"] < trio_tender.get_json()["suspicion"]


def test_a_rescan_never_duplicates_an_alert(client, tokens, market, session):
    first = scan(client, tokens)
    second = scan(client, tokens)
    assert second["alerts_created"] == 0 and second["alerts_updated"] == 0
    assert second["alerts_unchanged"] == first["alerts_created"]
    assert session.scalar(select(func.count(Alert.id))) == first["alerts_created"]


def test_a_centre_scans_one_tender_at_opening_and_the_market_scan_joins_it(
    client, tokens, market, session
):
    one = scan(client, tokens, role="centre", tender_ref=market.trio_ref)
    assert one["scope"] == "tender" and one["alerts_created"] == 1
    trio = alert_of(client, tokens, market.trio)
    assert trio["scope"] == "tender"
    whole = scan(client, tokens)
    assert whole["alerts_created"] == 1  # the ring; the trio already has its alert
    assert session.scalar(select(func.count(Alert.id))) == 2
    refused = client.post(SCANS, json={}, headers=tokens["centre"])
    assert refused.status_code == 403
    assert refused.get_json()["rule"] == "collusion.centre_scans_one_tender"
    missing = client.post(SCANS, json={"tender_ref": "NOPE"}, headers=tokens["auditor"])
    assert missing.status_code == 404


def test_confirming_writes_credit_records_linked_to_the_alert(client, tokens, market, session):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    chosen = sorted(m.uscc for m in market.trio)[:2]
    decided = review(
        client,
        tokens,
        trio["id"],
        decision="confirm",
        note="同一台电脑制作投标文件，经调查属实",
        record_members=chosen,
        basis=basis(),
    )
    assert decided["status"] == "confirmed"
    (history,) = decided["reviews"]
    assert history["decision"] == "confirm" and history["reviewer"] == "auditor:test-auditor"
    assert history["status_before"] == "open" and history["status_after"] == "confirmed"
    assert len(history["record_ids"]) == 2
    records = session.scalars(
        select(CreditRecord).where(CreditRecord.id.in_(history["record_ids"]))
    ).all()
    assert {r.source_id for r in records} == {f"alert-{trio['id']}:{u}" for u in chosen}
    assert all(r.category == "collusion" and r.severity == "serious" for r in records)
    assert all(f"#{trio['id']}" in r.description for r in records)
    member = next(m for m in market.trio if m.uscc == chosen[0])
    answer = eligibility(session, member, "bid", "construction", "110105", clock.today())
    assert not answer.eligible
    assert "credit.record_bars_bid" in {r.rule for r in answer.reasons}
    tender = Tender(
        ref="AFTER-1",
        title="t",
        sector="construction",
        region="110105",
        deadline=now() + timedelta(days=3),
        origin="api",
        created_at=now(),
    )
    session.add(tender)
    session.commit()
    response = client.post(
        "/api/v1/tenders/AFTER-1/bids",
        json={"bidder": member.uscc, "price": "1000", "submitted_at": iso(now())},
        headers=tokens["centre"],
    )
    assert response.status_code == 403
    assert response.get_json()["errors"]["eligibility"][0]["rule"] == "credit.record_bars_bid"


def test_a_dismissal_is_remembered_until_new_evidence_arrives(client, tokens, market, session):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    review(client, tokens, trio["id"], decision="dismiss", note="同一代理公司的公共电脑，已核实")
    again = scan(client, tokens)
    assert again["alerts_created"] == 0 and again["alerts_suppressed"] == 1
    one = scan(client, tokens, tender_ref=market.trio_ref)
    assert one["alerts_created"] == 0 and one["alerts_suppressed"] == 1
    # A new tender where the same three share one document: a fact not seen at review.
    tender = Tender(
        ref="MKT-NEW",
        title="t",
        sector="construction",
        region="110105",
        tender_date=clock.today(),
        origin="import",
        created_at=now(),
    )
    session.add(tender)
    session.flush()
    session.execute(
        Bid.__table__.insert(),
        [
            {
                "tender_id": tender.id,
                "bidder_id": firm.id,
                "price": price,
                "winner": False,
                "origin": "import",
                "created_at": now(),
                "doc_hash": "ab12" * 16,
            }
            for firm, price in zip(market.trio, (1_000_000, 1_020_000, 1_050_000), strict=True)
        ],
    )
    session.commit()
    raised = scan(client, tokens)
    assert raised["alerts_created"] == 1
    fresh = alert_of(client, tokens, market.trio)
    assert fresh["id"] != trio["id"] and fresh["status"] == "open"
    assert "same_doc_hash" in {e["kind"] for e in fresh["evidence"]}
    assert f"#{trio['id']}" in fresh["explanation"]


def test_a_closed_alert_cannot_be_reviewed_again(client, tokens, market):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    review(client, tokens, trio["id"], decision="dismiss", note="ok")
    again = review(client, tokens, trio["id"], expect=409, decision="confirm", note="changed")
    assert again["rule"] == "collusion.review_open_alert"
    shown = client.get(f"{ALERTS}/{trio['id']}", headers=tokens["auditor"]).get_json()
    assert shown["status"] == "dismissed" and len(shown["reviews"]) == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "maybe", "note": "x"}, "decision"),
        ({"decision": "confirm", "note": ""}, "note"),
        ({"decision": "confirm", "note": "x", "record_members": ["X"]}, "record_members"),
        (
            {
                "decision": "dismiss",
                "note": "x",
                "record_members": ["91110105MA0000000X"],
                "basis": basis(),
            },
            "record_members",
        ),
    ],
)
def test_review_bodies_are_validated(client, tokens, market, body, field):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    refused = review(client, tokens, trio["id"], expect=422, **body)
    assert field in refused["errors"]


def test_records_need_a_basis_and_members_of_the_alert(client, tokens, market):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    member = market.trio[0].uscc
    no_basis = review(
        client,
        tokens,
        trio["id"],
        expect=422,
        decision="confirm",
        note="x",
        record_members=[member],
    )
    assert "basis" in no_basis["errors"]
    stranger = market.ring[0].uscc
    outsider = review(
        client,
        tokens,
        trio["id"],
        expect=422,
        decision="confirm",
        note="x",
        record_members=[stranger],
        basis=basis(),
    )
    assert outsider["rule"] == "collusion.review_valid"
    assert alert_of(client, tokens, market.trio)["status"] == "open"


def test_roles_centre_cannot_review_or_read_alerts(client, tokens, market):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    refused = review(
        client, tokens, trio["id"], expect=403, role="centre", decision="dismiss", note="x"
    )
    assert refused["rule"] == "auth.role_allowed"
    assert client.get(ALERTS, headers=tokens["centre"]).status_code == 403
    assert client.get(ALERTS, headers=tokens["regulator"]).status_code == 200
    assert (
        review(
            client, tokens, trio["id"], expect=403, role="regulator", decision="dismiss", note="x"
        )["rule"]
        == "auth.role_allowed"
    )
    assert client.get(f"{ALERTS}/999999", headers=tokens["auditor"]).status_code == 404
    assert client.get(f"{ALERTS}/99999999999999", headers=tokens["auditor"]).status_code == 404


def test_alert_lists_filter_by_status(client, tokens, market):
    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    review(client, tokens, trio["id"], decision="dismiss", note="ok")
    assert [a["id"] for a in alerts(client, tokens, status="dismissed")["items"]] == [trio["id"]]
    assert alerts(client, tokens, status="open")["total"] == 1
    bad = client.get(ALERTS, query_string={"status": "closed"}, headers=tokens["auditor"])
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_the_database_scan_finds_what_the_library_finds(app, session):
    """The streamed scan (columns from the database, slim network views, common values
    counted in SQL) raises exactly the clusters the pure pipeline finds in memory."""
    market, truth = generate_market(5, firms=300, tenders=1500)
    refs = load_market(session, market)
    expected = library_scan(market)
    wanted = {c.key(): round(c.score, 9) for c in expected.clusters if c.score >= ALERT_THRESHOLD}
    assert wanted, "the market should hold some cartels worth an alert"
    result = scan_market(session)
    session.commit()
    stored = {a.key: round(a.score, 9) for a in session.scalars(select(Alert))}
    assert stored == wanted
    assert result["alerts_created"] == len(wanted)
    planted = {frozenset(members) for _, members in truth.groups()}
    found = {frozenset(a.members) for a in session.scalars(select(Alert))}
    assert any(len(f & p) >= 2 for f in found for p in planted)
    screens = dict(session.execute(select(TenderScreen.tender_id, TenderScreen.suspicion)).all())
    for tender in market[:200]:
        assert screens[refs[tender.ref]] == pytest.approx(expected.tenders[tender.ref].suspicion)


def test_concurrent_scans_raise_each_alert_once(committed_url, backend, monkeypatch):
    """Two centres open two tenders of the same trio at once: one alert, with both."""
    app = make_app(committed_url)
    db = database(app)
    with db.transaction("test:arrange") as session:
        market = Market(session)
        tender = Tender(
            ref="MKT-TWIN",
            title="t",
            sector="construction",
            region="110105",
            tender_date=clock.today(),
            origin="import",
            created_at=now(),
        )
        session.add(tender)
        session.flush()
        session.execute(
            Bid.__table__.insert(),
            [
                {
                    "tender_id": tender.id,
                    "bidder_id": firm.id,
                    "price": price,
                    "winner": False,
                    "origin": "import",
                    "created_at": now(),
                    "machine_code": "MC-TWIN-0001",
                }
                for firm, price in zip(market.trio, (1_000_000, 1_020_000, 1_050_000), strict=True)
            ],
        )
    refs = [market.trio_ref, "MKT-TWIN"]
    if backend == "postgresql":
        # Make the scans write their alerts at the same moment. (SQLite runs one writing
        # transaction at a time from its start, so there they cannot overlap.)
        together = threading.Barrier(len(refs), timeout=30)
        write = store.persist_clusters

        def persist_together(*args, **kwargs):
            together.wait()
            return write(*args, **kwargs)

        monkeypatch.setattr(store, "persist_clusters", persist_together)
    errors: list[BaseException] = []

    def scanner(ref: str) -> None:
        try:
            with db.transaction("test:scanner") as session:
                scan_tender(session, ref)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=scanner, args=(ref,)) for ref in refs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.transaction("test") as session:
        (alert,) = session.scalars(select(Alert)).all()
        assert alert.members == sorted(f.uscc for f in market.trio)
        assert sorted(alert.tenders) == sorted(refs)
    db.dispose()


def test_alert_lists_filter_by_member_tender_region_and_score_and_name_members(
    client, tokens, market
):
    from tests.trading.conftest import REGION

    scan(client, tokens)
    trio = alert_of(client, tokens, market.trio)
    ring = alert_of(client, tokens, market.ring)

    def ids(**query):
        return sorted(a["id"] for a in alerts(client, tokens, page_size=500, **query)["items"])

    assert ids(member=market.trio[0].uscc) == [trio["id"]]
    assert ids(member=market.ring[1].uscc) == [ring["id"]]
    assert ids(member=market.honest[0].uscc) == []
    assert ids(tender=market.trio_ref) == [trio["id"]]
    assert ids(tender="NO-SUCH_1") == []
    everything = ids()
    assert ids(region=REGION) == everything and trio["id"] in everything
    assert ids(region=REGION[:2]) == everything
    assert ids(region="650000") == []
    low = min(trio["score"], ring["score"])
    assert ids(min_score=low, max_score=low) == [a for a in everything if a in ids(max_score=low)]
    assert trio["id"] not in ids(max_score=trio["score"] - 1e-6)
    listed = alerts(client, tokens, member=market.trio[0].uscc)["items"][0]
    names = {m.uscc: m.name for m in market.trio}
    assert listed["bidders"] == [
        {"uscc": u, "name": names[u], "learned_score": None} for u in listed["members"]
    ]
    for bad in ({"member": "not-a-uscc"}, {"region": "11x"}, {"max_score": 2}):
        response = client.get(ALERTS, query_string=bad, headers=tokens["auditor"])
        assert response.status_code == 422 and set(bad) <= set(response.get_json()["errors"])


def test_a_market_scan_keeps_the_markets_price_convention_for_later_scans(session):
    from tests.unit.test_collusion_conventions import market as patterned_market
    from trading.collusion.red_flags import CONVENTION_FIELD

    views = patterned_market(60, 50)
    refs = load_market(session, views)
    scan_market(session)
    session.commit()
    assert store.stored_common_values(session)[CONVENTION_FIELD] == {"identical_prices"}
    expected = library_scan(views).tenders
    for ref in ("T000", "T055"):
        stored = session.get(TenderScreen, refs[ref])
        assert stored.suspicion == pytest.approx(expected[ref].suspicion)
        assert stored.red_flags == 0
    # A scan of one tender between market scans knows the convention too.
    one = scan_tender(session, "T000")
    assert one["alerts_created"] == 0 and one["clusters"] == 0
    assert session.get(TenderScreen, refs["T000"]).red_flags == 0
