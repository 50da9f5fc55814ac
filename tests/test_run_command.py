"""`make run` as a new user would start it: migrate, demo data once, tokens, gunicorn, HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.harness import free_port

ROOT = Path(__file__).resolve().parent.parent


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.e2e
def test_make_run_serves_demo_data_with_a_token_per_role(tmp_path):
    port = free_port()
    venv = Path(sys.executable).parent.parent
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PORT": str(port),
        "VENV": str(venv),
    }
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"VENV={venv}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if _get(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        tokens = dict(re.findall(r"^(admin|centre|regulator|auditor)\s+(gx_\S+)$", text, re.M))
        assert set(tokens) == {"admin", "centre", "regulator", "auditor"}, text
        assert _get(base + "/api/v1/audit/verification", tokens["auditor"])[0] == 200
        assert _get(base + "/api/v1/audit/verification", tokens["centre"])[0] == 403
        assert _get(base + "/api/v1/audit/verification")[0] == 401
        status, body = _get(base + "/api/v1/openapi.json")
        assert status == 200 and b'"openapi"' in body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    # a second start loads the demo data only once
    again = subprocess.run(
        [str(venv / "bin" / "flask"), "--app", "wsgi", "demo", "load"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "already loaded" in again.stdout
