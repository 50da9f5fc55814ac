"""Metrics in Prometheus format at ``/metrics``, right under several gunicorn workers.

Requests are counted and timed by endpoint (the URL rule, not the raw path: one series per
operation), method and status (prometheus-flask-exporter: ``flask_http_request_total``,
``flask_http_request_duration_seconds``). The service adds its own counters:
``gongxin_jobs_total{kind,state}`` (jobs ended), ``gongxin_draws_total{outcome}`` (expert
draws made or refused), ``gongxin_alerts_raised_total`` (collusion alerts created).

Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder (``make run`` does): every
worker writes its samples there and ``/metrics`` adds them up, whichever worker answers;
``gunicorn.conf.py`` clears the folder at start and marks exited workers. Without it (one
process) the figures are the process's own.

``/metrics`` is not public: it needs ``Authorization: Bearer <METRICS_TOKEN>`` (a secret for
the scraper, from the environment) or an admin token; otherwise 401/403 in the one error
shape.
"""

from __future__ import annotations

import hmac
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from prometheus_client import CollectorRegistry, Counter
from prometheus_flask_exporter import PrometheusMetrics

from trading.errors import Forbidden


class ServiceMetrics:
    """The service's own counters, in the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.jobs = Counter(
            "gongxin_jobs_total", "Jobs ended, by kind and state", ["kind", "state"],
            registry=registry,
        )  # fmt: skip
        self.draws = Counter(
            "gongxin_draws_total", "Expert draws, by outcome", ["outcome"], registry=registry
        )
        self.alerts = Counter(
            "gongxin_alerts_raised_total", "Collusion alerts created", registry=registry
        )


def _guard(view: Any) -> Any:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        expected = current_app.config.get("METRICS_TOKEN")
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        given = secret.strip().encode()
        scraper = scheme.lower() == "bearer" and bool(expected)
        if scraper and hmac.compare_digest(given, str(expected).encode()):
            return view(*args, **kwargs)
        from trading.auth import current_principal

        who = current_principal(required=True)
        if who.role != "admin":
            raise Forbidden(
                "Metrics are for the operator: the scraper's METRICS_TOKEN or an admin token.",
                errors={"Authorization": [f"role {who.role} not allowed"]},
                rule="ops.metrics_access",
            )
        return view(*args, **kwargs)

    return guarded


def init_app(app: Flask) -> None:
    registry = CollectorRegistry(auto_describe=True)  # one per app: tests build many
    PrometheusMetrics(
        app,
        path="/metrics",
        group_by="url_rule",
        registry=registry,
        metrics_decorator=_guard,
        excluded_paths=["^/static/", "^/healthz$", "^/readyz$"],
    )
    service = app.extensions["gongxin.metrics"] = ServiceMetrics(registry)

    @app.after_request
    def _count_draws(response: Any) -> Any:
        rule = request.url_rule
        if rule is not None and rule.rule == "/api/v1/draws" and request.method == "POST":
            outcome = "made" if response.status_code == 201 else f"refused_{response.status_code}"
            service.draws.labels(outcome).inc()
        return response


def counters(app: Flask | None = None) -> ServiceMetrics:
    return (app or current_app).extensions["gongxin.metrics"]
