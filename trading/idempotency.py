"""``Idempotency-Key`` for POSTs that create something (draws, imports, bids).

The key is claimed inside the request's transaction before the work is done: a concurrent
retry with the same key waits on the unique index until the first commits, then replays the
stored answer. A failed request rolls back its claim, so a retry runs again. The same key
with a different body is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Response, after_this_request, request
from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from trading import clock
from trading.auth import current_principal
from trading.db import Base, get_session
from trading.errors import Invalid

HEADER = "Idempotency-Key"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


def _request_digest() -> str:
    """SHA-256 of method, path and body, without holding the body in memory: it is copied
    to a spooled file while hashed (memory up to 8 MiB, disk beyond), and the view then
    reads that copy. Exchange files of a million rows arrive this way."""
    digest = hashlib.sha256(request.method.encode() + request.full_path.encode())
    # Not a context manager: it becomes the request's input; closed after the response.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    after_this_request(lambda response: (spool.close(), response)[1])
    size = 0
    while chunk := request.stream.read(1 << 16):
        digest.update(chunk)
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    request.environ["wsgi.input"] = spool
    request.environ["CONTENT_LENGTH"] = str(size)
    request.__dict__.pop("stream", None)  # werkzeug caches the stream it wrapped
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    response = Response(
        json.dumps(row.body, ensure_ascii=False), status=row.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(blp: Any) -> Callable:
    """Honour ``Idempotency-Key`` on a creating POST. Place it under ``access``."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            if not key:
                return func(*args, **kwargs)
            if len(key) > 200:
                raise Invalid({HEADER: ["at most 200 characters"]})
            session = get_session()
            who = current_principal(required=False)
            actor = who.actor if who else "anonymous"
            digest = _request_digest()
            existing = session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.actor == actor, IdempotencyKey.key == key
                )
            )
            if existing is None:
                claim = IdempotencyKey(
                    actor=actor,
                    key=key,
                    method=request.method,
                    path=request.path,
                    request_digest=digest,
                    created_at=clock.now(),
                )
                try:
                    with session.begin_nested():
                        session.add(claim)
                except IntegrityError:
                    existing = session.scalar(
                        select(IdempotencyKey).where(
                            IdempotencyKey.actor == actor, IdempotencyKey.key == key
                        )
                    )
            if existing is not None:
                if existing.request_digest != digest:
                    raise Invalid(
                        {HEADER: ["this key was used with a different request"]},
                        rule="idempotency.same_request",
                    )
                if existing.status is not None:
                    return _replay(existing)
            response = func(*args, **kwargs)
            if existing is None:
                flask_response = blp_response(response)
                if flask_response.status_code < 400:
                    claim.status = flask_response.status_code
                    claim.body = flask_response.get_json(silent=True)
                return flask_response
            return response

        wrapper._apidoc = getattr(wrapper, "_apidoc", {})
        return blp.doc(
            parameters=[
                {
                    "in": "header",
                    "name": HEADER,
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "Retrying with the same key replays the first answer.",
                }
            ]
        )(wrapper)

    return decorator


def blp_response(result: Any) -> Response:
    from flask import make_response

    return make_response(result)
