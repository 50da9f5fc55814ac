"""Defects found by trying the register as a regulator and a mirror would (issue 12)."""

from __future__ import annotations

import datetime
import json
import random
from datetime import timedelta

import pytest

from credit.identifiers import (
    make_resident_id,
    organisation_code_check_digit,
    resident_id_check_character,
    uscc_check_character,
)
from tests.credit.conftest import basis
from trading import clock


def _recent(days: int) -> str:
    return (clock.today() - timedelta(days=days)).isoformat()


def _uscc(department: str, kind: str, region: str, body: str = "MA1MXY27") -> str:
    first17 = department + kind + region + body + organisation_code_check_digit(body)
    return first17 + uscc_check_character(first17)


# --- defaulted regions -------------------------------------------------------------


def test_a_uscc_region_that_never_existed_is_not_taken_as_the_default(reg):
    body = {"kind": "bidder", "name": "无区划公司", "uscc": _uscc("9", "1", "329900")}
    errors = reg.post("/subjects", body, 422).get_json()["errors"]
    assert list(errors) == ["region"] and "329900" in errors["region"][0]
    # Given explicitly, a region in force is accepted.
    body["region"] = "320102"
    assert reg.post("/subjects", body, 201).get_json()["region"] == "320102"


def test_an_id_area_code_abolished_since_birth_is_a_valid_default(reg):
    # 沧浪区 320502 existed 1983-2012: right for someone born in 1990.
    number = make_resident_id(random.Random(1), "320502", datetime.date(1990, 5, 1))
    body = {"kind": "practitioner", "name": "苏州人", "id_number": number}
    made = reg.post("/subjects", body, 201).get_json()
    assert made["region"] == "320502"


def test_an_id_area_code_not_in_force_at_birth_is_refused_as_default(reg):
    # Born 1980, before 沧浪区 was created in 1983.
    number = make_resident_id(random.Random(1), "320502", datetime.date(1980, 5, 1))
    body = {"kind": "practitioner", "name": "苏州人", "id_number": number}
    errors = reg.post("/subjects", body, 422).get_json()["errors"]
    assert list(errors) == ["region"] and "at birth" in errors["region"][0]
    body["region"] = "320508"  # 姑苏区, in force today
    assert reg.post("/subjects", body, 201).get_json()["region"] == "320508"


def test_the_feed_row_of_a_defaulted_region_imports_on_a_mirror(reg, client, tokens):
    number = make_resident_id(random.Random(2), "320502", datetime.date(1990, 5, 1))
    reg.post("/subjects", {"kind": "practitioner", "name": "苏州人", "id_number": number}, 201)
    feed = client.get("/api/v1/exchange/changes", headers=tokens["regulator"]).get_json()
    row = next(c["data"] for c in feed["items"] if c["type"] == "subject")
    assert row["region"] == "320502" and row["id_number"] == number
    # The mirror validates the row as this service does (the same field rules).
    from credit.validate import subject_fields

    clean, errors = subject_fields(row, source_required=True)
    assert errors == {} and clean["region"] == "320502"


# --- USCC characters 1-2 and 15-digit resident IDs ----------------------------------


@pytest.mark.parametrize(
    "department, kind, field_text",
    [
        ("B", "1", "registration department"),
        ("0", "0", "registration department"),
        ("9", "4", "entity type"),
        ("Y", "2", "entity type"),
    ],
)
def test_uscc_department_and_entity_type_are_checked(reg, department, kind, field_text):
    body = {"kind": "bidder", "name": "某公司", "uscc": _uscc(department, kind, "110105")}
    errors = reg.post("/subjects", body, 422).get_json()["errors"]
    assert list(errors) == ["uscc"] and field_text in errors["uscc"][0]


@pytest.mark.parametrize("department, kind", [("5", "1"), ("N", "2"), ("Y", "1"), ("3", "5")])
def test_uscc_departments_of_the_table_are_accepted(reg, department, kind):
    body = {"kind": "bidder", "name": "某组织", "uscc": _uscc(department, kind, "110105")}
    reg.post("/subjects", body, 201)


def test_a_15_digit_resident_id_is_converted_to_18(reg, client, tokens):
    first17 = "11010519800101001"
    eighteen = first17 + resident_id_check_character(first17)
    fifteen = "110105800101001"
    made = reg.post(
        "/subjects", {"kind": "practitioner", "name": "老证人", "id_number": fifteen}, 201
    ).get_json()
    assert made["id_number"] == eighteen
    again = {"kind": "practitioner", "name": "老证人", "id_number": eighteen}
    reg.post("/subjects", again, 409)
    found = client.get(f"/api/v1/subjects/{eighteen}", headers=tokens["regulator"])
    assert found.status_code == 200 and found.get_json()["id"] == made["id"]


# --- lists, the score and the public page ---------------------------------------------


def test_an_abnormal_listing_is_refused_for_a_person(reg):
    person = reg.person("王某")
    response = reg.listing(person, expect=422, list="abnormal")
    assert "list" in response["errors"] and "organisations" in response["errors"]["list"][0]
    reg.listing(person, list="blacklist")  # a person may be on the blacklist


def test_an_abnormal_listing_of_a_person_is_rejected_on_import(reg, client, tokens):
    person = reg.person("李某")
    row = {
        "type": "listing",
        "source": {"platform": "p2", "id": "L1"},
        "subject": person["id_number"],
        "list": "abnormal",
        "basis": basis(),
        "start": "2024-03-01",
    }
    response = client.post(
        "/api/v1/exchange/imports",
        data=json.dumps(row, ensure_ascii=False) + "\n",
        content_type="application/x-ndjson",
        headers=tokens["regulator"],
    )
    result = response.get_json()
    assert result["accepted"] == 0 and result["rejected"][0]["errors"].keys() == {"list"}


GENERAL = {"severity": "general", "effective_to": "2025-01-01"}


def test_one_penalty_from_two_platforms_counts_once(reg):
    firm = reg.org("两平台公司")
    one = reg.record(firm, source={"platform": "p1", "id": "A"}, **GENERAL)
    two = reg.record(firm, source={"platform": "p2", "id": "B"}, **GENERAL)
    view = reg.credit(firm, as_of="2024-05-01")
    negative = [p for p in view["points"] if p["rule"] == "score.negative.general"]
    assert len(negative) == 1 and view["score"] == 90
    assert negative[0]["ref"]["record_ids"] == [one["id"], two["id"]]
    # Another decision (another document number) still counts on its own.
    reg.record(firm, **GENERAL, basis=basis(document_no="京建法罚〔2024〕16号"))
    assert reg.credit(firm, as_of="2024-05-01")["score"] == 80


def test_public_search_does_not_confirm_a_masked_name(reg, client):
    person = reg.person("测试人")
    reg.listing(person, start=_recent(10), basis=basis(_recent(10)))
    firm = reg.org("测试人建设有限公司")
    reg.listing(firm, start=_recent(10), basis=basis(_recent(10)))

    def names(**query):
        response = client.get("/api/v1/public/blacklist", query_string=query)
        assert response.status_code == 200, response.get_json()
        return sorted(e["subject_name"] for e in response.get_json()["items"])

    assert names() == ["测**", "测试人建设有限公司"]
    assert names(q="测试人") == ["测试人建设有限公司"]


def test_the_public_blacklist_honours_list_abnormal(reg, client):
    reg.listing(reg.org("黑名单公司"), start=_recent(10), basis=basis(_recent(10)))
    reg.listing(reg.org("异常公司"), list="abnormal", start=_recent(5), basis=basis(_recent(5)))
    items = client.get("/api/v1/public/blacklist", query_string={"list": "abnormal"}).get_json()
    assert [e["subject_name"] for e in items["items"]] == ["异常公司"]
    items = client.get("/api/v1/public/blacklist").get_json()
    assert [e["subject_name"] for e in items["items"]] == ["黑名单公司"]


def test_the_public_page_explains_the_score_in_chinese(reg, client):
    firm = reg.org("公示公司")
    reg.record(
        firm,
        severity="general",
        basis=basis(_recent(30)),
        effective_from=_recent(30),
        effective_to=None,
    )
    view = client.get(f"/api/v1/public/subjects/{firm['uscc']}/credit").get_json()
    messages = [p["message"] for p in view["points"]]
    assert messages[0] == "起始分 100 分。"
    assert messages[1].startswith("一般失信记录") and view["score"] == 90


# --- repair after the minimum publicity period (信用修复管理办法) ----------------------


@pytest.mark.parametrize(
    "severity, effective_to, too_early, earliest",
    [
        ("general", "2025-01-01", "2024-05-31", "2024-06-01"),  # 3 months from 2024-03-01
        ("serious", "2026-03-01", "2025-02-28", "2025-03-01"),  # 1 year
    ],
)
def test_a_repair_waits_for_the_minimum_publicity_period(
    reg, client, tokens, severity, effective_to, too_early, earliest
):
    firm = reg.org()
    record = reg.record(firm, severity=severity, effective_to=effective_to)
    body = {"basis": basis(too_early, "京信修〔2024〕1号"), "kind": "repair"}
    refused = reg.post(f"/records/{record['id']}/revocations", body, 422).get_json()
    assert earliest in refused["errors"]["on"][0]
    # A revocation (撤销: the decision was wrong) is not a repair and has no waiting time.
    body = {**body, "basis": basis(earliest, "京信修〔2024〕2号")}
    reg.post(f"/records/{record['id']}/revocations", body, 201)


def test_a_minor_record_may_be_repaired_at_once(reg):
    firm = reg.org()
    record = reg.record(firm, severity="minor", effective_to="2024-05-31")
    body = {"basis": basis("2024-03-02", "京信修〔2024〕3号"), "kind": "repair"}
    reg.post(f"/records/{record['id']}/revocations", body, 201)


def test_an_imported_repair_before_the_minimum_period_is_rejected(reg, client, tokens):
    firm = reg.org()
    record = reg.record(firm, source={"platform": "p1", "id": "R1"})  # serious
    row = {
        "type": "revocation",
        "source": {"platform": "p1", "id": "R1-repair"},
        "record": {"platform": "p1", "id": "R1"},
        "kind": "repair",
        "basis": basis("2024-09-01", "京信修〔2024〕4号"),
    }
    result = client.post(
        "/api/v1/exchange/imports",
        data=json.dumps(row, ensure_ascii=False) + "\n",
        content_type="application/x-ndjson",
        headers=tokens["regulator"],
    ).get_json()
    assert result["accepted"] == 0 and "on" in result["rejected"][0]["errors"], result
    assert record["id"]


# --- 谁认定、谁修复: regulator tokens act for one authority ------------------------------


def _regulator(session, name: str, authority: str | None) -> dict:
    from trading.auth import create_token

    secret = create_token(session, name=name, role="regulator", authority=authority)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_only_the_deciding_authority_or_an_admin_lifts_revokes_or_repairs(
    reg, client, tokens, session
):
    firm = reg.org("被处罚公司")
    record = reg.record(firm)  # decided by 北京市住房和城乡建设委员会, the test regulator's
    listing = reg.listing(firm)
    other = _regulator(session, "shanghai", "上海市住房和城乡建设管理委员会")
    unbound = _regulator(session, "unbound", None)
    lift = {"basis": basis("2024-04-01", "沪建〔2024〕1号"), "on": "2024-04-01"}
    revoke = {"basis": basis("2025-04-01", "沪建〔2025〕2号"), "kind": "repair"}
    for headers in (other, unbound):
        for path, body in (
            (f"/api/v1/listings/{listing['id']}/lifts", lift),
            (f"/api/v1/records/{record['id']}/revocations", revoke),
        ):
            refused = client.post(path, json=body, headers=headers)
            assert refused.status_code == 403, refused.get_json()
            assert refused.get_json()["rule"] == "credit.deciding_authority"
    # The deciding authority lifts; an admin revokes.
    reg.post(f"/listings/{listing['id']}/lifts", lift, 201)
    done = client.post(
        f"/api/v1/records/{record['id']}/revocations",
        json={**revoke, "kind": "revocation"},
        headers=tokens["admin"],
    )
    assert done.status_code == 201, done.get_json()


def test_an_authority_is_compared_without_width_or_blanks(reg, client, session):
    firm = reg.org("全角公司")
    listing = reg.listing(firm)
    same = _regulator(session, "same", " 北京市住房和城乡建设委员会 ")
    lift = {"basis": basis("2024-04-01", "京建〔2024〕9号"), "on": "2024-04-01"}
    response = client.post(f"/api/v1/listings/{listing['id']}/lifts", json=lift, headers=same)
    assert response.status_code == 201, response.get_json()


def test_the_command_line_binds_a_regulator_token_to_an_authority(app):
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "tokens",
            "create",
            "--role",
            "regulator",
            "--authority",
            "苏州市住房和城乡建设局",
            "--name",
            "suzhou",
        ]
    )
    assert made.exit_code == 0, made.output
    assert "苏州市住房和城乡建设局" in made.output
    wrong = runner.invoke(
        args=["tokens", "create", "--role", "auditor", "--authority", "某局", "--name", "x"]
    )
    assert wrong.exit_code != 0 and "authority" in wrong.output


# --- backdated decisions and what the register said (bitemporal) -----------------------


def test_a_record_effective_before_its_decision_is_refused(reg):
    firm = reg.org()
    response = reg.record(
        firm,
        expect=422,
        basis=basis("2026-01-05", "京建法罚〔2026〕1号"),
        effective_from="2019-03-01",
        effective_to="2020-03-01",
    )
    assert "before its decision" in response["errors"]["effective_from"][0]


def test_a_listing_or_lift_before_its_decision_is_refused(reg):
    firm = reg.org()
    response = reg.listing(firm, expect=422, basis=basis("2024-03-05"), start="2024-03-01")
    assert "start" in response["errors"]
    listing = reg.listing(firm)
    lift = {"basis": basis("2024-05-01", "京建〔2024〕7号"), "on": "2024-04-01"}
    refused = reg.post(f"/listings/{listing['id']}/lifts", lift, 422).get_json()
    assert "on" in refused["errors"]


def _known_since(session, table: str, row_id: int, when: str) -> None:
    # Stands for the passage of time: the row reached the register on ``when``.
    from sqlalchemy import text

    session.execute(
        text(f"UPDATE {table} SET created_at = :at WHERE id = :id"), {"at": when, "id": row_id}
    )
    session.commit()


def test_a_retroactive_revocation_leaves_what_the_register_said_readable(reg, session):
    firm = reg.org()
    record = reg.record(firm)  # serious, decided and effective 2024-03-01
    _known_since(session, "credit_records", record["id"], "2024-03-01 02:00:00")
    # Revoked today, void from the start (撤销 of a wrong decision).
    revoke = {"basis": basis(clock.today().isoformat(), "京复〔2026〕1号"), "on": "2024-03-01"}
    reg.post(f"/records/{record['id']}/revocations", revoke, 201)

    now = reg.credit(firm, as_of="2024-05-01")
    assert now["score"] == 100 and now["known_on"] is None
    response = reg.client.get(
        f"/api/v1/subjects/{firm['id']}/credit",
        query_string={"as_of": "2024-05-01", "known_on": "2024-05-01"},
        headers=reg.tokens["centre"],
    )
    then = response.get_json()
    assert then["score"] == 60 and then["active_records"] == [record["id"]]
    assert then["known_on"] == "2024-05-01"
    (shown,) = then["records"]  # the revocation was not known yet
    assert shown["status"] == "active" and shown["known_at"].startswith("2024-03-01")
    # Before the record reached the register, the register knew of nothing.
    earlier = reg.client.get(
        f"/api/v1/subjects/{firm['id']}/credit",
        query_string={"as_of": "2024-05-01", "known_on": "2024-02-28"},
        headers=reg.tokens["centre"],
    ).get_json()
    assert earlier["records"] == [] and earlier["score"] == 100


# --- exchange: duplicate lines named, GBK CSV when declared ----------------------------


def _import(client, tokens, data: bytes, content_type: str):
    return client.post(
        "/api/v1/exchange/imports",
        data=data,
        content_type=content_type,
        headers=tokens["regulator"],
    )


def _subject_csv(uscc: str, name: str, source_id: str) -> str:
    return f"subject,bidder,{name},{uscc},110105,p7,{source_id}\n"


CSV_HEADER = "type,kind,name,uscc,region,source.platform,source.id\n"


def test_the_import_report_names_the_duplicate_lines(reg, client, tokens):
    a, b = reg.uscc(), reg.uscc()
    text = CSV_HEADER + _subject_csv(a, "甲公司", "1") + _subject_csv(b, "乙公司", "2")
    text += _subject_csv(a, "甲公司", "1")  # line 4 repeats line 2
    result = _import(client, tokens, text.encode(), "text/csv").get_json()
    assert result["accepted"] == 2 and result["duplicates"] == 1
    assert result["duplicate_lines"] == [4]
    again = _import(client, tokens, text.encode(), "text/csv").get_json()
    assert again["duplicate_lines"] == [2, 3, 4]


def test_a_gbk_csv_is_read_when_declared(reg, client, tokens):
    uscc = reg.uscc()
    data = (CSV_HEADER + _subject_csv(uscc, "国标编码建设有限公司", "g1")).encode("gbk")
    undeclared = _import(client, tokens, data, "text/csv").get_json()
    assert undeclared["accepted"] == 0 and undeclared["rejected"][0]["errors"] == {
        "_line": ["is not UTF-8"]
    }
    result = _import(client, tokens, data, "text/csv; charset=GBK").get_json()
    assert result["accepted"] == 1, result
    found = client.get(f"/api/v1/subjects/{uscc}", headers=tokens["centre"]).get_json()
    assert found["name"] == "国标编码建设有限公司"
    refused = _import(client, tokens, data, "text/csv; charset=latin-1")
    assert refused.status_code == 415 and refused.get_json()["rule"] == "credit.exchange_charset"


def test_an_identical_relation_is_refused_but_a_later_period_is_not(reg):
    firm, person = reg.org("关系公司"), reg.person("法人甲")
    body = {"kind": "legal_rep", "other": firm["id"], "start": "2020-01-01", "end": "2022-12-31"}
    reg.post(f"/subjects/{person['id']}/relations", body, 201)
    twin = reg.post(f"/subjects/{person['id']}/relations", body, 409).get_json()
    assert twin["rule"] == "credit.relation_unique"
    later = {"kind": "legal_rep", "other": firm["id"], "start": "2024-01-01"}
    reg.post(f"/subjects/{person['id']}/relations", later, 201)
