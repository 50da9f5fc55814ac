"""The expert pool: the specialty tree, registering experts, finding them, their status."""

from __future__ import annotations

import random

from credit.identifiers import make_resident_id, make_uscc
from experts.models import ExpertSpecialty


def expert_body(rng=None, **fields) -> dict:
    rng = rng or random.Random(7)
    body = {
        "name": "李工",
        "id_number": make_resident_id(rng, "110105"),
        "region": "110105",
        "specialties": ["A0101"],
        "employer": make_uscc(rng, "110105"),
        "title": "高级工程师",
        "contact": "13800138000",
    }
    body.update(fields)
    return body


def test_the_specialty_tree_is_public_and_nested(client):
    response = client.get("/api/v1/specialties")
    assert response.status_code == 200
    tree = response.get_json()
    assert [node["code"] for node in tree] == ["A", "B", "C"]
    engineering = tree[0]
    planning = next(n for n in engineering["children"] if n["code"] == "A01")
    assert planning["name"] == "规划"
    assert all(child["code"].startswith("A01") for child in planning["children"])
    leaf = planning["children"][0]["children"][0]
    assert len(leaf["code"]) == 7 and leaf["children"] == []


def test_an_admin_registers_an_expert_and_only_admins_see_the_contact(client, tokens, session):
    response = client.post("/api/v1/experts", json=expert_body(), headers=tokens["admin"])
    assert response.status_code == 201, response.get_json()
    expert = response.get_json()
    assert expert["specialties"] == [{"code": "A0101", "name": "国民经济和社会发展规划"}]
    assert expert["contact"] == "13800138000" and expert["status"] == "active"
    # held code plus every code above it, so a request for A or A01 finds the expert
    codes = {row.code: row.held for row in session.query(ExpertSpecialty)}
    assert codes == {"A0101": True, "A01": False, "A": False}

    as_regulator = client.get(f"/api/v1/experts/{expert['id']}", headers=tokens["regulator"])
    assert as_regulator.status_code == 200
    assert "contact" not in as_regulator.get_json()
    as_admin = client.get(f"/api/v1/experts/{expert['id']}", headers=tokens["admin"])
    assert as_admin.get_json()["contact"] == "13800138000"
    as_centre = client.get(f"/api/v1/experts/{expert['id']}", headers=tokens["centre"])
    assert as_centre.status_code == 403
    assert (
        client.post("/api/v1/experts", json=expert_body(), headers=tokens["regulator"]).status_code
        == 403
    )


def test_bad_input_is_refused_field_by_field(client, tokens):
    body = expert_body(
        specialties=["A0101", "Z99", "A9999"], employer="91110000600037341X", region="12345"
    )
    response = client.post("/api/v1/experts", json=body, headers=tokens["admin"])
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert len(errors["specialties"]) == 2
    assert {"employer", "region"} <= errors.keys()
    bad_id = client.post(
        "/api/v1/experts", json=expert_body(id_number="110105199001011234"), headers=tokens["admin"]
    )
    assert bad_id.status_code == 422 and "id_number" in bad_id.get_json()["errors"]
    missing = client.post("/api/v1/experts", json={"name": "x"}, headers=tokens["admin"])
    assert missing.status_code == 422
    assert {"id_number", "region", "specialties", "employer"} <= missing.get_json()["errors"].keys()


def test_a_person_is_registered_once(client, tokens):
    body = expert_body()
    assert client.post("/api/v1/experts", json=body, headers=tokens["admin"]).status_code == 201
    again = client.post("/api/v1/experts", json=body, headers=tokens["admin"])
    assert again.status_code == 409 and again.get_json()["rule"] == "experts.unique_person"


def test_search_by_specialty_prefix_region_and_status_is_paginated(client, tokens, world):
    planner = world.expert(["A010101"], region="110105", name="王规划")
    surveyor = world.expert(["A0201"], region="310101", name="赵勘察")
    goods = world.expert(["B01"], region="110108", name="钱货物")
    world.commit()

    def ids(**query):
        response = client.get("/api/v1/experts", query_string=query, headers=tokens["regulator"])
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(specialty="A") == [planner.id, surveyor.id]
    assert ids(specialty="A01") == [planner.id]
    assert ids(specialty="A010101") == [planner.id]
    assert ids(specialty="A01010") == []  # not a prefix of the code's levels
    assert ids(region="110000") == [planner.id, goods.id]  # a province covers its parts
    assert ids(q="勘察") == [surveyor.id]
    page = client.get(
        "/api/v1/experts", query_string={"page_size": 2, "page": 2}, headers=tokens["regulator"]
    ).get_json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [goods.id]


def test_status_changes_and_leave_are_recorded_with_history(client, tokens, world):
    expert = world.expert()
    world.commit()
    base = f"/api/v1/experts/{expert.id}"
    suspended = client.post(
        f"{base}/status-changes",
        headers=tokens["admin"],
        json={"status": "suspended", "reason": "考核不合格"},
    )
    assert suspended.status_code == 201
    assert suspended.get_json()["status"] == "suspended"
    again = client.post(
        f"{base}/status-changes",
        headers=tokens["admin"],
        json={"status": "suspended", "reason": "again"},
    )
    assert again.status_code == 409 and again.get_json()["rule"] == "experts.status_changes"
    leave = client.post(
        f"{base}/leaves",
        headers=tokens["admin"],
        json={"start": "2027-01-10", "end": "2027-01-20", "reason": "出差"},
    )
    assert leave.status_code == 201
    overlapping = client.post(
        f"{base}/leaves", headers=tokens["admin"], json={"start": "2027-01-20", "end": "2027-01-25"}
    )
    assert overlapping.status_code == 409
    backwards = client.post(
        f"{base}/leaves", headers=tokens["admin"], json={"start": "2027-02-10", "end": "2027-02-01"}
    )
    assert backwards.status_code == 422
    view = client.get(base, headers=tokens["admin"]).get_json()
    assert [h["to"] for h in view["status_history"]] == ["suspended"]
    assert view["leaves"][0]["start"] == "2027-01-10"


def test_relations_are_credit_relations_of_the_expert(client, tokens, world):
    expert = world.expert()
    bidder = world.org("bidder")
    world.commit()
    response = client.post(
        f"/api/v1/experts/{expert.id}/relations",
        json={
            "kind": "employment",
            "other": bidder.uscc,
            "start": "2020-01-01",
            "end": "2024-06-30",
        },
        headers=tokens["admin"],
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["other"]["ref"] == bidder.uscc
    view = client.get(f"/api/v1/experts/{expert.id}", headers=tokens["regulator"]).get_json()
    assert [(r["kind"], r["other"]["id"]) for r in view["relations"]][-1] == (
        "employment",
        bidder.id,
    )
    unknown = client.post(
        f"/api/v1/experts/{expert.id}/relations",
        json={"kind": "relative", "other": "99999"},
        headers=tokens["admin"],
    )
    assert unknown.status_code == 422


def test_changing_the_employer_ends_the_previous_employment(client, tokens, world):
    first, second = world.org("bidder"), world.org("bidder")
    expert = world.expert(employer=first.uscc)
    world.commit()
    response = client.patch(
        f"/api/v1/experts/{expert.id}", json={"employer": second.uscc}, headers=tokens["admin"]
    )
    assert response.status_code == 200
    relations = {r["other"]["id"]: r for r in response.get_json()["relations"]}
    assert relations[first.id]["end"] is not None and relations[second.id]["end"] is None
    assert response.get_json()["employer"]["uscc"] == second.uscc


def test_unknown_experts_are_404(client, tokens):
    for expert_id in (12345, 2**40):
        response = client.get(f"/api/v1/experts/{expert_id}", headers=tokens["admin"])
        assert response.status_code == 404 and response.get_json()["rule"] == "experts.exists"
