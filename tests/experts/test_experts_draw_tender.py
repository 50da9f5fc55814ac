"""A draw is for a registered tender that is still open, run by the drawing centre, whose
agency may act; anything else must say explicitly that it is an external project."""

from __future__ import annotations

from datetime import timedelta

import pytest
from expert_world import CENTRE_USCC, draw_body

from credit import services as credit
from experts.models import DrawGroup, DrawRound
from trading import clock
from trading import services as tenders
from trading.services import Caller

CENTRE = Caller("centre:test-centre", "centre", CENTRE_USCC)


@pytest.fixture
def parties(world):
    tenderee = world.org("tenderee")
    agency = world.org("agency")
    bidders = [world.org() for _ in range(2)]
    world.experts(4)
    return tenderee, agency, bidders


def register(session, ref, tenderee, agency, bidders=(), caller=CENTRE, deadline_days=5):
    now = clock.now()
    deadline = now + timedelta(days=deadline_days)
    tenders.create_tender(
        session,
        {
            "ref": ref,
            "title": f"project {ref}",
            "tenderee": tenderee.uscc,
            "agency": agency.uscc,
            "sector": "construction",
            "region": "110105",
            "specialty": "A0101",
            "estimate": None,
            "deadline": deadline,
            "opening_at": deadline,
        },
        caller,
    )
    submitted = min(now, deadline) - timedelta(minutes=1)
    for bidder in bidders:
        tenders.register_bid(
            session, ref, {"bidder": bidder.uscc, "price": "100", "submitted_at": submitted}, caller
        )
    session.commit()


def body_for(ref, tenderee, agency=None, bidders=(), **extra):
    extra.setdefault("external_project", None)
    body = draw_body(tenderee, bidders, seats=(("A0101", 1),), backups=1, tender_ref=ref, **extra)
    if body["external_project"] is None:
        del body["external_project"]
    if agency is not None:
        body["agency"] = agency.uscc
    return body


def test_an_unregistered_tender_is_refused_unless_declared_external(parties, centre):
    tenderee, agency, _ = parties
    refused = centre(body_for("NOWHERE-1", tenderee, agency))
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["rule"] == "draws.tender_registered"
    assert "tender_ref" in refused.get_json()["errors"]
    external = body_for(
        "NOWHERE-1", tenderee, agency, external_project={"name": "某县农村公路改造（非进场项目）"}
    )
    drawn = centre(external)
    assert drawn.status_code == 201, drawn.get_json()
    assert drawn.get_json()["external_project"] == {"name": "某县农村公路改造（非进场项目）"}


def test_a_registered_tender_cannot_be_called_external(parties, centre, session):
    tenderee, agency, _ = parties
    register(session, "REG-1", tenderee, agency)
    refused = centre(body_for("REG-1", tenderee, agency, external_project={"name": "x"}))
    assert refused.status_code == 422
    assert refused.get_json()["rule"] == "draws.external_not_registered"


def test_an_open_registered_tender_is_drawn_with_its_own_parties(parties, centre, session, world):
    tenderee, agency, bidders = parties
    # An expert employed by a bidder the request leaves out is still excluded: the
    # tender's registered bidders are parties whatever the request lists.
    conflicted = world.expert(employer=bidders[1].uscc)
    register(session, "REG-2", tenderee, agency, bidders)
    drawn = centre(body_for("REG-2", tenderee, bidders=[bidders[0]]))
    assert drawn.status_code == 201, drawn.get_json()
    group = (
        session.query(DrawGroup)
        .join(DrawRound)
        .filter(DrawRound.draw_id == drawn.get_json()["id"])
        .one()
    )
    excluded = {item["expert_id"]: item["reasons"] for item in group.exclusions}
    assert excluded[conflicted.id][0]["rule"] == "conflict.employment"
    mismatch = centre(body_for("REG-2", world.org("tenderee"), agency))
    assert mismatch.status_code == 422
    assert mismatch.get_json()["rule"] == "draws.parties_match_tender"
    assert "tenderee" in mismatch.get_json()["errors"]


def test_an_awarded_tender_is_refused(parties, centre, session):
    tenderee, agency, bidders = parties
    register(session, "DONE-1", tenderee, agency, bidders, deadline_days=-1)
    tenders.award_tender(session, "DONE-1", {"bidder": bidders[0].uscc}, CENTRE)
    session.commit()
    refused = centre(body_for("DONE-1", tenderee, agency))
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["rule"] == "draws.tender_open"


def test_another_centres_tender_is_refused(parties, centre, session):
    tenderee, agency, _ = parties
    other = Caller("centre:other", "centre", "91310000MA1FL0BX7Q")
    register(session, "THEIRS-1", tenderee, agency, caller=other)
    refused = centre(body_for("THEIRS-1", tenderee, agency))
    assert refused.status_code == 403
    assert refused.get_json()["rule"] == "draws.own_tender"


@pytest.mark.parametrize("external", [False, True])
def test_an_ineligible_agency_is_refused(external, parties, centre, session):
    tenderee, agency, _ = parties
    if not external:
        register(session, "AG-1", tenderee, agency)
    today = clock.today()
    credit.list_subject(
        session,
        agency,
        {
            "list": "blacklist",
            "basis": {
                "authority": "北京市住房和城乡建设委员会",
                "document_no": "京建法〔2026〕9号",
                "decided_on": today.isoformat(),
            },
            "start": today.isoformat(),
        },
    )
    session.commit()
    extra = {"external_project": {"name": "外部项目"}} if external else {}
    refused = centre(body_for("AG-1", tenderee, agency, **extra))
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["rule"] == "draws.agency_eligible"
    assert refused.get_json()["errors"]["agency"]
