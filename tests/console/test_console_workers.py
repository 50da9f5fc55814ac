"""Console sign-in through several gunicorn workers that share no key from the environment."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bench.harness import free_port
from trading.app import instance_secret_key

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def test_one_key_per_instance_folder(tmp_path):
    first = instance_secret_key(str(tmp_path / "instance"))
    assert len(first) == 64
    assert instance_secret_key(str(tmp_path / "instance")) == first
    assert oct((tmp_path / "instance" / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert instance_secret_key(str(tmp_path / "other")) != first


def test_a_folder_that_cannot_keep_a_key_stops_the_start(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        instance_secret_key(str(blocked))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _browser():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    return opener


def _open(opener, url, data=None):
    try:
        with opener.open(url, data=data, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.e2e
def test_fresh_sign_ins_hold_across_three_workers(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        INSTANCE_PATH=str(tmp_path / "instance"),
    )
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*flask, "tokens", "create", "--role", "auditor", "--name", "workers-test"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (closed after the server stops)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "3", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _open(_browser(), base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        for attempt in range(20):
            browser = _browser()
            status, form = _open(browser, base + "/login")
            assert status == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            body = urllib.parse.urlencode({"csrf_token": csrf, "token": token}).encode()
            status, _ = _open(browser, base + "/login", body)
            assert status == 303, (attempt, status)
            for _ in range(3):  # later pages, each on a new connection, any worker
                status, page = _open(browser, base + "/")
                assert status == 200, (attempt, status)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
