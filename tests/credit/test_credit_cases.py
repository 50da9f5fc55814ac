"""Repair applications (信用修复) and objections (异议申诉) as workflows, step by step."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.credit.conftest import basis
from trading import clock
from trading.audit import AuditEntry
from trading.auth import create_token

DOC = {"name": "信用承诺书.pdf", "sha256": "ab" * 32}
PROOF = {"name": "罚款缴纳凭证.pdf", "sha256": "cd" * 32}
APPLICANT = {"name": "北京建工一公司", "contact": "010-12345678"}


def _repair_body(**fields) -> dict:
    return {
        "kind": "repair",
        "applicant": APPLICANT,
        "commitment": DOC,
        "proofs": [PROOF],
        **fields,
    }


def _case(reg, record: dict, body: dict, expect: int = 201) -> dict:
    return reg.post(f"/records/{record['id']}/cases", body, expect).get_json()


def _step(reg, case: dict, step: str, body: dict, expect: int = 200, headers=None) -> dict:
    response = reg.client.post(
        f"/api/v1/credit-cases/{case['id']}/{step}", json=body, headers=headers or reg.headers
    )
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_a_repair_application_is_accepted_decided_and_repairs_the_record(reg, session):
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")  # serious, decided 2024-03-01
    case = _case(reg, record, _repair_body())
    assert case["state"] == "submitted" and case["authority"] == "北京市住房和城乡建设委员会"
    accepted = _step(reg, case, "acceptance", {"accept": True})
    assert accepted["state"] == "accepted" and accepted["decision_due"] > accepted["accepted_on"]
    decided = _step(
        reg,
        case,
        "decision",
        {"approve": True, "basis": basis(clock.today().isoformat(), "京信修1号")},
    )
    assert decided["state"] == "approved" and decided["outcome_record"]
    view = reg.credit(firm)
    repaired = next(r for r in view["records"] if r["id"] == record["id"])
    assert repaired["superseded_by"] == decided["outcome_record"]
    assert [c["state"] for c in view["cases"]] == ["approved"]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "credit_case")
    ).all()
    assert actions == ["credit.case.submit", "credit.case.accept", "credit.case.decide"]


def test_a_repair_needs_a_commitment_and_proof_and_waits_for_the_minimum_period(reg, client):
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")
    missing = _case(reg, record, {"kind": "repair", "applicant": APPLICANT}, 422)
    assert {"commitment", "proofs"} <= set(missing["errors"]) and missing[
        "rule"
    ] == "credit.case_valid"
    bad_hash = _case(reg, record, _repair_body(proofs=[{"name": "x", "sha256": "nope"}]), 422)
    assert "proofs" in bad_hash["errors"]
    today = clock.today()
    fresh = reg.record(
        firm,
        basis=basis(today.isoformat(), "京建法罚〔2026〕9号"),
        effective_from=today.isoformat(),
        effective_to=(today + timedelta(days=900)).isoformat(),
    )
    early = _case(reg, fresh, _repair_body(), 409)
    assert early["rule"] == "credit.repair_too_early"
    positive = reg.record(firm, polarity="positive", category="表彰", severity=None)
    refused = _case(reg, positive, _repair_body(), 422)
    assert refused["rule"] == "credit.case_valid" and "record" in refused["errors"]


def test_one_open_case_per_record_and_kind(reg):
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")
    _case(reg, record, _repair_body())
    again = _case(reg, record, _repair_body(), 409)
    assert again["rule"] == "credit.case_open"


def test_an_objection_shows_the_record_disputed_until_decided(reg):
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")
    body = {"kind": "objection", "applicant": APPLICANT, "grounds": "处罚对象错误：另有同名企业"}
    case = _case(reg, record, body)
    shown = next(r for r in reg.credit(firm)["records"] if r["id"] == record["id"])
    assert shown["disputed"] is True
    _step(reg, case, "acceptance", {"accept": True})
    kept = _step(reg, case, "decision", {"approve": False, "reason": "经核查，处罚对象无误"})
    assert kept["state"] == "rejected" and kept["outcome_record"] is None
    shown = next(r for r in reg.credit(firm)["records"] if r["id"] == record["id"])
    assert shown["disputed"] is False and shown["superseded_by"] is None
    assert _case(reg, record, {"kind": "objection", "applicant": APPLICANT}, 422)["errors"][
        "grounds"
    ]


def test_an_upheld_objection_revokes_the_record(reg):
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")
    case = _case(reg, record, {"kind": "objection", "applicant": APPLICANT, "grounds": "主体错误"})
    _step(reg, case, "acceptance", {"accept": True})
    no_basis = _step(reg, case, "decision", {"approve": True}, 422)
    assert "basis" in no_basis["errors"]
    upheld = _step(
        reg,
        case,
        "decision",
        {"approve": True, "basis": basis(clock.today().isoformat(), "京异1号")},
    )
    shown = next(r for r in reg.credit(firm)["records"] if r["id"] == record["id"])
    assert shown["superseded_by"] == upheld["outcome_record"]


def test_only_the_deciding_authority_accepts_and_decides(reg, client, session):
    other = create_token(
        session,
        name="case-other-regulator",
        role="regulator",
        authority="上海市住房和城乡建设管理委员会",
    )
    session.commit()
    elsewhere = {"Authorization": f"Bearer {other}"}
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")
    case = _case(reg, record, _repair_body())
    refused = _step(reg, case, "acceptance", {"accept": True}, 403, headers=elsewhere)
    assert refused["rule"] == "credit.deciding_authority"
    _step(reg, case, "acceptance", {"accept": True})
    again = _step(reg, case, "acceptance", {"accept": True}, 409)
    assert again["rule"] == "credit.case_state"
    refused = _step(
        reg, case, "decision", {"approve": False, "reason": "x"}, 403, headers=elsewhere
    )
    assert refused["rule"] == "credit.deciding_authority"


def test_a_refusal_says_why_and_a_case_past_its_due_date_is_overdue(reg, client):
    firm = reg.org()
    record = reg.record(firm, effective_to="2027-03-01")
    case = _case(reg, record, _repair_body())
    assert _step(reg, case, "acceptance", {"accept": False}, 422)["errors"]["reason"]
    refused = _step(reg, case, "acceptance", {"accept": False, "reason": "材料不全"})
    assert refused["state"] == "refused"
    second = _case(reg, record, _repair_body())  # a refused case is closed: file anew
    accepted = _step(reg, second, "acceptance", {"accept": True})
    due = date.fromisoformat(accepted["decision_due"])
    assert accepted["overdue"] is False
    with clock.frozen(clock.china_day_start(due + timedelta(days=1))):
        late = client.get(f"/api/v1/credit-cases/{second['id']}", headers=reg.headers)
        assert late.get_json()["overdue"] is True


def test_working_days_skip_weekends():
    from credit.cases import add_working_days

    assert add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Friday → Monday
    assert add_working_days(date(2026, 12, 4), 10) == date(2026, 12, 18)
