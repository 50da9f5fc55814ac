"""The console blueprint: per-request language and sign-in, CSRF, headers, HTML errors."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from trading.console import i18n
from trading.console.forms import as_messages
from trading.console.navigation import menu_for
from trading.console.signin import CSRF_FIELD, check_csrf, csrf_token, load_signed_in
from trading.db import get_session
from trading.errors import ServiceError

log = logging.getLogger(__name__)

console = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)

LANG_COOKIE = "console_lang"
# Pages only load what the app serves itself: no CDN, no inline script.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@console.before_request
def _open_request() -> None:
    if request.endpoint == "console.static":
        return
    chosen = request.args.get("lang")
    g.lang_chosen = chosen if chosen in i18n.LANGUAGES else None
    g.lang = g.lang_chosen or i18n.pick(request.cookies.get(LANG_COOKIE))
    g.console_user = load_signed_in()
    if g.console_user is not None:
        g.principal = g.console_user  # what trading.auth.principal() returns to services
        get_session().info["actor"] = g.console_user.actor
    if request.method == "POST":
        check_csrf()


@console.after_request
def _close_request(response: Response) -> Response:
    if request.endpoint == "console.static":
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
        return response
    if g.get("lang_chosen"):
        response.set_cookie(
            LANG_COOKIE, g.lang_chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages show personal and sealed data: never kept by a shared cache or the back button.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def error_page(code: int, message: str, rule: str | None = None, errors: Any = None) -> Any:
    return (
        render_template(
            "console/error.html", code=code, message=message, rule=rule, errors=errors or {}
        ),
        code,
    )


@console.errorhandler(ServiceError)
def _service_error(error: ServiceError) -> Any:
    return error_page(error.code, error.message, error.rule, error.errors)


@console.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    return error_page(error.code or 500, error.description or error.name)


@console.errorhandler(IntegrityError)
def _integrity_error(error: IntegrityError) -> Any:
    # Two writers raced for one unique key: the same answer as the API's, as a page.
    log.info("console integrity conflict: %s", error.orig)
    lang = g.get("lang", i18n.DEFAULT)
    return error_page(409, i18n.text(lang, "error.integrity"), "storage.integrity")


@console.errorhandler(OperationalError)
def _database_down(error: OperationalError) -> Any:
    log.exception("database unavailable", exc_info=error)
    return error_page(503, i18n.text(g.get("lang", i18n.DEFAULT), "error.database"))


@console.errorhandler(Exception)
def _internal_error(error: Exception) -> Any:
    # The page says nothing of the internals; the log has everything.
    log.exception("console page failed", exc_info=error)
    return error_page(500, i18n.text(g.get("lang", i18n.DEFAULT), "error.internal"))


@console.app_template_global("_")
def translate(key: str, **values: Any) -> str:
    return i18n.text(g.get("lang", i18n.DEFAULT), key, **values)


@console.app_template_global()
def url_with(**changes: Any) -> str:
    """This page's URL with some query arguments changed (pagination, language, sort)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@console.app_template_filter("when")
def format_when(value: Any) -> str:
    """Dates as they are; times (stored as naive UTC) on the console's clock, UTC+8."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        hours = float(current_app.config.get("CONSOLE_UTC_OFFSET_HOURS", 8))
        return (value + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@console.app_template_filter("yuan")
def format_yuan(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return f"¥{amount:,.2f}"


@console.context_processor
def _page_context() -> dict[str, Any]:
    return {
        "lang": g.get("lang", i18n.DEFAULT),
        "languages": i18n.LANGUAGES,
        "current_user": g.get("console_user"),
        "menu": menu_for(g.get("console_user")),
    }


@console.app_template_global()
def label(group: str, code: str | None) -> str:
    """The name of a code in the page's language (``label("status", "open")``)."""
    return i18n.label(g.get("lang", i18n.DEFAULT), group, code)


console.add_app_template_global(csrf_token, "csrf_token")
console.add_app_template_global(CSRF_FIELD, "csrf_field")


@console.app_template_global()
def flat(messages: Any) -> list[str]:
    return as_messages(messages)


@console.app_template_global()
def region_name(code: str | None) -> str:
    """``110105`` as ``朝阳区 (110105)``; the bare code when the table does not know it."""
    if not code:
        return "—"
    from credit.regions import name_of

    try:
        name = name_of(code)
    except ValueError:
        name = None
    return f"{name} ({code})" if name else code


@console.app_template_global()
def scope_text(sectors: list[str] | None, regions: list[str] | None) -> str:
    """A listing's scope in words: national (全国) when it names neither."""
    lang = g.get("lang", i18n.DEFAULT)
    if not sectors and not regions:
        return i18n.text(lang, "listing.national")
    parts = [i18n.label(lang, "sector", s) for s in sectors or ()]
    parts += [region_name(r) for r in regions or ()]
    return "、".join(parts) if lang == "zh" else ", ".join(parts)


@console.app_template_global()
def family_of(kind: str) -> str:
    from trading.console.graph import family_of as family

    return family(kind)


@console.app_template_global()
def specialty_name(code: str | None) -> str:
    """``A0101`` as ``A0101 国民经济和社会发展规划``."""
    if not code:
        return "—"
    from experts.specialties import load_specialties

    found = load_specialties().get(code)
    return f"{code} {found.name}" if found else code
