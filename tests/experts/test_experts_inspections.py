"""Random inspections (双随机一公开): drawn verifiably, kept internal, then published."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, bindparam, text

from experts import draw as engine

URL = "/api/v1/inspections/draws"


@pytest.fixture
def population(world):
    bidders = [world.org("bidder", region="110105") for _ in range(6)]
    world.org("bidder", region="310101")  # outside the filter
    world.org("agency", region="110105")  # another kind
    inspectors = world.experts(4, specialties=("C01",))
    employed = world.expert(specialties=("C01",), employer=bidders[0].uscc)
    world.commit()
    return bidders, inspectors, employed


def body(**extra) -> dict:
    return {
        "title": "2026年第四季度招标代理双随机抽查",
        "population": {"kinds": ["bidder"], "regions": ["110000"]},
        "subjects": 6,
        "inspectors": {"count": 2, "specialty": "C01"},
        **extra,
    }


def test_a_regulator_draws_subjects_and_inspectors(population, client, tokens):
    bidders, inspectors, employed = population
    response = client.post(URL, json=body(), headers=tokens["regulator"])
    assert response.status_code == 201, response.get_json()
    inspection = response.get_json()
    assert inspection["population_size"] == 6
    assert {s["id"] for s in inspection["subjects"]} == {b.id for b in bidders}
    sent = {i["id"] for i in inspection["inspectors"]}
    assert len(sent) == 2 and sent <= {e.id for e in inspectors}
    # The expert employed by a drawn subject may not inspect it.
    assert employed.id not in sent and inspection["inspector_pool_size"] == 4
    assert inspection["verification"]["match"] is True
    assert inspection["published_at"] is None and inspection["seed"] is None
    assert client.post(URL, json=body(), headers=tokens["centre"]).status_code == 403


def test_unpublished_inspections_are_internal_then_published_with_results(
    population, client, tokens
):
    bidders, _, _ = population
    created = client.post(URL, json=body(subjects=3), headers=tokens["regulator"]).get_json()
    url = f"{URL}/{created['id']}"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=tokens["centre"]).status_code == 404
    assert client.get(url, headers=tokens["auditor"]).status_code == 200
    assert client.get(URL).get_json()["total"] == 0

    drawn = created["subjects"][0]["id"]
    not_drawn = next(b.id for b in bidders if b.id not in {s["id"] for s in created["subjects"]})
    result = client.post(
        f"{url}/results",
        json={"subject_id": drawn, "outcome": "issues_found", "note": "未按规定公示"},
        headers=tokens["regulator"],
    )
    assert result.status_code == 201
    refused = client.post(
        f"{url}/results",
        json={"subject_id": not_drawn, "outcome": "compliant"},
        headers=tokens["regulator"],
    )
    assert refused.status_code == 422
    published = client.post(f"{url}/publication", headers=tokens["regulator"])
    assert published.status_code == 200 and published.get_json()["published_at"]
    again = client.post(f"{url}/publication", headers=tokens["regulator"])
    assert again.status_code == 409

    public = client.get(url)
    assert public.status_code == 200
    view = public.get_json()
    assert len(view["seed"]) == 64 and view["verification"]["match"] is True
    assert view["results"][0]["outcome"] == "issues_found"
    assert all("*" in i["name"] for i in view["inspectors"])  # persons are masked
    assert client.get(URL).get_json()["total"] == 1
    # A result that arrives after publication is a new entry, published as such; the
    # earlier one stays.
    late = client.post(
        f"{url}/results",
        json={"subject_id": drawn, "outcome": "compliant", "note": "整改完成"},
        headers=tokens["regulator"],
    )
    assert late.status_code == 201, late.get_json()
    assert late.get_json()["after_publication"] is True
    results = client.get(url).get_json()["results"]
    assert [(r["outcome"], r["after_publication"]) for r in results] == [
        ("issues_found", False),
        ("compliant", True),
    ]


def test_a_tampered_inspection_does_not_verify(population, client, tokens, session):
    created = client.post(URL, json=body(subjects=3), headers=tokens["regulator"]).get_json()
    subjects = [str(s["id"]) for s in created["subjects"]]
    statement = text("UPDATE inspection_draws SET subjects = :v WHERE id = :id").bindparams(
        bindparam("v", type_=JSON)
    )
    session.execute(statement, {"v": subjects[::-1], "id": created["id"]})
    session.commit()
    view = client.get(f"{URL}/{created['id']}", headers=tokens["regulator"]).get_json()
    assert view["verification"]["match"] is False


def test_too_small_a_population_is_refused(population, client, tokens):
    response = client.post(URL, json=body(subjects=7), headers=tokens["regulator"])
    assert response.status_code == 409 and response.get_json()["rule"] == (
        "inspections.enough_candidates"
    )
    response = client.post(
        URL, json=body(inspectors={"count": 5, "specialty": "C01"}), headers=tokens["regulator"]
    )
    assert response.status_code == 409 and "inspectors" in response.get_json()["errors"]


def test_anyone_recomputes_a_published_inspection_from_its_page(population, client, tokens):
    created = client.post(URL, json=body(subjects=3), headers=tokens["regulator"]).get_json()
    url = f"{URL}/{created['id']}"
    assert created["subject_pool"] and created["inspector_pool"]
    client.post(f"{url}/publication", headers=tokens["regulator"])
    view = client.get(url).get_json()  # the public page, no token
    seed = bytes.fromhex(view["seed"])
    assert engine.commitment(seed) == view["seed_commitment"]
    subject_pool = [str(i) for i in view["subject_pool"]]
    inspector_pool = [str(i) for i in view["inspector_pool"]]
    assert engine.pool_digest(subject_pool) == view["subject_pool_digest"]
    assert engine.pool_digest(inspector_pool) == view["inspector_pool_digest"]
    [subjects] = engine.draw(seed, [engine.SeatGroup("subjects", subject_pool, 3, 0)])
    [inspectors] = engine.draw(seed, [engine.SeatGroup("inspectors", inspector_pool, 2, 0)])
    assert [int(i) for i in subjects.selected] == [s["id"] for s in view["subjects"]]
    assert [int(i) for i in inspectors.selected] == [i["id"] for i in view["inspectors"]]
    # Who was left out of the inspector pool is counted by reason (the reasons name people).
    assert set(view["inspector_exclusions"]) <= {"conflict.employment"}
