"""Commit before reveal: the commitment is public before anyone is chosen, the seed mixes
the server's committed secret with entropy supplied afterwards, and a tender has one live
draw per window until it is voided with a reason."""

from __future__ import annotations

import pytest
from expert_world import draw_body
from sqlalchemy import func, select

from experts.models import ExpertBooking

URL = "/api/v1/draws"


@pytest.fixture
def tender(world):
    tenderee = world.org("tenderee")
    bidders = [world.org() for _ in range(2)]
    world.experts(6)
    world.commit()
    return tenderee, bidders


def bookings(session) -> int:
    return session.scalar(
        select(func.count()).select_from(ExpertBooking).where(ExpertBooking.released_at.is_(None))
    )


def test_the_commitment_is_public_before_anyone_is_chosen(tender, centre, client, tokens, session):
    tenderee, bidders = tender
    body = draw_body(tenderee, bidders, backups=2, entropy={"kind": "supervisor"})
    committed = centre(body)
    assert committed.status_code == 201, committed.get_json()
    draw = committed.get_json()
    assert draw["state"] == "committed" and len(draw["commitment"]) == 64
    assert draw["experts"] == [] and draw["backups"] == []
    assert draw["entropy"] == {"kind": "supervisor", "name": None}
    assert bookings(session) == 0
    # Anyone who reads the audit trail sees the commitment, before the entropy exists.
    [entry] = client.get(
        f"/api/v1/audit?action=draw.commit&target_id={draw['id']}", headers=tokens["auditor"]
    ).get_json()["items"]
    assert entry["redacted"] is False
    assert entry["after"]["seed_commitment"] == draw["commitment"]
    assert entry["after"]["entropy"] == {"kind": "supervisor", "name": None}

    url = f"{URL}/{draw['id']}/entropy"
    refused = client.post(url, json={"value": "centre picks"}, headers=tokens["centre"])
    assert refused.status_code == 403 and refused.get_json()["rule"] == "draws.entropy_supplier"
    revealed = client.post(url, json={"value": "监督人 7 3 9 1"}, headers=tokens["regulator"])
    assert revealed.status_code == 200, revealed.get_json()
    assert revealed.get_json()["state"] == "drawn"
    assert revealed.get_json()["commitment"] == draw["commitment"]
    again = client.post(url, json={"value": "once more"}, headers=tokens["regulator"])
    assert again.status_code == 409 and again.get_json()["rule"] == "draws.awaiting_entropy"

    seen = client.get(f"{URL}/{draw['id']}", headers=tokens["centre"]).get_json()
    assert len(seen["experts"]) == 2 and len(seen["backups"]) == 2
    assert seen["commitment"] == draw["commitment"] and bookings(session) == 2
    answer = client.get(f"{URL}/{draw['id']}/verification", headers=tokens["centre"]).get_json()
    assert answer["match"] is True, answer
    [round0] = answer["rounds"]
    assert round0["scheme"] == "v2" and round0["revealed"] is True
    assert round0["entropy"]["kind"] == "supervisor"
    assert round0["entropy"]["value"] == "监督人 7 3 9 1"
    assert round0["entropy"]["development_only"] is False


def test_a_public_source_is_named_in_advance(tender, centre, client, tokens):
    tenderee, bidders = tender
    unnamed = centre(draw_body(tenderee, bidders, entropy={"kind": "public"}))
    assert unnamed.status_code == 422 and unnamed.get_json()["rule"] == "draws.entropy_source"
    source = {"kind": "public", "name": "中国福利彩票3D 2026年第330期开奖号码"}
    draw = centre(draw_body(tenderee, bidders, entropy=source)).get_json()
    assert draw["state"] == "committed"
    url = f"{URL}/{draw['id']}/entropy"
    assert client.post(
        url, json={"value": "5 0 8"}, headers=tokens["other_centre"]
    ).status_code == (404)
    revealed = client.post(url, json={"value": "5 0 8"}, headers=tokens["centre"])
    assert revealed.status_code == 200 and revealed.get_json()["state"] == "drawn"
    answer = client.get(f"{URL}/{draw['id']}/verification", headers=tokens["centre"]).get_json()
    assert answer["match"] is True
    assert answer["rounds"][0]["entropy"]["name"] == source["name"]


def test_server_entropy_is_marked_as_development_only(tender, centre, client, tokens):
    tenderee, bidders = tender
    draw = centre(draw_body(tenderee, bidders)).get_json()
    assert draw["state"] == "drawn" and len(draw["experts"]) == 2
    answer = client.get(f"{URL}/{draw['id']}/verification", headers=tokens["centre"]).get_json()
    assert answer["match"] is True
    assert answer["rounds"][0]["entropy"]["kind"] == "server"
    assert answer["rounds"][0]["entropy"]["development_only"] is True


def test_a_centre_configured_for_a_supervisor_cannot_fall_back_to_the_server(tender, centre, app):
    tenderee, bidders = tender
    app.config["DRAW_ENTROPY_BY_CENTRE"] = "91110000600037341L=supervisor"
    refused = centre(draw_body(tenderee, bidders, entropy={"kind": "server"}))
    assert refused.status_code == 422 and refused.get_json()["rule"] == "draws.entropy_source"
    default = centre(draw_body(tenderee, bidders))
    assert default.status_code == 201 and default.get_json()["state"] == "committed"
    assert default.get_json()["entropy"]["kind"] == "supervisor"


def test_one_live_draw_per_tender_and_window_until_voided(tender, centre, client, tokens, session):
    tenderee, bidders = tender
    body = draw_body(tenderee, bidders, tender_ref="SHOP-1")
    first = centre(body).get_json()
    second = centre(body)
    assert second.status_code == 409 and second.get_json()["rule"] == "draws.one_live_draw"
    assert str(first["id"]) in second.get_json()["message"]
    void_url = f"{URL}/{first['id']}/void"
    missing = client.post(void_url, json={"reason": "抽取时监督人未到场"}, headers=tokens["centre"])
    assert missing.status_code == 422
    voided = client.post(
        void_url,
        json={"reason": "抽取时监督人未到场", "basis": "公管办〔2026〕12号"},
        headers=tokens["centre"],
    )
    assert voided.status_code == 200 and voided.get_json()["state"] == "void"
    assert bookings(session) == 0  # the voided draw's experts are free again
    again = client.post(void_url, json={"reason": "x", "basis": "y"}, headers=tokens["centre"])
    assert again.status_code == 409 and again.get_json()["rule"] == "draws.void_once"
    redrawn = centre(body)
    assert redrawn.status_code == 201, redrawn.get_json()
    history = redrawn.get_json()["tender_draws"]
    assert [(d["id"], d["state"]) for d in history] == [
        (first["id"], "void"),
        (redrawn.get_json()["id"], "drawn"),
    ]
    assert history[0]["void_reason"] == "抽取时监督人未到场"
    old = client.get(f"{URL}/{first['id']}", headers=tokens["centre"]).get_json()
    assert old["state"] == "void" and old["void"]["basis"] == "公管办〔2026〕12号"
