"""Configuration: a defaults class overridden by environment variables.

Secrets come only from the environment. Tests pass a mapping to ``create_app``.
"""

from __future__ import annotations

import os
from typing import Any


class Config:
    """Defaults. Every attribute may be overridden by an environment variable of the same name."""

    # None means "an SQLite file in the instance folder" (resolved by create_app).
    DATABASE_URL: str | None = None
    SECRET_KEY: str | None = None
    # The instance folder (SQLite file, the console's kept key); None: ./instance of the project.
    INSTANCE_PATH: str | None = None
    DB_POOL_SIZE: int = 5
    DB_MAX_OVERFLOW: int = 10
    # Seconds a request waits for a free connection before answering 503.
    DB_POOL_TIMEOUT: float = 30.0
    DB_ECHO: bool = False
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: str = "json"  # or "text"
    # Tokens are looked up by digest; a resolved token is cached this many seconds per process
    # (revocation reaches every worker within this delay).
    TOKEN_CACHE_SECONDS: float = 5.0
    # The audit chain's keyed hash (trading/audit.py): "id:secret[,id:secret…]"; entries are
    # written with AUDIT_KEY_ID (default: the last listed) and verified with any listed key.
    # Unset: one key kept in the instance folder (one host only). AUDIT_LEGACY_UNTIL: the last
    # seq written before keys were used (unkeyed entries after it are refused).
    AUDIT_KEYS: str | None = None
    AUDIT_KEY_ID: str | None = None
    AUDIT_LEGACY_UNTIL: int = 0
    # Ed25519 key signing checkpoints of the chain's head: base64 of the 32-byte private key.
    # Unset: one kept in the instance folder.
    AUDIT_SIGNING_KEY: str | None = None
    # Sign-in throttling (trading/throttle.py): this many failures within the window (seconds)
    # block the address or token prefix for THROTTLE_BLOCK seconds, doubling on repeat.
    THROTTLE_FAILURES: int = 10
    THROTTLE_WINDOW: int = 300
    THROTTLE_BLOCK: int = 60
    PAGE_SIZE_DEFAULT: int = 50
    PAGE_SIZE_MAX: int = 500
    # Credit repair applications and objections (credit/cases.py): working days from
    # acceptance to the decision's due date; set it to the measures the platform works under.
    CREDIT_CASE_DECISION_DAYS: int = 10
    # Expert draws
    DRAW_MONTHLY_CAP: int = 6
    DRAW_EMPLOYMENT_LOOKBACK_YEARS: int = 3
    # Entropy of a draw after its commitment: "supervisor" (the regulator present types it),
    # "public" (a source named in advance) or "server" (development only, marked so).
    DRAW_ENTROPY: str = "server"
    # Per centre, overriding DRAW_ENTROPY: "USCC=supervisor,USCC=public".
    DRAW_ENTROPY_BY_CENTRE: str = ""
    # Long work (trading/jobs.py): "queue" (procrastinate on PostgreSQL, run by
    # `flask --app wsgi worker`), "inprocess" (a thread of the web worker), or "auto": the
    # queue on PostgreSQL, in-process on SQLite. JOB_ATTEMPTS: runs of a job whose database
    # connection failed.
    JOB_RUNNER: str = "auto"
    JOB_ATTEMPTS: int = 3
    # A queue worker silent this long (no heartbeat) has its running job run again elsewhere.
    JOB_STALLED_SECONDS: float = 30.0
    # A whole-market scan asked through the API runs in the request up to this many tenders;
    # a larger market (or `Prefer: respond-async`) is scanned by a job (202).
    SCAN_INLINE_MAX_TENDERS: int = 2000
    # /metrics (trading/metrics.py): the scraper's bearer secret; admins may always read.
    METRICS_TOKEN: str | None = None
    # Web console
    CONSOLE_SESSION_HOURS: float = 12.0
    # Forms and pages show China Standard Time; the database keeps UTC.
    CONSOLE_UTC_OFFSET_HOURS: float = 8.0
    # Served over HTTPS (behind a proxy that terminates TLS, say): set to "https", and the
    # console's cookie is sent only over HTTPS (SESSION_COOKIE_SECURE) and HSTS is sent.
    PREFERRED_URL_SCHEME: str = "http"
    SESSION_COOKIE_SECURE: bool = False
    # flask-smorest / OpenAPI
    API_TITLE: str = "Gongxin"
    API_VERSION: str = "v1"
    OPENAPI_VERSION: str = "3.0.3"
    OPENAPI_URL_PREFIX: str = "/api/v1"
    OPENAPI_JSON_PATH: str = "openapi.json"
    JSON_SORT_KEYS: bool = False
    # Every request body, JSON and forms: a few MiB, refused (413) before it is read.
    MAX_CONTENT_LENGTH: int = 4 * 1024 * 1024
    # Files uploaded to be imported (exchange files, historical bids), streamed in.
    MAX_UPLOAD_LENGTH: int = 512 * 1024 * 1024

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {k: getattr(cls, k) for k in dir(cls) if k.isupper()}


def _coerce(raw: str, like: Any) -> Any:
    if isinstance(like, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    return raw


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then explicit overrides (tests)."""
    config = Config.defaults()
    for key, default in list(config.items()):
        if key in os.environ:
            config[key] = _coerce(os.environ[key], default)
    if overrides:
        config.update(overrides)
    return config
