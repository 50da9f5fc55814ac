"""Operating the service: request ids, security headers, JSON logs, readiness."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from tests.conftest import make_app
from trading import migrate
from trading.audit import AuditEntry, verify_chain
from trading.db import database
from trading.request_context import JsonLines

SUBJECT = {"kind": "bidder", "name": "请求编号测试公司", "uscc": "91110000600037341L"}


def test_every_answer_carries_a_request_id_and_security_headers(client, tokens):
    for response in (
        client.get("/healthz"),
        client.get("/api/v1/subjects", headers=tokens["regulator"]),
        client.get("/api/v1/subjects"),  # 401 too
        client.get("/login"),
    ):
        assert len(response.headers["X-Request-Id"]) >= 8
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP
    one, two = client.get("/healthz"), client.get("/healthz")
    assert one.headers["X-Request-Id"] != two.headers["X-Request-Id"]


def test_a_balancer_s_request_id_is_kept_and_a_strange_one_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-0123456789abcdef"})
    assert kept.headers["X-Request-Id"] == "lb-0123456789abcdef"
    odd = client.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert "<" not in odd.headers["X-Request-Id"] and odd.headers["X-Request-Id"].isalnum()


def test_hsts_over_https(client):
    response = client.get("/healthz", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_request_id_is_written_into_the_audit_entry_and_hashed(client, tokens, session):
    body = {**SUBJECT, "region": "110105"}
    response = client.post(
        "/api/v1/subjects",
        json=body,
        headers={**tokens["regulator"], "X-Request-Id": "req-audit-000001"},
    )
    assert response.status_code == 201, response.get_json()
    created = select(AuditEntry).where(AuditEntry.action == "credit.subject.create")
    entry = session.scalars(created.order_by(AuditEntry.seq)).all()[-1]
    assert entry.request_id == "req-audit-000001"
    listed = client.get(
        "/api/v1/audit", query_string={"action": "credit.subject.create"}, headers=tokens["auditor"]
    ).get_json()
    assert listed["items"][-1]["request_id"] == "req-audit-000001"
    assert verify_chain(session).ok
    entry.request_id = "req-forged-000002"  # an insider changes which request wrote it
    session.flush()
    assert not verify_chain(session).ok


def test_log_lines_are_json_naming_the_request(app):
    formatter = JsonLines()
    with app.test_request_context("/api/v1/subjects", headers={"X-Request-Id": "req-log-000001"}):
        record = logging.LogRecord("gongxin", logging.INFO, __file__, 1, "签到 %s", ("ok",), None)
        line = json.loads(formatter.format(record))
    assert line["message"] == "签到 ok" and line["level"] == "INFO"
    assert line["request_id"] == "req-log-000001" and line["path"] == "/api/v1/subjects"
    assert line["at"].endswith("Z")


def test_readyz_says_when_the_schema_is_behind_the_migrations(committed_url):
    app = make_app(committed_url)
    assert app.test_client().get("/readyz").status_code == 200
    database(app).dispose()
    migrate.downgrade(committed_url, "-1")
    app = make_app(committed_url)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["rule"] == "ops.migrations_at_head"
    database(app).dispose()
