"""A subject's life: renames keep former names searchable; a deregistered or revoked
organisation cannot bid or act as agency from that day."""

from __future__ import annotations

from datetime import timedelta

from tests.credit.conftest import basis
from trading import clock


def test_a_rename_keeps_the_former_name_searchable(reg, client, tokens):
    firm = reg.org("北京老名字建设有限公司")
    renamed = reg.post(
        f"/subjects/{firm['id']}/renames",
        {"name": "北京新名字建设集团有限公司", "reason": "名称变更登记"},
        201,
    ).get_json()
    assert renamed["name"] == "北京新名字建设集团有限公司"
    assert renamed["former_names"][0]["name"] == "北京老名字建设有限公司"
    assert renamed["former_names"][0]["until"] == (clock.today() - timedelta(days=1)).isoformat()
    for q in ("老名字", "新名字"):
        found = client.get("/api/v1/subjects", query_string={"q": q}, headers=tokens["centre"])
        assert [s["id"] for s in found.get_json()["items"]] == [firm["id"]], q
    shown = client.get(f"/api/v1/subjects/{firm['id']}", headers=tokens["centre"]).get_json()
    assert [n["name"] for n in shown["former_names"]] == ["北京老名字建设有限公司"]
    same = reg.post(f"/subjects/{firm['id']}/renames", {"name": "北京新名字建设集团有限公司"}, 422)
    assert same.get_json()["rule"] == "credit.rename_valid"


def test_a_deregistered_organisation_no_longer_bids_from_that_day(reg):
    firm = reg.org("即将注销的建设公司")
    today = clock.today()
    assert reg.eligibility(firm, "bid")["eligible"] is True
    ended = reg.post(
        f"/subjects/{firm['id']}/end",
        {
            "kind": "deregistered",
            "on": today.isoformat(),
            "basis": basis(today.isoformat(), "注〔1〕"),
        },
        201,
    ).get_json()
    assert ended["ended_on"] == today.isoformat() and ended["end_kind"] == "deregistered"
    answer = reg.eligibility(firm, "bid")
    assert answer["eligible"] is False
    assert [r["rule"] for r in answer["reasons"]] == ["credit.subject_ended"]
    # The day before, it still could.
    before = reg.eligibility(firm, "bid", on=(today - timedelta(days=1)).isoformat())
    assert before["eligible"] is True
    again = reg.post(
        f"/subjects/{firm['id']}/end",
        {"kind": "revoked", "on": today.isoformat(), "basis": basis(today.isoformat(), "吊〔1〕")},
        409,
    )
    assert again.get_json()["rule"] == "credit.subject_ended_once"


def test_the_batch_screen_knows_an_ended_organisation_too(reg, client, tokens):
    firm = reg.org("被吊销执照的公司")
    day = clock.today().isoformat()
    reg.post(
        f"/subjects/{firm['id']}/end",
        {"kind": "revoked", "on": day, "basis": basis(day, "吊〔2〕")},
        201,
    )
    screened = client.post(
        "/api/v1/eligibility",
        json={"purpose": "bid", "subjects": [firm["uscc"]]},
        headers=tokens["centre"],
    )
    assert screened.status_code == 200, screened.get_json()
    (result,) = screened.get_json()["results"]
    assert result["eligible"] is False
    assert [r["rule"] for r in result["reasons"]] == ["credit.subject_ended"]


def test_a_person_is_not_deregistered_and_no_end_is_in_the_future(reg):
    person = reg.person("不是企业")
    day = clock.today().isoformat()
    refused = reg.post(
        f"/subjects/{person['id']}/end",
        {"kind": "deregistered", "on": day, "basis": basis(day, "注〔3〕")},
        422,
    )
    assert refused.get_json()["rule"] == "credit.end_valid"
    firm = reg.org("未来注销公司")
    later = (clock.today() + timedelta(days=3)).isoformat()
    future = reg.post(
        f"/subjects/{firm['id']}/end",
        {"kind": "deregistered", "on": later, "basis": basis(day, "注〔4〕")},
        422,
    )
    assert "on" in future.get_json()["errors"]
