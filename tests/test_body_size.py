"""Body size: JSON bodies are held to a few MiB, refused with 413 in the one error shape
before they are read; exchange files are streamed under a limit of their own."""

from __future__ import annotations

import json
import random

from credit.identifiers import make_uscc
from tests.conftest import arranging_session, rolled_back_app
from trading.auth import create_token
from trading.config import Config

MIB = 1024 * 1024


def _assert_too_large(response) -> None:
    assert response.status_code == 413, response.data[:300]
    body = response.get_json()
    assert body["code"] == 413 and body["rule"] == "request.body_size", body
    assert body["errors"] == {"_body": [body["errors"]["_body"][0]]}


def test_the_defaults_hold_json_to_a_few_mib_and_files_to_their_own_limit():
    assert Config.MAX_CONTENT_LENGTH == 4 * MIB
    assert Config.MAX_UPLOAD_LENGTH >= 256 * MIB


def test_a_json_body_over_the_limit_is_refused_unread(client, tokens):
    big = {"kind": "bidder", "name": "大" * 10, "uscc": "x", "padding": "x" * (5 * MIB)}
    response = client.post("/api/v1/subjects", json=big, headers=tokens["regulator"])
    _assert_too_large(response)
    # Under the limit the same route answers as usual (a validation error here).
    small = client.post(
        "/api/v1/subjects", json={**big, "padding": "x"}, headers=tokens["regulator"]
    )
    assert small.status_code == 422, small.get_json()


def _exchange_file(rows: int) -> bytes:
    rng = random.Random(6)
    lines = [
        json.dumps(
            {
                "type": "subject",
                "source": {"platform": "size.test", "id": f"S{n}"},
                "kind": "bidder",
                "name": f"体积测试公司{n}",
                "remark": "注" * 300,  # another platform's field, not read here
                "uscc": make_uscc(rng, "320102"),
            },
            ensure_ascii=False,
        )
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_an_exchange_file_larger_than_a_json_body_is_streamed_in(client, tokens):
    body = _exchange_file(5200)
    assert len(body) > 4 * MIB
    for headers in ({}, {"Idempotency-Key": "size-1"}):
        response = client.post(
            "/api/v1/exchange/imports",
            data=body,
            content_type="application/x-ndjson",
            headers={**tokens["regulator"], **headers},
        )
        assert response.status_code == 200, response.get_json()
        result = response.get_json()
        assert result["lines"] == 5200 and not result["rejected"], result["rejected"][:3]


def test_an_exchange_file_over_its_own_limit_is_refused(migrated):
    with rolled_back_app(migrated.url, MAX_UPLOAD_LENGTH=1 * MIB) as app:
        session = arranging_session(app)
        token = create_token(session, name="size-regulator", role="regulator")
        session.commit()
        client = app.test_client()
        body = _exchange_file(2000)
        assert len(body) > 1 * MIB
        for headers in ({}, {"Idempotency-Key": "size-2"}):
            response = client.post(
                "/api/v1/exchange/imports",
                data=body,
                content_type="application/x-ndjson",
                headers={"Authorization": f"Bearer {token}", **headers},
            )
            _assert_too_large(response)
