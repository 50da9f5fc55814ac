"""The web console (控制台): pages rendered on the server over the same services as the API.

Trading centres, regulators, auditors and the public look instead of reading JSON. Pages
call the domain services directly, with the signed-in token's principal, so the roles and
sealing rules are the services' own. Every asset is served by the app itself: the service
often runs on closed government networks with no CDN in reach.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

#: The console's settings, their defaults, and the type an environment value becomes.
#: (Not in ``trading.config.Config``, which another engineer owns; read the same way.)
SETTINGS: dict[str, tuple[Any, type]] = {
    # Where job progress files go; default: the instance folder's ``console-jobs``.
    "CONSOLE_JOBS_DIR": (None, str),
    # A browser session signs out after this many hours, whatever it does.
    "CONSOLE_SESSION_HOURS": (12.0, float),
    # Forms and pages show times on this clock (Beijing time; China has no summer time).
    "CONSOLE_UTC_OFFSET_HOURS": (8.0, float),
    # Behind HTTPS, set to 1 so the session cookie is never sent in clear. Closed networks
    # often serve plain HTTP, hence off by default.
    "SESSION_COOKIE_SECURE": (False, bool),
}


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return kind(raw)


def init_app(app: Flask) -> None:
    """Register the console blueprint at ``/`` (beside ``/api/v1``, ``/healthz``, ``/readyz``)."""
    from trading.console.blueprint import console
    from trading.console.pages import register_pages

    # The session cookie only carries who signed in and the CSRF secret: never readable by
    # scripts, and not sent on cross-site subrequests or POSTs.
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    for key, (default, kind) in SETTINGS.items():
        if key not in app.config or (key == "SESSION_COOKIE_SECURE" and key in os.environ):
            raw = os.environ.get(key)
            app.config[key] = _parse(raw, kind) if raw not in (None, "") else default
    register_pages()
    app.register_blueprint(console)
