"""Sign-in with an API token, the signed session cookie, CSRF tokens and role checks.

The token itself is never kept: sign-in looks it up by digest exactly as the API does, then
the signed Flask session holds only the token's id, name, role and organisation. Every
request looks the token up again by primary key, so a revoked (or replaced) token signs
its browser sessions out on their next click.

CSRF: each browser session carries a random secret; every POST form repeats it in a hidden
field (or the ``X-CSRF-Token`` header for scripts) and is refused with 403 otherwise. With
``SameSite=Lax`` cookies this is belt and braces.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from sqlalchemy import select

from trading import throttle
from trading.auth import ApiToken, Principal, token_digest
from trading.db import get_session
from trading.errors import Forbidden

SESSION_USER = "console_user"
SESSION_CSRF = "console_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def verify_secret(secret: str) -> ApiToken | None:
    """The live token whose secret this is, as the API would accept it; else None."""
    secret = (secret or "").strip()
    session = get_session()
    throttle.check(session, secret)  # TooManyAttempts (429) while this address is blocked
    token = None
    if secret and len(secret) <= 200:
        digest = token_digest(secret)
        token = session.scalar(select(ApiToken).where(ApiToken.digest == digest))
        if token is not None and (
            token.revoked_at is not None or not hmac.compare_digest(token.digest, digest)
        ):
            token = None
    if token is None:
        throttle.record_failure(secret[:200])
    return token


def sign_in(token: ApiToken) -> Principal:
    """Start a fresh browser session for ``token`` (a new CSRF secret too: no fixation)."""
    session.clear()
    session[SESSION_USER] = {
        "token_id": token.id,
        "name": token.name,
        "role": token.role,
        "org": token.org_uscc,
        "since": int(time.time()),
    }
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return Principal(token.name, token.role, token.org_uscc, token.authority)


def sign_out() -> None:
    session.clear()


def load_signed_in() -> Principal | None:
    """The principal of this browser session, if its token is still live; else None.

    A session older than ``CONSOLE_SESSION_HOURS`` or whose token was revoked or replaced
    is cleared.
    """
    stored = session.get(SESSION_USER)
    if not isinstance(stored, dict):
        return None
    max_age = float(current_app.config.get("CONSOLE_SESSION_HOURS", 12)) * 3600
    fresh = time.time() - float(stored.get("since", 0)) < max_age
    token = get_session().get(ApiToken, stored.get("token_id")) if fresh else None
    if token is None or token.revoked_at is not None or token.name != stored.get("name"):
        session.pop(SESSION_USER, None)
        return None
    return Principal(token.name, token.role, token.org_uscc, token.authority)


def csrf_token() -> str:
    """This browser session's CSRF secret, made on first use (sign-in forms need one too)."""
    value = session.get(SESSION_CSRF)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = value
    return value


def check_csrf() -> None:
    """Refuse a POST whose form field or header does not repeat the session's secret."""
    expected = session.get(SESSION_CSRF)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        raise Forbidden(
            "The form's CSRF token is missing or does not match this session; "
            "reload the page and try again.",
            errors={CSRF_FIELD: ["missing or wrong"]},
            rule="console.csrf_token",
        )


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may follow sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def page(*roles: str, public: bool = False) -> Callable:
    """Let in only ``roles`` (admin always), as ``trading.auth.access`` does for the API.

    A visitor who is not signed in is sent to the sign-in page (``public`` pages let them
    through); a signed-in role that may not is refused with 403 naming the rule.
    """
    allowed = set(roles) | {"admin"}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user: Principal | None = g.get("console_user")
            if public:
                return view(*args, **kwargs)
            if user is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                raise Forbidden(
                    f"Role '{user.role}' may not open this page; allowed: "
                    f"{', '.join(sorted(allowed))}.",
                    errors={"role": [f"role {user.role} not allowed"]},
                    rule="auth.role_allowed",
                )
            return view(*args, **kwargs)

        wrapper.console_roles = tuple(sorted(allowed)) if not public else ()  # type: ignore[attr-defined]
        return wrapper

    return decorator


def user() -> Principal:
    """The signed-in principal of the current request (after ``page``)."""
    return g.console_user
