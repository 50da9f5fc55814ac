"""Home, sign-in and sign-out."""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from trading.console import dashboard
from trading.console.blueprint import console, translate
from trading.console.signin import (
    page,
    safe_next,
    sign_in,
    sign_out,
    verify_secret,
)
from trading.db import get_session
from trading.throttle import TooManyAttempts

log = logging.getLogger(__name__)


@console.route("/")
@page(public=True)
def home() -> Any:
    me = g.get("console_user")
    figures = dashboard.figures(get_session(), me) if me is not None else None
    return render_template("console/home.html", figures=figures)


@console.route("/login", methods=["GET", "POST"])
@page(public=True)
def login() -> Any:
    next_page = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("console/login.html", next_page=next_page, error=None)
    try:
        token = verify_secret(request.form.get("token", ""))
    except TooManyAttempts as blocked:
        log.warning("console sign-in throttled from %s", request.remote_addr)
        error = translate("login.throttled", seconds=blocked.headers["Retry-After"])
        page_html = render_template("console/login.html", next_page=next_page, error=error)
        return page_html, 429, blocked.headers
    if token is None:
        # Same answer for unknown and revoked tokens: the form does not help guessing.
        log.info("console sign-in refused from %s", request.remote_addr)
        return (
            render_template(
                "console/login.html", next_page=next_page, error=translate("login.refused")
            ),
            401,
        )
    principal = sign_in(token)
    log.info("console sign-in: %s", principal.actor)
    flash(translate("login.welcome", name=principal.name), "ok")
    return redirect(next_page or url_for("console.home"), code=303)


@console.route("/logout", methods=["POST"])
@page(public=True)
def logout() -> Any:
    sign_out()
    flash(translate("logout.done"), "ok")
    return redirect(url_for("console.login"), code=303)
