"""What every answer carries: a request id, security headers, and logs that name the request.

The request id is taken from an incoming ``X-Request-Id`` when it is a plain token (a load
balancer's), else made here; it is returned in the same header, written into every audit
entry of the request and into every log line, so one complaint leads to its log lines and
its audit entries.

Logs are JSON lines (``LOG_FORMAT=json``, the default) or plain text (``LOG_FORMAT=text``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-Id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{8,64}")

#: Sent with every answer, the API's included. HSTS only over HTTPS (RFC 6797 §7.2).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def request_id() -> str | None:
    """The current request's id, made on first use; None outside a request."""
    if not has_request_context():
        return None
    found = g.get("request_id")
    if found is None:
        sent = request.headers.get(HEADER, "")
        found = sent if _ACCEPTABLE.fullmatch(sent) else os.urandom(8).hex()
        g.request_id = found
    return found


class JsonLines(logging.Formatter):
    """One JSON object a line: time (RFC 3339), level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id()
        if rid is not None:
            entry["request_id"] = rid
            entry["method"], entry["path"] = request.method, request.path
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonLines.converter = time.gmtime


def configure_logging(level: str, form: str) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_gongxin", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._gongxin = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for handler in root.handlers:
        if getattr(handler, "_gongxin", False):
            handler.setFormatter(
                JsonLines() if form == "json" else logging.Formatter(logging.BASIC_FORMAT)
            )
    root.setLevel(level)


def init_app(app: Flask) -> None:
    configure_logging(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "json"))
    https = app.config.get("PREFERRED_URL_SCHEME") == "https"

    @app.after_request
    def _stamp(response: Response) -> Response:
        headers = response.headers
        headers[HEADER] = request_id()
        for key, value in SECURITY_HEADERS:
            headers.setdefault(key, value)
        if https or request.is_secure:
            headers.setdefault(*HSTS)
        return response
