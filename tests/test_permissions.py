"""Least privilege: the role x operation matrix (trading/permissions.py) holds for every
operation and every caller, and it is the design's roles table, tightened where a role
reached further (auditors and the credit files, regulators and expert ID numbers or scans,
one centre and another's tender)."""

from __future__ import annotations

import random
import re

from credit.identifiers import make_resident_id, make_uscc
from tests.conftest import OTHER_CENTRE_USCC
from trading.permissions import OPERATIONS, PUBLIC

CALLERS = (None, "admin", "centre", "regulator", "auditor")


def _operations(app) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) of every operation in the OpenAPI document."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    adapter = app.url_map.bind("localhost")
    found = []
    for path, item in document["paths"].items():
        concrete = re.sub(r"{\w+}", "1", path)
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                endpoint, _ = adapter.match(concrete, method=method.upper())
                found.append((method.upper(), path, endpoint))
    return found


def test_every_operation_has_its_cell_in_the_matrix(app):
    guarded = {e for _m, p, e in _operations(app) if p not in ("/healthz", "/readyz")}
    assert guarded == set(OPERATIONS), guarded ^ set(OPERATIONS)


def test_every_cell_of_the_matrix_holds(app, tokens):
    client = app.test_client()
    checked = 0
    for method, path, endpoint in _operations(app):
        if path in ("/healthz", "/readyz"):
            continue
        roles = OPERATIONS[endpoint]
        url = re.sub(r"{\w+}", "1", path)
        kw = {"json": {}} if method in ("POST", "PATCH") else {}
        for caller in CALLERS:
            headers = tokens[caller] if caller else {}
            response = client.open(url, method=method, headers=headers, **kw)
            body = response.get_json(silent=True)
            body = body if isinstance(body, dict) else {}
            refused = response.status_code == 403 and body.get("rule") == "auth.role_allowed"
            what = (method, path, caller, response.status_code, body.get("rule"))
            if roles is PUBLIC:
                assert response.status_code != 401 and not refused, what
            elif caller is None:
                assert response.status_code == 401, what
            elif caller == "admin" or caller in roles:
                assert response.status_code != 401 and not refused, what
            else:
                assert refused, what
            checked += 1
    assert checked >= 50 * len(CALLERS)


#: The design's roles table, where the service once reached further.
NOT_GRANTED = {
    "auditor": [
        "credit.list_subjects",
        "credit.get_subject",
        "credit.get_record",
        "credit.get_listing",
        "credit.credit",
        "credit.blacklist",
        "credit.subject_eligibility",
        "credit.screen_eligibility",
        "credit.exchange_changes",
    ],
    "regulator": ["collusion.create_scan"],
    "centre": ["collusion.list_alerts", "collusion.review_alert", "audit.list_audit"],
}


def test_the_matrix_gives_no_role_what_the_design_does_not():
    for role, endpoints in NOT_GRANTED.items():
        for endpoint in endpoints:
            assert role not in (OPERATIONS[endpoint] or ()), (role, endpoint)


def test_least_privilege_at_the_api(client, tokens, session):
    """The same, as callers see it: auditors are refused the credit files and the feed,
    regulators market-wide and tender scans and full expert ID numbers, and one centre the
    scan of another centre's tender."""
    rng = random.Random(70)
    firm = make_uscc(rng, "110105")
    made = client.post(
        "/api/v1/subjects",
        json={"kind": "bidder", "name": "权限测试公司", "uscc": firm, "region": "110105"},
        headers=tokens["regulator"],
    )
    assert made.status_code == 201, made.get_json()
    for url in (
        "/api/v1/subjects",
        f"/api/v1/subjects/{firm}",
        f"/api/v1/subjects/{firm}/credit",
        f"/api/v1/subjects/{firm}/eligibility?purpose=bid",
        "/api/v1/blacklist",
        "/api/v1/exchange/changes",
    ):
        response = client.get(url, headers=tokens["auditor"])
        assert response.status_code == 403, (url, response.status_code)
        assert client.get(url, headers=tokens["regulator"]).status_code == 200, url

    # A tender of the other centre: the centre that runs it scans it, no other does.
    tenderee, agency = make_uscc(rng, "110105"), make_uscc(rng, "110105")
    for uscc, kind in ((tenderee, "tenderee"), (agency, "agency")):
        client.post(
            "/api/v1/subjects",
            json={"kind": kind, "name": f"权限{kind}", "uscc": uscc, "region": "110105"},
            headers=tokens["regulator"],
        )
    tender = client.post(
        "/api/v1/tenders",
        json={
            "ref": "PERM-1",
            "title": "权限测试标段",
            "tenderee": tenderee,
            "agency": agency,
            "sector": "construction",
            "region": "110105",
            "specialty": "A0801",
            "estimate": "1000000",
            "deadline": "2026-01-10T02:00:00Z",
            "opening_at": "2026-01-10T02:00:00Z",
        },
        headers=tokens["other_centre"],
    )
    assert tender.status_code == 201, tender.get_json()
    assert tender.get_json()["centre"] == OTHER_CENTRE_USCC
    scans = "/api/v1/collusion/scans"
    other = client.post(scans, json={"tender_ref": "PERM-1"}, headers=tokens["centre"])
    assert other.status_code == 403 and other.get_json()["rule"] == "tenders.own_centre"
    own = client.post(scans, json={"tender_ref": "PERM-1"}, headers=tokens["other_centre"])
    assert own.status_code == 200, own.get_json()
    assert (
        client.post(scans, json={"tender_ref": "PERM-1"}, headers=tokens["auditor"]).status_code
        == 200
    )
    for body in ({}, {"tender_ref": "PERM-1"}):
        refused = client.post(scans, json=body, headers=tokens["regulator"])
        assert refused.status_code == 403, (body, refused.get_json())

    # Regulators supervise the expert pool, with ID numbers masked; admins see them whole.
    number = make_resident_id(rng, "110105")
    expert = client.post(
        "/api/v1/experts",
        json={
            "name": "权限专家",
            "id_number": number,
            "region": "110105",
            "specialties": ["A0801"],
            "employer": firm,
        },
        headers=tokens["admin"],
    )
    assert expert.status_code == 201, expert.get_json()
    url = f"/api/v1/experts/{expert.get_json()['id']}"
    assert client.get(url, headers=tokens["admin"]).get_json()["id_number"] == number
    seen = client.get(url, headers=tokens["regulator"]).get_json()["id_number"]
    assert seen != number and seen[:4] == number[:4] and "*" in seen
    listed = client.get("/api/v1/experts", headers=tokens["regulator"]).get_json()["items"]
    assert all(number != item.get("id_number") for item in listed)
