"""Listings: a basis to list and to lift, lifted once, scoped, status derived from dates."""

from __future__ import annotations

from tests.credit.conftest import basis


def test_listing_and_lifting_need_a_basis(reg):
    firm = reg.org()
    response = reg.post(
        f"/subjects/{firm['id']}/listings", {"list": "blacklist", "start": "2024-03-01"}, 422
    )
    assert "basis" in response.get_json()["errors"]
    listing = reg.listing(firm)
    assert listing["status"] == "active" and listing["lift"] is None
    response = reg.post(f"/listings/{listing['id']}/lifts", {"on": "2024-09-01"}, 422)
    assert "basis" in response.get_json()["errors"]
    response = reg.post(
        f"/listings/{listing['id']}/lifts",
        {"basis": {"authority": "某局", "decided_on": "2024-09-01"}},
        422,
    )
    assert "basis.document_no" in response.get_json()["errors"]


def test_a_lifted_listing_cannot_be_lifted_again(reg):
    listing = reg.listing(reg.org())
    lifted = reg.post(
        f"/listings/{listing['id']}/lifts",
        {"basis": basis("2024-09-01", "移出〔2024〕1号"), "on": "2024-09-01"},
        201,
    ).get_json()
    assert lifted["lift"]["on"] == "2024-09-01" and lifted["status"] == "lifted"
    again = reg.post(f"/listings/{listing['id']}/lifts", {"basis": basis("2024-10-01")}, 409)
    assert again.get_json()["rule"] == "credit.lift_once"
    assert reg.post("/listings/999999/lifts", {"basis": basis()}).status_code == 404


def test_a_lift_before_the_start_is_422_and_after_the_end_409(reg):
    listing = reg.listing(reg.org(), start="2024-03-01", end="2024-06-30")
    response = reg.post(
        f"/listings/{listing['id']}/lifts", {"basis": basis("2024-02-01"), "on": "2024-02-01"}, 422
    )
    assert "on" in response.get_json()["errors"]
    reg.post(f"/listings/{listing['id']}/lifts", {"basis": basis("2024-07-05")}, 409)


def test_status_on_any_date_is_derived_from_the_dates(reg, client, tokens):
    firm = reg.org()
    listing = reg.listing(firm, start="2024-03-01", basis=basis("2024-02-20"))
    reg.post(f"/listings/{listing['id']}/lifts", {"basis": basis("2024-09-01")}, 201)

    def status(on):
        view = reg.credit(firm, on)
        return view["listings"][0]["status"], view["grade"]

    assert status("2024-02-29") == ("pending", "A")
    assert status("2024-05-01") == ("active", "D")
    assert status("2024-09-01") == ("lifted", "A")
    # The history of moves stays readable: the listing and its lift, both with their basis.
    seen = client.get(f"/api/v1/listings/{listing['id']}", headers=tokens["centre"]).get_json()
    assert seen["basis"]["decided_on"] == "2024-02-20" and seen["lift"]["on"] == "2024-09-01"


def test_a_listing_with_an_end_expires_by_itself(reg):
    firm = reg.org()
    reg.listing(firm, list="abnormal", start="2024-03-01", end="2024-05-31")
    assert not reg.eligibility(firm, "bid", on="2024-05-31")["eligible"]
    assert reg.eligibility(firm, "bid", on="2024-06-01")["eligible"]
    assert reg.credit(firm, "2024-06-01")["listings"][0]["status"] == "ended"


def test_a_listing_is_scoped_by_sector_and_region(reg):
    firm = reg.org()
    reg.listing(firm, sectors=["construction"], regions=["320000"])  # 江苏省, construction
    nanjing, shanghai = "320102", "310104"

    def eligible(**q):
        return reg.eligibility(firm, "bid", on="2024-05-01", **q)["eligible"]

    assert not eligible(sector="construction", region=nanjing)  # a county of the province
    assert eligible(sector="procurement", region=nanjing)  # another sector
    assert eligible(sector="construction", region=shanghai)  # another province
    # Without a sector or region the act may be in scope: the listing counts.
    assert not eligible()
    assert not eligible(region=nanjing)


def test_a_prefecture_scope_covers_its_counties_only(reg):
    firm = reg.org()
    reg.listing(firm, regions=["320100"])  # 南京市
    assert not reg.eligibility(firm, "bid", on="2024-05-01", region="320102")["eligible"]
    assert reg.eligibility(firm, "bid", on="2024-05-01", region="320205")["eligible"]  # 无锡


def test_bad_scopes_are_422(reg):
    firm = reg.org()
    response = reg.listing(firm, expect=422, sectors=["roads"], regions=["12345"])
    assert {"sectors", "regions"} <= set(response["errors"])
    response = reg.listing(firm, expect=422, list="greylist")
    assert "list" in response["errors"]
