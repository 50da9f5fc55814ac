"""The web console (控制台): pages rendered on the server over the same services as the API.

Trading centres, regulators, auditors and the public look instead of reading JSON. Pages
call the domain services directly, with the signed-in token's principal, so the roles and
sealing rules are the services' own. Every asset is served by the app itself: the service
often runs on closed government networks with no CDN in reach.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console blueprint at ``/`` (beside ``/api/v1``, ``/healthz``, ``/readyz``)."""
    from trading.console.blueprint import console
    from trading.console.pages import register_pages

    # The session cookie only carries who signed in and the CSRF secret: never readable by
    # scripts, and not sent on cross-site subrequests or POSTs.
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    register_pages()
    app.register_blueprint(console)
