"""One error shape for every failure: ``{"code", "status", "message", "errors"}``.

Services raise the domain exceptions below (no Flask in them); the handlers registered by
``init_app`` turn them, and every HTTP error, into the same JSON body.
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, jsonify
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of errors the rules raise; ``rule`` names the rule that refused."""

    code = 400

    def __init__(
        self, message: str, *, errors: dict[str, list[str]] | None = None, rule: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.rule = rule


class NotFound(ServiceError):
    code = 404


class Forbidden(ServiceError):
    code = 403


class Conflict(ServiceError):
    code = 409


class Unavailable(ServiceError):
    """A part the service depends on (the database, the job queue) is unavailable: 503."""

    code = 503


class Invalid(ServiceError):
    """Input that is well formed but breaks a rule: 422 with field messages."""

    code = 422

    def __init__(
        self,
        errors: dict[str, list[str]] | dict[str, Any],
        message: str | None = None,
        *,
        rule: str | None = None,
    ):
        super().__init__(
            message or "The request breaks a validation rule.", errors=errors, rule=rule
        )


class ErrorSchema(ma.Schema):
    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong"})
    errors = ma.fields.Dict(
        required=True,
        metadata={"description": "Field (or `_rule`, `_schema`) to a list of reasons"},
    )
    rule = ma.fields.String(
        allow_none=True, metadata={"description": "Identifier of the rule that refused, if any"}
    )


_STATUS_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error_body(code: int, message: str, errors: dict | None = None, rule: str | None = None):
    body: dict[str, Any] = {
        "code": code,
        "status": _STATUS_NAMES.get(code, "Error"),
        "message": message,
        "errors": errors or {},
    }
    if rule:
        body["rule"] = rule
    return body


def error_response(
    code: int,
    message: str,
    errors: dict | None = None,
    rule: str | None = None,
    headers: dict | None = None,
):
    response = jsonify(error_body(code, message, errors, rule))
    response.status_code = code
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError):
        return error_response(
            error.code, error.message, error.errors, error.rule, getattr(error, "headers", None)
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge):
        from flask import request

        limit = request.max_content_length
        return error_response(
            413,
            f"The body is larger than the {limit:,} bytes this operation takes.",
            {"_body": [f"must be at most {limit} bytes"]},
            "request.body_size",
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if isinstance(error, InternalServerError):
            return _internal(error)
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages") or {}
        # webargs nests errors by location ({"json": {...}}); one location is flattened.
        if isinstance(errors, dict) and len(errors) == 1:
            ((location, inner),) = errors.items()
            if location in {"json", "query", "form", "headers", "files", "path", "view_args"}:
                errors = inner
        if isinstance(errors, list):
            errors = {"_schema": errors}
        message = data.get("message") or error.description or error.name
        if error.code == 422 and not data.get("message"):
            message = "The request did not validate; see errors for each field."
        headers = dict(data.get("headers") or {})
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="gongxin"')
        return error_response(error.code or 500, message, errors, data.get("rule"), headers)

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        log.info("integrity conflict: %s", error.orig)
        return error_response(
            409,
            "The change conflicts with data already stored (a unique key or a reference).",
            {"_schema": ["conflict with existing data"]},
            "storage.integrity",
        )

    @app.errorhandler(DataError)
    def _data(error: DataError):
        # A value the schemas let through but the database cannot take (a number past
        # its column): the request's fault, refused like any other invalid value.
        log.info("value refused by the database: %s", error.orig)
        return out_of_range()

    @app.errorhandler(OverflowError)
    def _overflow(error: OverflowError):
        log.info("value out of range: %s", error)
        return out_of_range()

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _operational(error: Exception):
        log.exception("database unavailable")
        return database_unavailable()

    @app.errorhandler(Exception)
    def _internal(error: Exception):
        original = getattr(error, "original_exception", None) or error
        log.exception("unhandled error", exc_info=original)
        return error_response(500, "Internal error; it has been logged.")


def out_of_range():
    return error_response(
        422,
        "A value is out of the range the service can store or compute with.",
        {"_schema": ["a number or a date is out of range"]},
        "request.value_out_of_range",
    )


def database_unavailable():
    return error_response(
        503,
        "The database is unavailable; try again shortly.",
        {"database": ["unavailable"]},
        "service.database_unavailable",
        {"Retry-After": "5"},
    )


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means the database could not be reached (a restart, a
    shutdown, a lost connection), not that the request was wrong."""
    if isinstance(error, OperationalError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def documents_errors(blp: Any, responses: dict[int, str]) -> Any:
    """Document error answers (status → description) in the error shape, without adding a
    wrapper around the view (for the hot paths). ``blp`` is kept for symmetry."""
    from trading.openapi import annotate, error_responses

    return annotate(responses=error_responses(responses))
