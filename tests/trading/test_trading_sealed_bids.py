"""Bids stay sealed until the opening time (招标投标法 arts. 22, 36)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.console.conftest import Browser
from tests.trading.conftest import now
from trading import clock

SCANS = "/api/v1/collusion/scans"


def _open_tender_with_bids(trading, n: int = 3):
    tender = trading.tender(deadline=now() + timedelta(days=2))
    bidders = [trading.org("bidder", f"密封投标企业{k}") for k in range(n)]
    for k, bidder in enumerate(bidders):
        submitted = (now() - timedelta(minutes=5 + k)).isoformat() + "Z"
        trading.bid(tender, bidder, f"{950000 + k * 1000}.00", submitted_at=submitted)
    return tender, bidders


def _opening(tender: dict) -> datetime:
    return datetime.fromisoformat(tender["opening_at"]).replace(tzinfo=None)


def test_before_opening_nobody_reads_bidders_or_prices(trading, client, tokens):
    tender, bidders = _open_tender_with_bids(trading)
    own = trading.get(tender["ref"], "centre")
    assert own["bids"] == [] and own["bid_count"] == 3
    assert own["sealed_until"] == tender["opening_at"]
    assert own["suspicion"] is None and own["collusion_score"] is None
    for role in ("other_centre", "regulator", "auditor"):
        seen = trading.get(tender["ref"], role)
        assert seen["bids"] == [] and seen["bid_count"] is None, role
        assert seen["sealed_until"] is not None and "screens" not in seen
    text = str(trading.get(tender["ref"], "other_centre"))
    assert all(b.uscc not in text for b in bidders) and "950000" not in text


def test_at_the_opening_the_bids_are_read_by_everyone(trading, tokens):
    tender, bidders = _open_tender_with_bids(trading)
    with clock.frozen(_opening(tender) + timedelta(minutes=1)):
        for role in ("centre", "other_centre", "regulator", "auditor"):
            seen = trading.get(tender["ref"], role)
            assert seen["sealed_until"] is None and seen["bid_count"] == 3, role
            assert {b["bidder"]["uscc"] for b in seen["bids"]} == {b.uscc for b in bidders}


def test_lists_do_not_tell_who_bid_in_a_sealed_tender(trading, client, tokens):
    tender, bidders = _open_tender_with_bids(trading)
    query = {"bidder": bidders[0].uscc}

    def refs(role: str) -> list[str]:
        listed = client.get("/api/v1/tenders", query_string=query, headers=tokens[role])
        assert listed.status_code == 200, listed.get_json()
        return [t["ref"] for t in listed.get_json()["items"]]

    assert refs("centre") == [tender["ref"]]
    assert refs("other_centre") == [] and refs("regulator") == [] and refs("auditor") == []
    everything = client.get("/api/v1/tenders", headers=tokens["other_centre"]).get_json()
    row = next(t for t in everything["items"] if t["ref"] == tender["ref"])
    assert row["bid_count"] is None and row["suspicion"] is None
    with clock.frozen(_opening(tender) + timedelta(minutes=1)):
        assert refs("other_centre") == [tender["ref"]]


def test_a_sealed_tender_is_scanned_only_by_its_centre_or_an_auditor(trading, client, tokens):
    tender, _ = _open_tender_with_bids(trading)
    # Regulators start no scans at all, and another centre scans none of this centre's
    # tenders (least privilege), sealed or not.
    for role, rule in (("regulator", "auth.role_allowed"), ("other_centre", "tenders.own_centre")):
        refused = client.post(SCANS, json={"tender_ref": tender["ref"]}, headers=tokens[role])
        assert refused.status_code == 403, (role, refused.get_json())
        assert refused.get_json()["rule"] == rule
    for role in ("centre", "auditor"):
        done = client.post(SCANS, json={"tender_ref": tender["ref"]}, headers=tokens[role])
        assert done.status_code == 200, (role, done.get_json())
        assert "950000" not in done.get_data(as_text=True)


def test_the_console_shows_a_sealed_tender_without_its_bids(trading, app, tokens):
    tender, bidders = _open_tender_with_bids(trading)
    browser = Browser(app.test_client())
    browser.sign_in(tokens["other_centre"]["Authorization"].split()[1])
    page = browser.get(f"/tenders/{tender['ref']}")
    assert page.status_code == 200
    assert "投标文件密封至" in page.text and bidders[0].name not in page.text
    assert "已收到" not in page.text  # the count is for the owning centre only
