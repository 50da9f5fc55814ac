"""The credit view (score, grade, rules, history) and eligibility with every reason."""

from __future__ import annotations

from datetime import date

import pytest

from credit.eligibility import eligibility, eligibility_many
from tests.credit.conftest import basis


def test_the_score_is_explained_point_by_point_and_deterministic(reg):
    firm = reg.org()
    reg.record(
        firm,
        category="poor_performance",
        severity="general",
        effective_from="2024-03-01",
        effective_to="2025-03-01",
    )
    reg.record(
        firm,
        category="fraud",
        severity="serious",
        effective_from="2024-04-01",
        effective_to="2025-04-01",
    )
    reg.post(
        f"/subjects/{firm['id']}/records",
        {
            "polarity": "positive",
            "category": "quality_award",
            "effective_from": "2024-01-10",
            "effective_to": "2025-01-09",
        },
        201,
    )
    view = reg.credit(firm, "2024-05-01")
    rules = [(p["rule"], p["points"]) for p in view["points"]]
    assert rules == [
        ("score.start", 100),
        ("score.positive", 5),
        ("score.negative.general", -10),
        ("score.negative.serious", -30),
        ("score.negative.bars_bid", -10),
    ]
    assert view["score"] == 55 and view["grade"] == "D"
    assert view == reg.credit(firm, "2024-05-01")
    assert reg.credit(firm, "2024-02-01")["score"] == 105  # only the award was in force


def test_the_credit_view_of_a_past_date_shows_what_was_true_then(reg):
    firm = reg.org()
    reg.listing(firm, list="abnormal", start="2024-03-01")
    assert reg.credit(firm, "2024-02-01")["active_listings"] == []
    view = reg.credit(firm, "2024-04-01")
    assert view["score"] == 85 and view["grade"] == "B"
    assert view["points"][-1]["rule"] == "score.abnormal_listed"


def test_a_blacklisted_subject_may_not_bid_act_as_agency_or_sit_as_expert(reg):
    agency, person = reg.org("某代理", kind="agency"), reg.person()
    reg.listing(agency)
    reg.listing(person)
    bid = reg.eligibility(agency, "bid", on="2024-05-01")
    assert not bid["eligible"] and [r["rule"] for r in bid["reasons"]] == ["credit.blacklisted"]
    assert bid["reasons"][0]["ref"]["listing_id"]
    assert not reg.eligibility(agency, "agency", on="2024-05-01")["eligible"]
    expert = reg.eligibility(person, "expert", on="2024-05-01")
    assert [r["rule"] for r in expert["reasons"]] == ["credit.blacklisted"]


def test_the_abnormal_list_bars_bids_and_agencies_but_not_experts(reg):
    agency = reg.org("异常代理", kind="agency")
    reg.listing(agency, list="abnormal")
    for purpose in ("bid", "agency"):
        reasons = reg.eligibility(agency, purpose, on="2024-05-01")["reasons"]
        assert [r["rule"] for r in reasons] == ["credit.abnormal_listed"]
    # The abnormal list holds organisations only (经营异常名录): a person is never on it.
    reg.listing(reg.person(), expect=422, list="abnormal")


def test_a_serious_collusion_or_fraud_record_bars_bidding_but_not_a_minor_one(reg):
    firm = reg.org()
    reg.record(firm, category="poor_performance", severity="serious")
    reg.record(firm, category="fraud", severity="minor", effective_to="2024-05-31")
    assert reg.eligibility(firm, "bid", on="2024-05-01")["eligible"]
    reg.record(firm, category="弄虚作假", severity="serious")
    answer = reg.eligibility(firm, "bid", on="2024-05-01")
    assert [r["rule"] for r in answer["reasons"]] == ["credit.record_bars_bid"]
    assert answer["reasons"][0]["ref"]["category"] == "fraud"
    # Outside its publicity period it no longer counts.
    assert reg.eligibility(firm, "bid", on="2026-03-02")["eligible"]


def test_an_expert_is_barred_by_evaluation_misconduct_or_any_serious_record(reg):
    expert, other = reg.person("评标专家甲"), reg.person("评标专家乙")
    reg.record(expert, category="评标违规", severity="minor", effective_to="2024-05-31")
    reasons = reg.eligibility(expert, "expert", on="2024-05-01")["reasons"]
    assert [r["rule"] for r in reasons] == ["credit.expert_misconduct"]
    reg.record(other, category="illegal_subcontracting", severity="serious")
    reasons = reg.eligibility(other, "expert", on="2024-05-01")["reasons"]
    assert [r["rule"] for r in reasons] == ["credit.expert_serious_record"]
    assert reg.eligibility(other, "expert", on="2024-02-01")["eligible"]


def test_every_reason_is_listed_and_the_kind_must_fit(reg):
    firm = reg.org()
    reg.listing(firm)
    reg.listing(firm, list="abnormal")
    reg.record(firm, category="collusion")
    reasons = reg.eligibility(firm, "agency", on="2024-05-01")["reasons"]
    assert [r["rule"] for r in reasons] == [
        "credit.subject_kind",
        "credit.blacklisted",
        "credit.abnormal_listed",
        "credit.record_bars_agency",
    ]
    person = reg.person()
    assert [r["rule"] for r in reg.eligibility(person, "bid")["reasons"]] == ["credit.subject_kind"]
    assert [r["rule"] for r in reg.eligibility(firm, "expert", on="2020-01-01")["reasons"]] == [
        "credit.subject_kind"
    ]


def test_the_eligibility_question_is_validated(reg, client, tokens):
    firm = reg.org()
    url = f"/api/v1/subjects/{firm['id']}/eligibility"
    for query, field in [
        ({"purpose": "vote"}, "purpose"),
        ({}, "purpose"),
        ({"purpose": "bid", "region": "12"}, "region"),
        ({"purpose": "bid", "on": "yesterday"}, "on"),
        ({"purpose": "bid", "sector": "roads"}, "sector"),
    ]:
        response = client.get(url, query_string=query, headers=tokens["centre"])
        assert response.status_code == 422 and field in response.get_json()["errors"]
    # Read as request.args would: escapes decoded, "+" a space, the first of a repeated name.
    plain = client.get(f"{url}?purpose=bid&region=320102", headers=tokens["centre"])
    escaped = client.get(
        f"{url}?%70urpose=bid&purpose=expert&region=%33%32%30102", headers=tokens["centre"]
    )
    assert plain.status_code == escaped.status_code == 200
    assert escaped.get_json() == plain.get_json()
    spaced = client.get(f"{url}?purpose=bid&on=2025-06-01+", headers=tokens["centre"])
    assert spaced.status_code == 422 and "on" in spaced.get_json()["errors"]
    missing = client.get(
        "/api/v1/subjects/91110000MA00000000/eligibility",
        query_string={"purpose": "bid"},
        headers=tokens["centre"],
    )
    assert missing.status_code == 404


def test_batched_eligibility_agrees_with_one_by_one(reg, app, session):
    subjects = [reg.org(f"公司{i}") for i in range(4)] + [reg.person(f"专家{i}") for i in range(3)]
    reg.listing(subjects[0], sectors=["land"])
    reg.listing(subjects[1], list="abnormal")
    reg.record(subjects[2], category="bribery")
    reg.record(
        subjects[4], category="evaluation_misconduct", severity="general", effective_to="2025-03-01"
    )
    revoked = reg.record(subjects[5], category="collusion")
    reg.post(f"/records/{revoked['id']}/revocations", {"basis": basis("2024-04-01")}, 201)
    ids = [s["id"] for s in subjects] + [10_000_000]
    with app.app_context():
        for purpose in ("bid", "agency", "expert"):
            for sector in (None, "land", "construction"):
                batch = eligibility_many(session, ids, purpose, sector, None, date(2024, 5, 1))
                assert set(batch) == set(ids[:-1])
                for sid in ids[:-1]:
                    assert batch[sid] == eligibility(
                        session, sid, purpose, sector, None, date(2024, 5, 1)
                    )
    assert reg.eligibility(subjects[5], "expert", on="2024-05-01")["eligible"]


@pytest.mark.parametrize("role, status", [("centre", 200), ("regulator", 200), ("auditor", 403)])
def test_readers_of_credit_and_eligibility(reg, client, tokens, role, status):
    firm = reg.org()
    for path in ("credit", "eligibility?purpose=bid"):
        response = client.get(f"/api/v1/subjects/{firm['uscc']}/{path}", headers=tokens[role])
        assert response.status_code == status
