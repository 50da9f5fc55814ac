"""Batch screening (POST /eligibility) and name matching (issue 12)."""

from __future__ import annotations

import pytest

from credit.names import name_key, rank
from tests.credit.conftest import basis


@pytest.mark.parametrize(
    "typed",
    [
        "北京市建設工程（集團）有限公司",  # traditional, full-width brackets
        "北京市建设工程(集团)有限责任公司",  # another legal form
        "北京市 建设工程 集团 股份有限公司",  # spaces
        "北京市建设工程【集团】",  # other brackets, no legal form
    ],
)
def test_names_are_folded_to_one_key(typed):
    assert name_key(typed) == name_key("北京市建设工程集团有限公司") == "北京市建设工程集团"


def test_full_width_latin_letters_and_case_fold():
    assert name_key("ＡＢＣ科技有限公司") == name_key("abc 科技 Co., Ltd.") == "abc科技"


def test_candidates_are_ranked_by_similarity():
    ranked = rank("北京建工", [(1, "上海建工集团"), (2, "北京建工一公司"), (3, "北京市建工集团")])
    assert [item for item, _score in ranked][0] == 2
    assert ranked[0][1] > ranked[-1][1]


def _screen(reg, subjects, **extra):
    body = {"purpose": "bid", "on": "2024-05-01", "subjects": subjects, **extra}
    response = reg.client.post("/api/v1/eligibility", json=body, headers=reg.tokens["centre"])
    return response


def test_a_batch_mixes_usccs_id_numbers_and_names_and_keeps_the_order(reg):
    clean = reg.org("北京清白建设有限公司")
    barred = reg.org("北京失信建设有限公司")
    reg.listing(barred)
    person = reg.person("张三")
    response = _screen(
        reg,
        [barred["uscc"], "北京清白建設（有限公司）", person["id_number"], "不存在的公司"],
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["matched_by"] for r in results] == ["uscc", "name", "id_number", "name"]
    assert results[0]["eligible"] is False
    assert [x["rule"] for x in results[0]["reasons"]] == ["credit.blacklisted"]
    assert results[1]["eligible"] is True and results[1]["subjects"][0]["id"] == clean["id"]
    # A person cannot bid: the same reason the single gate gives.
    assert results[2]["eligible"] is False
    assert results[2]["reasons"][0]["rule"] == "credit.subject_kind"
    assert results[3]["found"] is False and results[3]["eligible"] is None
    assert results[3]["reasons"][0]["rule"] == "credit.subject_exists"


def test_a_batch_answers_as_the_single_gate_does(reg):
    firms = [reg.org(f"对照公司{i}") for i in range(6)]
    reg.listing(firms[1])
    reg.listing(firms[2], list="abnormal")
    reg.record(firms[3], category="fraud", severity="serious")
    results = _screen(reg, [f["uscc"] for f in firms]).get_json()["results"]
    for firm, result in zip(firms, results, strict=True):
        single = reg.eligibility(firm, "bid", on="2024-05-01")
        assert (result["eligible"], result["reasons"]) == (single["eligible"], single["reasons"])


def test_a_name_shared_by_two_subjects_is_not_called_eligible(reg):
    one = reg.org("同名工程有限公司", region="110105")
    two = reg.org("同名工程（有限责任公司）", region="310104")
    result = _screen(reg, ["同名工程有限公司"]).get_json()["results"][0]
    assert result["eligible"] is None and result["reasons"][0]["rule"] == "credit.name_ambiguous"
    assert sorted(s["id"] for s in result["subjects"]) == sorted([one["id"], two["id"]])
    assert result["subjects"][0]["score"] >= result["subjects"][1]["score"]


def test_a_batch_is_1_to_1000_subjects(reg):
    assert _screen(reg, []).status_code == 422
    assert _screen(reg, ["x"] * 1001).status_code == 422
    assert _screen(reg, ["91110000600037341L"] * 1000).status_code == 200
    assert _screen(reg, ["x"], purpose="nope").status_code == 422


def test_the_public_may_not_screen(client):
    body = {"purpose": "bid", "subjects": ["x"]}
    assert client.post("/api/v1/eligibility", json=body).status_code == 401


def test_names_imported_from_another_platform_are_matched_too(reg, client, tokens):
    import json
    import random

    from credit.identifiers import make_uscc

    row = {
        "type": "subject",
        "source": {"platform": "p9", "id": "S1"},
        "kind": "bidder",
        "name": "導入測試有限公司",
        "uscc": make_uscc(random.Random(99), "110105"),
    }
    client.post(
        "/api/v1/exchange/imports",
        data=json.dumps(row, ensure_ascii=False) + "\n",
        content_type="application/x-ndjson",
        headers=tokens["regulator"],
    )
    result = _screen(reg, ["导入测试公司"]).get_json()["results"][0]
    assert result["found"] and result["subjects"][0]["uscc"] == row["uscc"]
    assert basis()


def test_subject_search_folds_and_ranks_names(reg, client, tokens):
    best = reg.org("北京市建设工程集团有限公司")
    other = reg.org("北京市建设工程集团第二分公司")
    reg.org("上海某公司")
    response = client.get(
        "/api/v1/subjects", query_string={"q": "北京市建設工程（集團）"}, headers=tokens["centre"]
    )
    page = response.get_json()
    assert response.status_code == 200, page
    assert [s["id"] for s in page["items"]] == [best["id"], other["id"]]
    assert page["items"][0]["score"] >= page["items"][1]["score"] and page["total"] == 2


def test_the_public_blacklist_finds_an_organisation_by_its_folded_name(reg, client):
    from datetime import date, timedelta

    recent = (date.today() - timedelta(days=10)).isoformat()
    reg.listing(reg.org("臺灣路橋（集團）有限公司"), start=recent, basis=basis(recent))
    items = client.get("/api/v1/public/blacklist", query_string={"q": "台湾路桥集团"}).get_json()
    assert [e["subject_name"] for e in items["items"]] == ["臺灣路橋（集團）有限公司"]
