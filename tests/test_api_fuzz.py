"""Property-based fuzzing of every operation in the OpenAPI document.

Each generated request is sent without a token and with a token of each role; every answer
must be free of server errors and match what the document says (status code, content type,
body schema). Operations are read from the document itself, so endpoints added later are
covered without extra work.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from trading.app import create_app

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


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_survives_generated_input(app, tokens, path, method):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=10,
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
