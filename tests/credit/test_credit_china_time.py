"""Credit rules count days in China Standard Time, on either side of midnight in Beijing."""

from __future__ import annotations

from datetime import timedelta

from tests.credit.conftest import basis


def beijing_day(moment):
    """The date on a wall calendar in Beijing at ``moment`` (naive UTC), worked out by hand."""
    return (moment + timedelta(hours=8)).date()


def test_a_listing_that_starts_today_bars_from_the_first_minute(reg, client, tokens, china_edge):
    firm = reg.org("今日失信")
    today = beijing_day(china_edge).isoformat()
    listing = reg.listing(firm, start=today, basis=basis(today))
    assert listing["status"] == "active"
    answer = reg.eligibility(firm, "bid")
    assert answer["eligible"] is False
    assert [r["rule"] for r in answer["reasons"]] == ["credit.blacklisted"]
    # The blacklists and the credit view default to today too.
    page = client.get("/api/v1/blacklist", headers=tokens["regulator"]).get_json()
    assert [e["subject_name"] for e in page["items"]] == ["今日失信"]
    assert len(client.get("/api/v1/public/blacklist").get_json()["items"]) == 1
    assert reg.credit(firm)["grade"] == "D"


def _dated(day) -> dict:
    return {
        "basis": basis(day.isoformat()),
        "effective_from": day.isoformat(),
        "effective_to": (day + timedelta(days=400)).isoformat(),
    }


def test_a_decision_dated_today_is_not_in_the_future(reg, china_edge):
    today = beijing_day(china_edge)
    record = reg.record(reg.org(), **_dated(today))
    assert record["basis"]["decided_on"] == today.isoformat()


def test_a_decision_dated_tomorrow_is(reg, china_edge):
    tomorrow = beijing_day(china_edge) + timedelta(days=1)
    response = reg.record(reg.org(), expect=422, **_dated(tomorrow))
    assert "basis.decided_on" in response["errors"]
