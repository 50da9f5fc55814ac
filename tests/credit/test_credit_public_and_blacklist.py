"""The regulators' blacklist query (filters, pages, CSV) and the public, masked views."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from credit.identifiers import mask_resident_id
from tests.credit.conftest import basis
from trading import clock


def _recent(days: int) -> str:
    return (clock.today() - timedelta(days=days)).isoformat()


def test_the_blacklist_is_filtered_by_sector_region_and_date(reg, client, tokens):
    national, jiangsu, land = reg.org("全国失信"), reg.org("江苏失信"), reg.org("土地失信")
    lifted = reg.org("已移出")
    reg.listing(national)
    reg.listing(jiangsu, regions=["320000"])
    reg.listing(land, sectors=["land"])
    listing = reg.listing(lifted)
    reg.post(f"/listings/{listing['id']}/lifts", {"basis": basis("2024-04-01")}, 201)
    reg.listing(reg.org("异常"), list="abnormal")

    def names(**query):
        query.setdefault("on", "2024-05-01")
        response = client.get("/api/v1/blacklist", query_string=query, headers=tokens["regulator"])
        assert response.status_code == 200, response.get_json()
        return sorted(e["subject_name"] for e in response.get_json()["items"])

    assert names() == ["全国失信", "土地失信", "江苏失信"]
    assert names(region="320102", sector="construction") == ["全国失信", "江苏失信"]
    assert names(region="310104", sector="land") == ["全国失信", "土地失信"]
    assert names(on="2024-03-15") == sorted(["全国失信", "土地失信", "江苏失信", "已移出"])
    assert names(on="2024-02-01") == []
    assert names(list="abnormal") == ["异常"]
    page = client.get(
        "/api/v1/blacklist",
        query_string={"on": "2024-05-01", "page_size": 2},
        headers=tokens["regulator"],
    ).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2


def test_the_blacklist_exports_as_csv(reg, client, tokens):
    person = reg.person("王失信")
    reg.listing(person, regions=["110000", "120000"], sectors=["construction", "land"])
    reg.listing(reg.org("失信公司"))
    for kwargs in (
        {"headers": {**tokens["centre"], "Accept": "text/csv"}},
        {"headers": tokens["centre"], "query_string": {"format": "csv"}},
    ):
        query = {"on": "2024-05-01", **kwargs.pop("query_string", {})}
        response = client.get("/api/v1/blacklist", query_string=query, **kwargs)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert sorted(r["name"] for r in rows) == ["失信公司", "王失信"]
        row = next(r for r in rows if r["name"] == "王失信")
        assert row["id_number"] == mask_resident_id(person["id_number"])  # centre: masked
        assert row["regions"] == "110000;120000" and row["basis.document_no"]


def test_the_public_view_needs_no_token_and_shows_only_what_is_in_publicity(reg, client):
    firm = reg.org("公开公司")
    reg.record(
        firm,
        category="poor_performance",
        severity="minor",
        effective_from="2024-01-01",
        effective_to="2024-03-31",
        basis=basis("2024-01-01"),
    )  # expired long ago
    current = reg.record(
        firm,
        category="collusion",
        severity="serious",
        effective_from=_recent(30),
        effective_to=None,
        basis=basis(_recent(30)),
    )
    response = client.get(f"/api/v1/public/subjects/{firm['uscc']}/credit")
    assert response.status_code == 200
    view = response.get_json()
    assert [r["id"] for r in view["records"]] == [current["id"]]
    assert "source" not in view["records"][0]
    assert view["grade"] == "C" and view["score"] == 60
    assert client.get("/api/v1/public/subjects/91110000MA00000000/credit").status_code == 404


def test_the_public_view_masks_people(reg, client):
    person = reg.person("李明")
    reg.listing(person, start=_recent(10), basis=basis(_recent(10)))
    page = client.get("/api/v1/public/blacklist").get_json()
    entry = next(e for e in page["items"] if e["subject"] == person["id"])
    assert entry["subject_id_number"] == mask_resident_id(person["id_number"])
    assert entry["subject_name"] == "李*"
    assert person["id_number"] not in str(page)
    # People are not looked up by ID number in public.
    response = client.get(f"/api/v1/public/subjects/{person['id_number']}/credit")
    assert response.status_code == 404
