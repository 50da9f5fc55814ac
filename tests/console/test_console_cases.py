"""Repair and objection cases through the console: file, accept, decide, each on the page."""

from __future__ import annotations

from tests.credit.conftest import Register
from trading import clock

SHA = "ab" * 32


def test_a_regulator_runs_a_repair_case_from_the_subject_page(client, tokens, signed_in):
    reg = Register(client, tokens)
    firm = reg.org("控制台修复测试公司")
    record = reg.record(firm, effective_to="2027-03-01")
    regulator = signed_in("regulator")
    page = regulator.get(f"/subjects/{firm['uscc']}")
    assert page.status_code == 200 and 'id="case-form"' in page.text
    missing = regulator.post(
        f"/subjects/{firm['uscc']}/cases",
        {"_record": str(record["id"]), "kind": "repair", "applicant.name": "申请人甲"},
    )
    assert (
        missing.status_code == 422 and "信用承诺书" in missing.text or "commitment" in missing.text
    )
    filed = regulator.post(
        f"/subjects/{firm['uscc']}/cases",
        {
            "_record": str(record["id"]),
            "kind": "repair",
            "applicant.name": "申请人甲",
            "commitment.name": "承诺书.pdf",
            "commitment.sha256": SHA,
            "proof.name": "缴款凭证.pdf",
            "proof.sha256": SHA,
        },
    )
    assert filed.status_code == 303, filed.text[:400]
    page = regulator.get(f"/subjects/{firm['uscc']}").text
    assert "已提交" in page and 'id="accept-' in page
    case_id = page.split('id="accept-')[1].split('"')[0]
    accepted = regulator.post(
        f"/subjects/{firm['uscc']}/cases/{case_id}/acceptance", {"accept": "yes"}
    )
    assert accepted.status_code == 303
    page = regulator.get(f"/subjects/{firm['uscc']}").text
    assert "已受理" in page and f'id="decide-{case_id}"' in page and "不再计入" in page
    decided = regulator.post(
        f"/subjects/{firm['uscc']}/cases/{case_id}/decision",
        {
            "approve": "yes",
            "basis.authority": "北京市住房和城乡建设委员会",
            "basis.document_no": "京信修〔2026〕8号",
            "basis.decided_on": clock.today().isoformat(),
        },
    )
    assert decided.status_code == 303, decided.text[:400]
    page = regulator.get(f"/subjects/{firm['uscc']}").text
    assert "已同意" in page and "京信修〔2026〕8号" in page


def test_an_objection_marks_the_record_disputed_on_the_page(client, tokens, signed_in):
    reg = Register(client, tokens)
    firm = reg.org("控制台异议测试公司")
    record = reg.record(firm, effective_to="2027-03-01")
    regulator = signed_in("regulator")
    filed = regulator.post(
        f"/subjects/{firm['uscc']}/cases",
        {"_record": str(record["id"]), "kind": "objection", "applicant.name": "申请人乙",
         "grounds": "处罚对象错误"},
    )  # fmt: skip
    assert filed.status_code == 303, filed.text[:400]
    page = regulator.get(f"/subjects/{firm['uscc']}").text
    assert f'id="disputed-{record["id"]}"' in page
    reader = signed_in("centre").get(f"/subjects/{firm['uscc']}").text
    assert "异议中" in reader and 'id="case-form"' not in reader
