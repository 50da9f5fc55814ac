"""The application factory."""

from __future__ import annotations

import logging
import os
from types import FunctionType
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface
from flask_smorest import Api

from trading import audit, db, errors
from trading.config import load_config


class _App(Flask):
    """Flask, remembering which views are synchronous: each request passes through a dozen
    decorator layers that ask, and the answer never changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        # Only plain functions: bound methods (class-based views) are new on every request.
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        sync = self._sync.get(func)
        if sync is None:
            if len(self._sync) > 4096:  # closures made per request must not pile up
                self._sync.clear()
            sync = self._sync[func] = super().ensure_sync(func)
        return sync


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = _App("gongxin", instance_relative_config=True)
    app.config.update(load_config(config))
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "gongxin.sqlite3")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    if not app.config.get("SECRET_KEY"):
        # Sessions of the web console need a key; without one from the environment each
        # process makes its own, so console sign-ins do not survive a restart.
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    app.session_interface = _ConsoleOnlySessions()
    db.init_app(app)
    audit.install()
    _register_api(app)
    # After the Api, whose own HTTPException handler ours replaces: one error shape everywhere.
    errors.init_app(app)
    _register_cli(app)
    from trading.console import init_app as init_console

    init_console(app)
    return app


class _Api(Api):
    ERROR_SCHEMA = errors.ErrorSchema


def _register_api(app: Flask) -> None:
    from credit.routes import blp as credit_blp
    from credit.routes import public_blp
    from experts.routes import blp as experts_blp
    from trading.collusion.routes import blp as collusion_blp
    from trading.ops import blp as ops_blp
    from trading.ops import health_blp
    from trading.routes import blp as trading_blp

    api = _Api(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Shared credit records, verifiable expert draws and collusion alerts "
                    "for public resource trading. Every error has the shape "
                    "{code, status, message, errors}."
                )
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "Token from `flask --app wsgi tokens create`",
        },
    )
    # Every token-guarded operation refers to these two (see trading.auth.access).
    api.spec.components.get_ref("response", "UNAUTHORIZED")
    for blueprint in (
        health_blp,
        ops_blp,
        credit_blp,
        public_blp,
        experts_blp,
        trading_blp,
        collusion_blp,
    ):
        api.register_blueprint(blueprint)
    app.extensions["gongxin.api"] = api


class _ConsoleOnlySessions(SecureCookieSessionInterface):
    """Cookie sessions are the console's; the API and probes authenticate by token alone,
    so they neither read nor write the cookie (one less signature check per API call)."""

    _stateless = ("/api/", "/healthz", "/readyz")

    def open_session(self, app: Flask, request: Request):
        if request.path.startswith(self._stateless):
            return self.null_session_class()
        return super().open_session(app, request)


def _register_cli(app: Flask) -> None:
    from trading.cli import register

    register(app)
