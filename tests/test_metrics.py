"""/metrics: Prometheus text, not public, right across several gunicorn workers."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from bench.harness import serve
from tests.conftest import make_app
from trading import jobs
from trading.auth import create_token
from trading.db import database

SUBJECTS_SERIES = re.compile(
    r'flask_http_request_duration_seconds_count\{method="GET",status="200",'
    r'url_rule="/api/v1/subjects"\} (\d+(?:\.\d+)?)'
)


def _sample(text: str, pattern: str) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_metrics_are_for_the_operator_only(client, tokens):
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", headers=tokens["auditor"])
    assert refused.status_code == 403 and refused.get_json()["rule"] == "ops.metrics_access"
    client.get("/api/v1/subjects", headers=tokens["regulator"])
    shown = client.get("/metrics", headers=tokens["admin"])
    assert shown.status_code == 200 and shown.mimetype == "text/plain"
    assert float(SUBJECTS_SERIES.search(shown.get_data(as_text=True)).group(1)) >= 1


def test_a_scraper_reads_with_its_own_secret(migrated):
    app = make_app(migrated.url, METRICS_TOKEN="scraper-secret-0123456789")
    client = app.test_client()
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    read = client.get("/metrics", headers={"Authorization": "Bearer scraper-secret-0123456789"})
    assert read.status_code == 200 and "flask_http_request_duration_seconds" in read.text
    database(app).dispose()


def test_draws_and_jobs_are_counted(client, tokens, app):
    client.post("/api/v1/draws", json={"tender_ref": ""}, headers=tokens["centre"])
    text = client.get("/metrics", headers=tokens["admin"]).get_data(as_text=True)
    assert _sample(text, r'gongxin_draws_total\{outcome="refused_422"\} (\S+)') == 1


def test_ended_jobs_are_counted(committed_url):
    app = make_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        admin = create_token(session, name="metrics-admin", role="admin")
    with app.app_context():
        job = jobs.start("audit_verify", "auditor:metrics")
    jobs_store = jobs.store(app)
    for _ in range(600):
        if jobs_store.get(job.id).finished:
            break
        time.sleep(0.05)
    text = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {admin}"}).text
    pattern = r'gongxin_jobs_total\{kind="audit_verify",state="done"\} (\S+)'
    assert _sample(text, pattern) == 1
    database(app).dispose()


@pytest.mark.e2e
def test_counts_add_up_across_gunicorn_workers(committed_url, tmp_path):
    app = make_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        reader = create_token(session, name="metrics-reader", role="regulator")
        admin = create_token(session, name="metrics-admin2", role="admin")
    database(app).dispose()
    env = {
        "DATABASE_URL": committed_url,
        "SECRET_KEY": "metrics-test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    with serve("wsgi:app", env, "/healthz", workers=3) as base:
        for _ in range(30):  # new connections: spread over the workers
            request = urllib.request.Request(
                base + "/api/v1/subjects", headers={"Authorization": f"Bearer {reader}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
        request = urllib.request.Request(
            base + "/metrics", headers={"Authorization": f"Bearer {admin}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
    assert float(SUBJECTS_SERIES.search(text).group(1)) == 30
