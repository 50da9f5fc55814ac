"""Property-based fuzzing of every operation in the OpenAPI document.

Each generated request is sent without a token and with a token of each role; every answer
must be free of server errors and match what the document says (status code, content type,
body schema, formats included: a timestamp without its offset is not an RFC 3339 ``date-time``).
A few stored rows (a subject with a record and a listing) give the reads something to answer
with. Operations are read from the document itself, so endpoints added later are covered
without extra work.
"""

from __future__ import annotations

import random

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from credit import services as credit
from credit.identifiers import make_uscc
from trading.app import create_app
from trading.fields import UtcDateTime

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ("admin", "centre", "regulator", "auditor")


def _operations() -> list[tuple[str, str]]:
    document = (
        create_app({"DATABASE_URL": "sqlite://"})
        .test_client()
        .get("/api/v1/openapi.json")
        .get_json()
    )
    return [
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


OPERATIONS = _operations()


def test_the_document_lists_operations():
    assert len(OPERATIONS) >= 5


@pytest.fixture
def stored(session):
    """One subject with a record and a listing, so that reads answer with stored timestamps."""
    firm = credit.create_subject(
        session,
        {
            "kind": "bidder",
            "name": "模糊测试公司",
            "uscc": make_uscc(random.Random(14), "110105"),
            "region": "110105",
        },
    )
    basis = {"authority": "北京市住房和城乡建设委员会", "document_no": "京建〔2024〕1号"}
    credit.add_record(
        session,
        firm,
        {
            "polarity": "negative",
            "category": "collusion",
            "severity": "serious",
            "description": "串通投标",
            "basis": {**basis, "decided_on": "2024-03-01"},
            "effective_from": "2024-03-01",
        },
    )
    credit.list_subject(
        session,
        firm,
        {
            "list": "blacklist",
            "basis": {**basis, "decided_on": "2024-03-01"},
            "start": "2024-03-01",
        },
    )
    session.commit()
    return firm


def fuzz(app, tokens, path: str, method: str, max_examples: int = 10) -> None:
    """Generated requests to one operation, as every caller; each answer checked."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Formats are part of the document: a `date-time` must carry its offset. Validated by
    # default since schemathesis 4.23 (`checks.response_schema_conformance.validate-formats`);
    # set here so that a changed default cannot switch it off silently.
    schema.config.checks.response_schema_conformance.validate_formats = True
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        for role in (None, *ROLES):
            headers = {k: v for k, v in (case.headers or {}).items() if k != "Authorization"}
            if role is not None:
                headers.update(tokens[role])
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_survives_generated_input(app, tokens, stored, path, method):
    fuzz(app, tokens, path, method)


def test_the_fuzzer_refuses_a_timestamp_without_offset(app, tokens, stored, monkeypatch):
    """Naive timestamps on the wire (as SQLite hands them back) break the document's formats."""
    monkeypatch.setattr(
        UtcDateTime, "_serialize", lambda self, value, attr, obj, **kw: value.isoformat()
    )
    with pytest.raises(BaseException) as caught:  # a group of check failures
        fuzz(app, tokens, "/api/v1/subjects", "GET")
    failures = getattr(caught.value, "exceptions", [caught.value])
    assert any('is not a "date-time"' in str(failure) for failure in failures), failures
