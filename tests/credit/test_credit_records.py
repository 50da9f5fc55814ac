"""Credit records: append-only, publicity periods by severity, a legal basis for negatives,
revocations and repairs as new events."""

from __future__ import annotations

import pytest

from tests.credit.conftest import basis, negative


def test_a_negative_record_is_stored_with_its_basis_and_period(reg):
    firm = reg.org()
    record = reg.record(firm, category="围标串标")
    assert record["category"] == "collusion" and record["category_name"] == "围标串标"
    assert record["basis"]["document_no"] == "京建法罚〔2024〕15号"
    assert record["event"] == "record" and record["source"]["platform"] == "gongxin"


def test_a_negative_record_without_its_legal_basis_is_422(reg):
    firm = reg.org()
    response = reg.record(firm, expect=422, basis=None)
    assert "basis" in response["errors"]
    partial = {"authority": "某局", "decided_on": "2024-03-01"}
    response = reg.record(firm, expect=422, basis=partial)
    assert "basis.document_no" in response["errors"]


@pytest.mark.parametrize(
    "severity, start, end, ok",
    [
        ("minor", "2024-01-31", "2024-04-30", True),  # 3 months, clamped to month end
        ("minor", "2024-01-31", "2024-05-01", False),
        ("general", "2024-03-01", "2024-06-01", True),
        ("general", "2024-03-01", "2024-05-31", False),
        ("general", "2024-03-01", "2025-03-01", True),
        ("general", "2024-03-01", "2025-03-02", False),
        ("serious", "2024-03-01", "2025-02-28", False),
        ("serious", "2024-03-01", "2025-03-01", True),
        ("serious", "2024-03-01", "2027-03-01", True),
        ("serious", "2024-03-01", "2027-03-02", False),
        ("minor", "2024-03-01", "2024-02-28", False),
    ],
)
def test_the_publicity_period_is_bounded_by_severity(reg, severity, start, end, ok):
    firm = reg.org()
    fields = dict(
        severity=severity,
        effective_from=start,
        effective_to=end,
        category="poor_performance",
        basis=basis(start),
    )
    if ok:
        reg.record(firm, **fields)
    else:
        assert "effective_to" in reg.record(firm, expect=422, **fields)["errors"]


def test_without_an_end_the_longest_period_of_the_severity_applies(reg):
    firm = reg.org()
    record = reg.record(
        firm,
        severity="general",
        effective_from=None,
        effective_to=None,
        category="contract_refusal",
    )
    assert record["effective_from"] == "2024-03-01" and record["effective_to"] == "2025-03-01"


def test_categories_come_from_the_code_list_and_match_the_polarity(reg):
    firm = reg.org()
    assert "category" in reg.record(firm, expect=422, category="迟到")["errors"]
    positive = {
        "polarity": "positive",
        "category": "collusion",
        "effective_from": "2024-01-01",
        "effective_to": "2024-12-31",
    }
    response = reg.post(f"/subjects/{firm['id']}/records", positive, 422)
    assert "category" in response.get_json()["errors"]
    positive["category"] = "表彰"
    assert reg.post(f"/subjects/{firm['id']}/records", positive, 201).get_json()["severity"] is None
    assert "severity" in reg.record(firm, expect=422, severity="fatal")["errors"]


def test_the_same_source_twice_is_409(reg):
    firm = reg.org()
    source = {"platform": "jszx.js.gov.cn", "id": "CR-2024-0001"}
    reg.record(firm, source=source)
    response = reg.record(firm, expect=409, source=source)
    assert response["rule"] == "credit.source_unique"


def test_records_cannot_be_edited_or_deleted(reg, client, tokens):
    record = reg.record(reg.org())
    for method in (client.put, client.patch, client.delete):
        response = method(f"/api/v1/records/{record['id']}", json={}, headers=tokens["admin"])
        assert response.status_code == 405
    assert (
        client.get(f"/api/v1/records/{record['id']}", headers=tokens["centre"]).status_code == 200
    )


def test_a_revocation_is_a_new_record_and_the_old_one_stops_counting(reg, client, tokens):
    firm = reg.org()
    record = reg.record(firm)
    assert not reg.eligibility(firm, "bid", on="2024-06-01")["eligible"]
    revocation = reg.post(
        f"/records/{record['id']}/revocations",
        {"basis": basis("2024-05-01", "京高法行终〔2024〕3号"), "reason": "行政复议撤销原处罚决定"},
        201,
    ).get_json()
    assert revocation["event"] == "revocation" and revocation["refers_to"] == record["id"]
    assert revocation["effective_from"] == "2024-05-01"
    assert revocation["id"] != record["id"]
    # Before the revocation it counted; from its date on it does not.
    assert not reg.eligibility(firm, "bid", on="2024-04-30")["eligible"]
    assert reg.eligibility(firm, "bid", on="2024-06-01")["eligible"]
    # The original is still there, unchanged, and says what happened to it.
    seen = client.get(f"/api/v1/records/{record['id']}", headers=tokens["centre"]).get_json()
    assert seen["status"] == "revoked" and seen["superseded_by"] == revocation["id"]
    assert seen["basis"] == record["basis"]
    view = reg.credit(firm, "2024-06-01")
    assert [r["status"] for r in view["records"]] == ["revoked", "in_force"]
    assert view["score"] == 100


def test_revoking_twice_or_without_basis_is_refused(reg):
    firm = reg.org()
    record = reg.record(firm)
    assert "basis" in reg.post(f"/records/{record['id']}/revocations", {}, 422).get_json()["errors"]
    reg.post(f"/records/{record['id']}/revocations", {"basis": basis("2024-05-01")}, 201)
    again = reg.post(f"/records/{record['id']}/revocations", {"basis": basis("2024-05-02")}, 409)
    assert again.get_json()["rule"] == "credit.record_superseded_once"
    assert reg.post("/records/999999/revocations", {"basis": basis()}, 404)


def test_credit_repair_applies_to_negative_records_only(reg):
    firm = reg.org()
    # General: repairable after its 3-month minimum publicity period (from 2024-06-01).
    record = reg.record(firm, severity="general", effective_to="2025-01-01")
    positive = reg.post(
        f"/subjects/{firm['id']}/records",
        {
            "polarity": "positive",
            "category": "commendation",
            "effective_from": "2024-01-01",
            "effective_to": "2024-12-31",
        },
        201,
    ).get_json()
    response = reg.post(
        f"/records/{positive['id']}/revocations",
        {"basis": basis("2024-06-01"), "kind": "repair"},
        422,
    )
    assert "kind" in response.get_json()["errors"]
    repair = reg.post(
        f"/records/{record['id']}/revocations",
        {"basis": basis("2024-09-01", "京信修〔2024〕8号"), "kind": "repair", "on": "2024-09-02"},
        201,
    ).get_json()
    assert repair["event"] == "repair"

    def status(on):
        return {r["id"]: r["status"] for r in reg.credit(firm, on)["records"]}[record["id"]]

    assert status("2024-09-01") == "active" and status("2024-09-02") == "repaired"


def test_a_correction_replaces_the_record_from_its_date(reg):
    firm = reg.org()
    record = reg.record(firm)
    correction = reg.record(
        firm,
        corrects=record["id"],
        severity="general",
        category="poor_performance",
        effective_from="2024-04-01",
        effective_to="2025-03-01",
        basis=basis("2024-04-01", "更正〔2024〕1号"),
    )
    assert correction["event"] == "correction" and correction["refers_to"] == record["id"]
    assert not reg.eligibility(firm, "bid", on="2024-03-15")["eligible"]
    assert reg.eligibility(firm, "bid", on="2024-04-15")["eligible"]
    statuses = {r["id"]: r["status"] for r in reg.credit(firm, "2024-04-15")["records"]}
    assert statuses == {record["id"]: "corrected", correction["id"]: "active"}
    other = reg.org("别的公司")
    response = reg.post(
        f"/subjects/{other['id']}/records", negative(corrects=correction["id"]), 422
    )
    assert "corrects" in response.get_json()["errors"]
