"""Subjects and relations: identifiers validated completely, relations with their shape."""

from __future__ import annotations

import pytest

from credit.identifiers import mask_resident_id


def test_an_organisation_is_registered_by_uscc_and_found_by_it(reg, client, tokens):
    firm = reg.org("北京建工一公司")
    assert firm["uscc"] and firm["region"] == "110105" and firm["kind"] == "bidder"
    by_uscc = client.get(f"/api/v1/subjects/{firm['uscc']}", headers=tokens["centre"])
    by_id = client.get(f"/api/v1/subjects/{firm['id']}", headers=tokens["centre"])
    assert by_uscc.status_code == by_id.status_code == 200
    assert by_uscc.get_json()["id"] == by_id.get_json()["id"] == firm["id"]


def test_region_defaults_to_the_one_in_the_identifier(reg):
    body = {"kind": "tenderee", "name": "上海某局", "uscc": reg.uscc("310104")}
    assert reg.post("/subjects", body, 201).get_json()["region"] == "310104"


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda u: u[:17] + ("0" if u[17] != "0" else "1"), "check character"),
        (lambda u: u[:16] + ("0" if u[16] != "0" else "1") + u[17], "organisation code"),
        (lambda u: u[:10], "18 characters"),
        (lambda u: "I" + u[1:], "alphabet"),
    ],
)
def test_a_bad_uscc_is_422_with_the_reason_on_the_field(reg, change, reason):
    body = {"kind": "bidder", "name": "坏公司", "uscc": change(reg.uscc()), "region": "110105"}
    response = reg.post("/subjects", body, 422)
    errors = response.get_json()["errors"]
    assert list(errors) == ["uscc"] and reason in errors["uscc"][0]


def test_a_bad_resident_id_is_422_for_its_check_digit_or_birth_date(reg):
    good = reg.id_number()
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    response = reg.post(
        "/subjects", {"kind": "practitioner", "name": "李四", "id_number": wrong_check}, 422
    )
    assert "check character" in response.get_json()["errors"]["id_number"][0]
    # 2023-02-30 does not exist; fix the check character so only the date is wrong.
    from credit.identifiers import resident_id_check_character

    body17 = good[:6] + "20230230" + good[14:17]
    bad_date = body17 + resident_id_check_character(body17)
    response = reg.post(
        "/subjects", {"kind": "practitioner", "name": "李四", "id_number": bad_date}, 422
    )
    assert "not a date" in response.get_json()["errors"]["id_number"][0]


def test_missing_and_wrong_fields_each_get_a_reason(reg):
    response = reg.post("/subjects", {"kind": "bidder", "name": "", "region": "1101"}, 422)
    errors = response.get_json()["errors"]
    assert {"uscc", "region", "name"} <= set(errors)
    response = reg.post(
        "/subjects", {"kind": "practitioner", "name": "王五", "uscc": reg.uscc()}, 422
    )
    assert {"uscc", "id_number"} <= set(response.get_json()["errors"])
    response = reg.post(
        "/subjects",
        {"kind": "bidder", "name": "某公司", "uscc": reg.uscc(), "region": "999999"},
        422,
    )
    assert "region" in response.get_json()["errors"]


def test_a_second_registration_of_the_same_identifier_is_409(reg):
    firm = reg.org()
    body = {"kind": "bidder", "name": "同一公司", "uscc": firm["uscc"].lower()}
    response = reg.post("/subjects", body, 409)
    assert response.get_json()["rule"] == "credit.subject_unique"


def test_id_numbers_are_shown_in_full_only_to_regulators_and_admins(reg, client, tokens):
    person = reg.person("张三")
    assert len(person["id_number"]) == 18 and "*" not in person["id_number"]
    for role in ("centre",):
        seen = client.get(f"/api/v1/subjects/{person['id']}", headers=tokens[role]).get_json()
        assert seen["id_number"] == mask_resident_id(person["id_number"])
    admin = client.get(f"/api/v1/subjects/{person['id']}", headers=tokens["admin"]).get_json()
    assert admin["id_number"] == person["id_number"]


def test_who_may_register(reg, client, tokens):
    body = {"kind": "bidder", "name": "中心登记公司", "uscc": reg.uscc()}
    assert client.post("/api/v1/subjects", json=body, headers=tokens["centre"]).status_code == 201
    body["uscc"] = reg.uscc()
    assert client.post("/api/v1/subjects", json=body, headers=tokens["auditor"]).status_code == 403
    assert client.post("/api/v1/subjects", json=body).status_code == 401


def test_subjects_are_searched_by_name_and_kind_with_pages(reg, client, tokens):
    for i in range(3):
        reg.org(f"华东路桥{i}公司")
    reg.org("华东代理", kind="agency")
    page = client.get(
        "/api/v1/subjects", query_string={"q": "华东", "page_size": 2}, headers=tokens["centre"]
    ).get_json()
    assert page["total"] == 4 and len(page["items"]) == 2
    agencies = client.get(
        "/api/v1/subjects", query_string={"q": "华东", "kind": "agency"}, headers=tokens["centre"]
    ).get_json()
    assert [s["name"] for s in agencies["items"]] == ["华东代理"]


def test_an_unknown_subject_is_404(client, tokens):
    for ref in ("91110000MA00000000", "999999"):
        response = client.get(f"/api/v1/subjects/{ref}", headers=tokens["centre"])
        assert response.status_code == 404
        assert response.get_json()["rule"] == "credit.subject_exists"
    from tests.credit.conftest import negative

    response = client.post(
        "/api/v1/subjects/999999/records", json=negative(), headers=tokens["regulator"]
    )
    assert response.status_code == 404


def test_relations_are_read_from_the_subject_in_the_path(reg, client, tokens):
    parent, child, other = reg.org("母公司"), reg.org("子公司"), reg.org("参股公司")
    engineer, brother = reg.person("张工"), reg.person("张二")
    reg.post(
        f"/subjects/{child['id']}/relations", {"kind": "subsidiary", "other": parent["uscc"]}, 201
    )
    share = reg.post(
        f"/subjects/{parent['id']}/relations",
        {"kind": "shareholder", "other": other["uscc"], "share": "35.5"},
        201,
    )
    assert share.get_json()["share"] == "35.5"
    job = reg.post(
        f"/subjects/{engineer['id']}/relations",
        {"kind": "employment", "other": child["uscc"], "start": "2019-01-01", "end": "2023-06-30"},
        201,
    ).get_json()
    assert job["start"] == "2019-01-01" and job["end"] == "2023-06-30"
    reg.post(
        f"/subjects/{engineer['id']}/relations", {"kind": "relative", "other": brother["id"]}, 201
    )
    seen = client.get(f"/api/v1/subjects/{child['uscc']}", headers=tokens["centre"]).get_json()
    assert [r["kind"] for r in seen["relations"]] == ["subsidiary"]
    assert [r["other_name"] for r in seen["related_from"]] == ["张工"]


def test_relations_that_make_no_sense_are_422(reg):
    firm, other, person = reg.org("甲"), reg.org("乙"), reg.person("丙")
    cases = [
        (firm, {"kind": "employment", "other": other["uscc"]}, "kind"),  # a firm is not employed
        (person, {"kind": "relative", "other": firm["uscc"]}, "other"),  # relatives are people
        (firm, {"kind": "shareholder", "other": other["uscc"], "share": 120}, "share"),
        (firm, {"kind": "subsidiary", "other": other["uscc"], "share": 10}, "share"),
        (firm, {"kind": "subsidiary", "other": "91110000MA00000000"}, "other"),
        (firm, {"kind": "subsidiary", "other": firm["id"]}, "other"),
        (
            person,
            {
                "kind": "employment",
                "other": firm["uscc"],
                "start": "2024-01-01",
                "end": "2023-01-01",
            },
            "end",
        ),
        (firm, {"kind": "partner", "other": other["uscc"]}, "kind"),
    ]
    for subject, body, field in cases:
        response = reg.post(f"/subjects/{subject['id']}/relations", body, 422)
        assert field in response.get_json()["errors"], (body, response.get_json())


def test_ids_beyond_what_the_database_stores_are_simply_unknown(client, tokens):
    huge = 2**40
    for path in (
        f"/api/v1/subjects/{huge}",
        f"/api/v1/records/{huge}",
        f"/api/v1/listings/{huge}",
        f"/api/v1/subjects/{huge}/eligibility?purpose=bid",
    ):
        assert client.get(path, headers=tokens["regulator"]).status_code == 404, path
