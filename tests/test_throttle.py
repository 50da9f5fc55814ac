"""Sign-in throttling: repeated failures from one address or against one token prefix block."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import make_app
from tests.console.conftest import csrf_of
from trading import clock
from trading.auth import create_token
from trading.db import database

LIMITS = {"THROTTLE_FAILURES": 3, "THROTTLE_WINDOW": 300, "THROTTLE_BLOCK": 60}
START = datetime(2026, 12, 4, 2, 0)


def _get(client, secret: str, address: str = "192.0.2.1"):
    return client.get(
        "/api/v1/subjects",
        headers={"Authorization": f"Bearer {secret}"},
        environ_base={"REMOTE_ADDR": address},
    )


def _app_with_token(url: str):
    app = make_app(url, **LIMITS)
    with database(app).transaction("test:arrange") as session:
        secret = create_token(session, name="throttle-regulator", role="regulator")
    return app, secret


def test_failures_from_one_address_block_it_with_retry_after(committed_url):
    # A committed database (no test connection shared): on SQLite the count is written
    # while the request's own transaction would otherwise hold the write lock.
    app, good = _app_with_token(committed_url)
    client = app.test_client()
    with clock.frozen(START):
        for n in range(3):
            refused = _get(client, f"gx_wrong-guess-{n:04d}-abcdefgh")
            assert refused.status_code == 401, refused.get_json()
        blocked = _get(client, "gx_wrong-guess-9999-abcdefgh")
        assert blocked.status_code == 429
        body = blocked.get_json()
        assert body["rule"] == "auth.throttle" and body["code"] == 429
        assert int(blocked.headers["Retry-After"]) == 60
        # While blocked even a right guess is not confirmed ...
        assert _get(client, good).status_code == 429
        # ... but another address is not affected.
        assert _get(client, good, address="198.51.100.7").status_code == 200
    with clock.frozen(START + timedelta(seconds=61)):
        assert _get(client, good).status_code == 200
    database(app).dispose()


def test_a_repeated_block_lasts_twice_as_long(committed_url):
    app, _ = _app_with_token(committed_url)
    client = app.test_client()
    with clock.frozen(START):
        for n in range(3):
            _get(client, f"gx_first-round-{n:04d}-abcdefgh")
    with clock.frozen(START + timedelta(seconds=61)):
        for n in range(3):
            assert _get(client, f"gx_second-round-{n:04d}-abcd").status_code == 401
        again = _get(client, "gx_second-round-9999-abcd")
        assert again.status_code == 429 and int(again.headers["Retry-After"]) == 120
    database(app).dispose()


def test_one_token_prefix_attacked_from_many_addresses_is_blocked(committed_url):
    app, _ = _app_with_token(committed_url)
    client = app.test_client()
    with clock.frozen(START):
        for n in range(3):
            response = _get(client, f"gx_sameprefix{n}", address=f"203.0.113.{n + 1}")
            assert response.status_code == 401
        blocked = _get(client, "gx_sameprefixZ", address="203.0.113.200")
        assert blocked.status_code == 429 and blocked.get_json()["rule"] == "auth.throttle"
        # A different prefix from a fresh address still reaches the token check.
        assert _get(client, "gx_otherprefix1", address="203.0.113.201").status_code == 401
    database(app).dispose()


def test_failures_outside_the_window_do_not_add_up(committed_url):
    app, _ = _app_with_token(committed_url)
    client = app.test_client()
    for minute in (0, 6, 12, 18):  # one failure every six minutes: never three in five
        with clock.frozen(START + timedelta(minutes=minute)):
            assert _get(client, f"gx_slow-guess-{minute:04d}-ab").status_code == 401
    database(app).dispose()


def _sign_in(client, secret: str, address: str):
    form = client.get("/login", environ_base={"REMOTE_ADDR": address})
    data = {"token": secret, "csrf_token": csrf_of(form.get_data(as_text=True))}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def test_the_console_sign_in_is_throttled_too(committed_url):
    app, good = _app_with_token(committed_url)
    client = app.test_client()
    with clock.frozen(START):
        for n in range(3):
            assert _sign_in(client, f"gx_console-guess-{n}", "192.0.2.9").status_code == 401
        blocked = _sign_in(client, good, "192.0.2.9")
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == "60"
        assert "失败次数过多" in blocked.get_data(as_text=True)
        assert _sign_in(client, good, "192.0.2.10").status_code == 303
    database(app).dispose()
