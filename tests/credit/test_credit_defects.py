"""Defects found by trying the register as a regulator and a mirror would (issue 12)."""

from __future__ import annotations

import datetime
import random

import pytest

from credit.identifiers import (
    make_resident_id,
    organisation_code_check_digit,
    resident_id_check_character,
    uscc_check_character,
)


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
