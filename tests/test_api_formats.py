"""Every read of real data matches the OpenAPI document, formats included.

Generated input (``test_api_fuzz``) rarely reaches stored rows, so this walks every GET
operation over the demo data with identifiers that exist, as every caller, and checks each
answer against the document with format validation on: a timestamp without its offset
(``2026-12-03T08:04:59``, as SQLite hands naive values back) is not RFC 3339 and fails.
"""

from __future__ import annotations

import random
import re

import jsonschema_rs
import schemathesis
from schemathesis.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import select

from credit import demo as credit_demo
from credit.models import CreditRecord, Listing, Subject
from experts import demo as experts_demo
from experts.models import Draw, Expert, InspectionDraw
from trading import demo as trading_demo
from trading.collusion.models import Alert
from trading.models import Tender

CALLERS = (None, "admin", "centre", "regulator", "auditor")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_the_format_check_refuses_a_timestamp_without_offset():
    validator = jsonschema_rs.Draft4Validator(
        {"type": "string", "format": "date-time"}, validate_formats=True
    )
    assert validator.is_valid("2026-12-03T08:04:59.557584+00:00")
    assert not validator.is_valid("2026-12-03T08:04:59.557584")


def _timestamps(value):
    """Every string in a JSON value that looks like a date and a time."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)
    elif isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        yield value


def _parameters(session) -> dict[str, str]:
    def first(stmt):
        return session.scalars(stmt.limit(1)).first()

    return {
        "ref": first(select(Subject.uscc).where(Subject.uscc.is_not(None))),
        "uscc": first(select(Subject.uscc).where(Subject.uscc.is_not(None))),
        "record_id": str(first(select(CreditRecord.id))),
        "listing_id": str(first(select(Listing.id))),
        "expert_id": str(first(select(Expert.id))),
        "draw_id": str(first(select(Draw.id))),
        "alert_id": str(first(select(Alert.id))),
        "tender_ref": first(select(Tender.ref)),
        "inspection_id": str(first(select(InspectionDraw.id))),
        "version": "1",  # no learned model in the demo: the documented 404
    }


def _open_record(session) -> int:
    """A record that nothing has superseded (an objection may concern it)."""
    later = select(CreditRecord.refers_to_id).where(CreditRecord.refers_to_id.is_not(None))
    stmt = select(CreditRecord.id).where(
        CreditRecord.event == "record", CreditRecord.id.not_in(later)
    )
    return session.scalars(stmt.limit(1)).one()


def test_every_read_of_the_demo_data_matches_the_document(app, session, tokens):
    rng = random.Random(2018)
    for module in (credit_demo, experts_demo, trading_demo):
        module.load(session, rng)
    session.commit()
    inspection = app.test_client().post(
        "/api/v1/inspections/draws",
        json={
            "title": "双随机抽查",
            "population": {"kinds": ["bidder"]},
            "subjects": 2,
            "inspectors": {"count": 1, "specialty": "A0801"},
        },
        headers=tokens["regulator"],
    )
    assert inspection.status_code == 201, inspection.get_json()
    app.test_client().post(
        f"/api/v1/inspections/draws/{inspection.get_json()['id']}/publication",
        headers=tokens["regulator"],
    )
    job = app.test_client().post(
        "/api/v1/jobs", json={"kind": "audit_verify"}, headers=tokens["auditor"]
    )
    assert job.status_code == 202, job.get_json()
    values = {**_parameters(session), "job_id": job.get_json()["id"]}
    objection = app.test_client().post(
        f"/api/v1/records/{_open_record(session)}/cases",
        json={"kind": "objection", "applicant": {"name": "演示企业"}, "grounds": "主体错误"},
        headers=tokens["regulator"],
    )
    assert objection.status_code == 201, objection.get_json()
    values["case_id"] = str(objection.get_json()["id"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked = 0
    for path, item in schema.raw_schema["paths"].items():
        if "get" not in item:
            continue
        operation = schema[path]["GET"]
        names = re.findall(r"{(\w+)}", path)
        if path.startswith("/api/v1/tenders/"):
            params = {"ref": values["tender_ref"]}
        else:
            params = {name: values[name] for name in names}
        query = {"purpose": "bid"} if path.endswith("/eligibility") else None
        for caller in CALLERS:
            headers = dict(tokens[caller]) if caller else {}
            case = operation.Case(path_parameters=params, query=query, headers=headers)
            response = case.call(headers=headers)
            assert response.status_code < 500, (path, caller, response.text[:300])
            case.validate_response(
                response,
                checks=[status_code_conformance, response_schema_conformance],
                headers=headers,
            )
            content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type")
            if response.status_code == 200 and "json" in str(content_type):
                body = response.json()
                for stamp in _timestamps(body):
                    assert RFC3339.match(stamp), (path, caller, stamp)
                checked += 1
    assert checked >= 40
