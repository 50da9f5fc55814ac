"""The application factory."""

from __future__ import annotations

import logging
import os
import secrets
import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface
from flask_smorest import Api

from trading import audit, db, errors, metrics, request_context, untrusted
from trading.config import load_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        "gongxin", instance_relative_config=True, instance_path=settings.get("INSTANCE_PATH")
    )
    app.config.update(settings)
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "gongxin.sqlite3")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    audit.configure(audit_keyring(app))
    request_context.init_app(app)
    untrusted.init_app(app)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    app.session_interface = _ConsoleOnlySessions()
    db.init_app(app)
    audit.install()
    _register_api(app)
    # After the Api, whose own HTTPException handler ours replaces: one error shape everywhere.
    errors.init_app(app)
    metrics.init_app(app)
    _register_cli(app)
    from trading.console import init_app as init_console

    init_console(app)
    return app


def instance_secret_key(folder: str) -> str:
    """The console's signing key kept in the instance folder, made once.

    Every worker of one host must sign sessions with the same key: a key made per process
    sends a browser that signed in through one worker back to the login page (or to a CSRF
    refusal) when its next request reaches another. Several hosts need ``SECRET_KEY`` from
    the environment instead.
    """
    return instance_secret(folder, "secret_key", "SECRET_KEY")


def instance_secret(folder: str, name: str, variable: str) -> str:
    """A random 256-bit secret (hex) kept in ``folder/name``, made once, mode 0600.

    The first process to start writes it (exclusively); every other one reads it. A folder
    that cannot keep it stops the start, naming the environment ``variable`` to set instead:
    secrets that differ at random between workers would be worse.
    """
    path = os.path.join(folder, name)
    try:
        os.makedirs(folder, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        for _ in range(50):  # another worker may be writing it this very moment
            with open(path) as stored:
                key = stored.read().strip()
            if len(key) == 64:
                return key
            time.sleep(0.01)
    except OSError as error:
        raise RuntimeError(
            f"{variable} is not set and the instance folder cannot keep one ({error}); "
            f"set {variable} in the environment"
        ) from error
    raise RuntimeError(f"{path} does not hold a key; remove it or set {variable}")


def audit_keyring(app: Flask) -> audit.Keyring:
    """The keys of the audit chain: ``AUDIT_KEYS`` from the environment, else one kept in the
    instance folder (one host). See trading/audit.py."""
    text = app.config.get("AUDIT_KEYS") or (
        "local:" + instance_secret(app.instance_path, "audit_key", "AUDIT_KEYS")
    )
    keys = audit.parse_keys(text)
    current = app.config.get("AUDIT_KEY_ID") or list(keys)[-1]
    if current not in keys:
        raise RuntimeError(f"AUDIT_KEY_ID {current!r} is not among AUDIT_KEYS")
    return audit.Keyring(keys, current, int(app.config.get("AUDIT_LEGACY_UNTIL") or 0))


class _Api(Api):
    ERROR_SCHEMA = errors.ErrorSchema


def _register_api(app: Flask) -> None:
    from credit.cases_routes import blp as cases_blp
    from credit.lifecycle_routes import blp as lifecycle_blp
    from credit.routes import blp as credit_blp
    from credit.routes import public_blp
    from experts.routes import blp as experts_blp
    from trading.collusion.routes import blp as collusion_blp
    from trading.jobs_api import blp as jobs_blp
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
        cases_blp,
        lifecycle_blp,
        public_blp,
        experts_blp,
        trading_blp,
        collusion_blp,
        jobs_blp,
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
