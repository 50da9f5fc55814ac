"""Bearer tokens and role checks.

Tokens are random secrets shown once; only their SHA-256 digest is stored, and the digest
found is compared again with ``hmac.compare_digest``. A ``centre`` token is bound to its
organisation's USCC; a ``regulator`` token to the authority it acts for (谁认定、谁修复:
only that authority lifts, revokes or repairs its own decisions).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from flask import current_app, g, request
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from trading import audit, clock, throttle
from trading.db import Base, get_session
from trading.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from trading.openapi import annotate, error_responses

ROLES = ("admin", "centre", "regulator", "auditor")
TOKEN_PREFIX = "gx_"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    org_uscc: Mapped[str | None] = mapped_column(String(18))
    # Added by 0016_credit_authority: the deciding authority a regulator acts for.
    authority: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    org: str | None
    authority: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


class Unauthorized(ServiceError):
    code = 401


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def acting_authority(who: Principal) -> str | None:
    """The authority whose decisions ``who`` may lift, revoke or repair: None for an admin
    (any), the bound authority for a regulator, "" (none) for a regulator token without one."""
    if who.role == "admin":
        return None
    return who.authority or ""


def create_token(
    session: Session,
    *,
    name: str,
    role: str,
    org: str | None = None,
    authority: str | None = None,
) -> str:
    """Create a token and return its secret (the only time it exists in clear)."""
    errors: dict[str, list[str]] = {}
    authority = (authority or "").strip() or None
    if authority and role != "regulator":
        errors["authority"] = ["only a regulator token acts for an authority"]
    elif authority and len(authority) > 200:
        errors["authority"] = ["must be at most 200 characters"]
    if role not in ROLES:
        errors["role"] = [f"must be one of {', '.join(ROLES)}"]
    if role == "centre" and not org:
        errors["org"] = ["a centre token must be bound to its organisation's USCC"]
    if org:
        from credit.identifiers import InvalidIdentifier, validate_uscc

        try:
            org = validate_uscc(org)
        except InvalidIdentifier as exc:
            errors["org"] = [str(exc)]
    if not name or len(name) > 120:
        errors["name"] = ["must be 1 to 120 characters"]
    if errors:
        raise Invalid(errors)
    if session.scalar(select(ApiToken).where(ApiToken.name == name)):
        raise Conflict(f"a token named {name!r} exists", rule="tokens.unique_name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=role,
        org_uscc=org,
        authority=authority,
        digest=token_digest(secret),
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        "token.create",
        "token",
        token.id,
        after={"name": name, "role": role, "org": org, "authority": authority},
    )
    return secret


def revoke_token(session: Session, name: str) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is not None:
        raise Conflict(f"token {name!r} is already revoked", rule="tokens.revoked_once")
    token.revoked_at = clock.now()
    audit.record(
        session,
        "token.revoke",
        "token",
        token.id,
        before={"revoked": False},
        after={"revoked": True},
    )
    _cache.clear()


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name)))


class _TokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, ttl: float) -> tuple[bool, Principal | None]:
        hit = self._entries.get(digest)
        if hit and time.monotonic() - hit[0] < ttl:
            return True, hit[1]
        return False, None

    def put(self, digest: str, principal: Principal | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic(), principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _TokenCache()


def _resolve(secret: str, ttl: float) -> Principal | None:
    digest = token_digest(secret)
    found, principal = _cache.get(digest, ttl)
    if found:
        return principal
    session = get_session()
    throttle.check(session, secret)
    token = session.scalar(select(ApiToken).where(ApiToken.digest == digest))
    principal = None
    if token is not None and hmac.compare_digest(token.digest, digest) and token.revoked_at is None:
        principal = Principal(token.name, token.role, token.org_uscc, token.authority)
    else:
        throttle.record_failure(secret)
    if principal is not None:
        # Failures are not cached: each one is counted (and a blocked caller is told so).
        _cache.put(digest, principal)
    return principal


def current_principal(required: bool = True) -> Principal | None:
    # Every API request passes here: each context proxy is resolved once (an attribute read
    # through a proxy costs several times a plain one).
    known = g._get_current_object().__dict__
    if "principal" in known:
        return known["principal"]
    header = request._get_current_object().environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    principal = None
    if secret and scheme.lower() == "bearer":
        ttl = current_app._get_current_object().config["TOKEN_CACHE_SECONDS"]
        principal = _resolve(secret, ttl)
        if principal is None and required:
            raise Unauthorized(
                "The bearer token is unknown or revoked.",
                errors={"Authorization": ["unknown or revoked token"]},
                rule="auth.token_valid",
            )
    elif required:
        raise Unauthorized(
            "A bearer token is required.",
            errors={"Authorization": ["missing bearer token"]},
            rule="auth.token_required",
        )
    known["principal"] = principal
    if principal is not None and "db_session" in known:
        known["db_session"].info["actor"] = principal.actor
    return principal


def access(blp: Any) -> Callable:
    """Authenticate, then allow only the roles :mod:`trading.permissions` gives the view
    (admin always; no token for a public one). Documents 401/403 for OpenAPI.

    Place it directly under ``@blp.route`` so that authentication comes before input parsing.
    """
    from trading.permissions import PUBLIC, roles_for

    def decorator(func: Callable) -> Callable:
        roles = roles_for(f"{blp.name}.{func.__name__}")
        public = roles is PUBLIC
        allowed = set(roles or ()) | {"admin"}

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal(required=not public)
            if not public and principal.role not in allowed:
                raise Forbidden(
                    f"Role '{principal.role}' may not do this; allowed: "
                    f"{', '.join(sorted(allowed))}.",
                    errors={"Authorization": [f"role {principal.role} not allowed"]},
                    rule="auth.role_allowed",
                )
            return func(*args, **kwargs)

        if public:
            return annotate(security=[])(wrapper)
        return annotate(
            security=[{"bearerAuth": []}],
            responses={
                "401": {"$ref": "#/components/responses/UNAUTHORIZED"},
                **error_responses(
                    {403: f"A rule refused; roles allowed: {', '.join(sorted(allowed))}"}
                ),
            },
        )(wrapper)

    return decorator


def principal() -> Principal:
    """The authenticated caller of the current request (after ``access``)."""
    return g.principal
