"""The console in a real headless Chromium against gunicorn, on each backend.

One gunicorn per backend serves a fresh database seeded through the services; each test
opens its own browser context (its own cookies) and writes screenshots to
``test-output/screenshots/`` (git-ignored). Debian's Chromium is driven by Playwright
(``scripts/ensure-browser.sh`` installs it; no browser is downloaded).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TEST_AUDIT_KEYS, TEST_SIGNING_KEY, make_app
from tests.console.conftest import CENTRE, OTHER_CENTRE, seed_world
from trading.auth import create_token
from trading.db import database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    def __init__(self, base: str, tokens: dict[str, str], world: dict, backend: str):
        self.base, self.tokens, self.world, self.backend = base, tokens, world, backend

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def site(migrated, tmp_path_factory) -> Site:
    """gunicorn serving a seeded, committed database of the current backend."""
    url = migrated.fresh_url()
    app = make_app(url)
    with database(app).transaction("test:seed") as session:
        tokens = {
            "centre": create_token(session, name="e2e-centre", role="centre", org=CENTRE),
            "other_centre": create_token(
                session, name="e2e-other", role="centre", org=OTHER_CENTRE
            ),
            "auditor": create_token(session, name="e2e-auditor", role="auditor"),
            "regulator": create_token(session, name="e2e-regulator", role="regulator"),
        }
        world = seed_world(session)
    database(app).dispose()
    folder = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "e2e-secret",
        "TOKEN_CACHE_SECONDS": "0",
        "JOB_RUNNER": "inprocess",  # the queue and its worker are tested on their own
        "AUDIT_KEYS": TEST_AUDIT_KEYS,  # the chain the test seeded verifies here too
        "AUDIT_SIGNING_KEY": TEST_SIGNING_KEY,
    }
    log = folder / "gunicorn.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(gunicorn), "--workers", "2", "--threads", "2", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Site(base, tokens, world, migrated.name)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(artifacts_dir, site):
    folder = Path(artifacts_dir) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{site.backend}-{name}.png"), full_page=True)

    return shoot


def _page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _sign_in(page, site: Site, role: str) -> None:
    page.goto(site.url("/login"))
    page.fill("#token", site.tokens[role])
    page.click("#sign-in")
    page.wait_for_url(site.url("/"))


def test_sign_in_then_sign_out(browser, site, shots):
    page = _page(browser)
    page.goto(site.url("/audit"))
    assert "/login" in page.url  # sent to sign in first
    shots(page, "01-login")
    page.fill("#token", site.tokens["auditor"])
    page.click("#sign-in")
    page.wait_for_url(re.compile(r".*/audit$"))  # and back to the page asked for
    assert page.locator("#chain-entries").inner_text().strip().isdigit()
    page.click("#verify-chain")  # long work: a job page that follows its progress
    page.wait_for_selector("#job[data-state='done']")
    assert "审计链完整" in page.content()
    shots(page, "02-audit-verified")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(site.url("/audit"))
    assert "/login" in page.url
    page.context.close()


def test_public_lookup_masks_personal_data(browser, site, shots):
    page = _page(browser)
    page.goto(site.url("/public/credit"))
    page.fill("#public-q", "北京失信")
    page.click("#public-search")
    page.click("#public-results a")
    assert page.locator("#grade").inner_text() == "D"
    assert "严重失信主体名单" in page.content()
    shots(page, "03-public-credit")
    page.goto(site.url("/public/blacklist"))
    html = page.content()
    assert "李*" in html and "李四光" not in html
    number = site.world["person_id_number"]
    assert number not in html and f"{number[:4]}**********{number[-4:]}" in html
    shots(page, "04-public-blacklist")
    page.context.close()


def test_a_centre_draws_replaces_and_verifies_and_another_centre_sees_nothing(browser, site, shots):
    page = _page(browser)
    _sign_in(page, site, "centre")
    page.goto(site.url(f"/tenders/{site.world['tender']}"))
    page.click("#draw-for-tender")
    tomorrow = datetime.now() + timedelta(days=1)
    page.fill("#window-start", tomorrow.strftime("%Y-%m-%dT09:00"))
    page.fill("#window-end", tomorrow.strftime("%Y-%m-%dT17:00"))
    page.fill("#seat-0-count", "3")
    page.fill("#backups", "2")
    shots(page, "05-draw-form")
    page.click("#submit-draw")
    page.wait_for_url(re.compile(r".*/draws/\d+$"))
    draw_url = page.url
    assert page.locator("#sealed-banner").is_visible()
    assert page.locator("#seated tbody tr").count() == 3
    first = page.locator("#seated tbody tr").first.locator("input[name=expert_id]")
    leaving = first.get_attribute("value")
    shots(page, "06-draw-sealed")
    page.locator("#seated tbody tr").first.locator("button").click()
    page.wait_for_selector("#replacements")
    seated = page.locator("#seated input[name=expert_id]").evaluate_all(
        "inputs => inputs.map(i => i.value)"
    )
    assert leaving not in seated and len(seated) == 3
    page.click("#verify-draw")
    assert page.locator("#verification-result.good").is_visible()
    shots(page, "07-draw-verified")
    page.context.close()

    other = _page(browser)
    _sign_in(other, site, "other_centre")
    answer = other.goto(draw_url)
    assert answer.status == 404
    assert "专家" not in other.locator("main").inner_text()
    shots(other, "08-other-centre-404")
    other.context.close()


def test_an_auditor_reviews_an_alert_from_its_graph(browser, site, shots):
    page = _page(browser)
    _sign_in(page, site, "auditor")
    page.goto(site.url("/alerts"))
    page.click("#alert-list tbody tr a")
    graph = page.locator("#alert-graph")
    assert graph.is_visible()
    assert graph.locator("line.edge").count() >= 3  # the three colluders, pairwise
    assert graph.locator("g.tender").count() >= 1
    shots(page, "09-alert")
    page.check("input[name=decision][value=confirm]")
    page.fill("#note", "三家投标文件由同一台电脑制作，报价等差，认定串通投标。")
    page.click("#submit-review")
    page.wait_for_selector("#alert-status")
    assert page.locator("#alert-status").inner_text() == "已确认"
    assert page.locator("#review").count() == 0  # a review is final
    shots(page, "10-alert-confirmed")
    page.context.close()


def test_a_forged_post_is_refused(browser, site):
    page = _page(browser)
    _sign_in(page, site, "auditor")
    # The browser's own cookies, but no CSRF token: what a forged cross-site form sends.
    forged = page.request.post(site.url("/audit/verification"), form={"x": "1"})
    assert forged.status == 403 and "console.csrf_token" in forged.text()
    forged = page.request.post(site.url("/logout"), form={"csrf_token": "guess"})
    assert forged.status == 403
    page.goto(site.url("/audit"))
    assert page.url.endswith("/audit")  # still signed in
    page.context.close()


def test_a_narrow_screen_scrolls_tables_in_place_and_folds_the_menu(browser, site, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    _sign_in(page, site, "auditor")
    page.goto(site.url("/tenders"))
    # The page never scrolls sideways; the wide table scrolls inside its own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    widths = page.evaluate(
        "(() => { const t = document.querySelector('table.list');"
        " return [t.scrollWidth, t.clientWidth]; })()"
    )
    assert widths[0] > widths[1], widths
    menu = page.locator("#menu")
    assert not menu.is_visible()
    page.click("#menu-button")
    assert menu.is_visible() and page.get_attribute("#menu-button", "aria-expanded") == "true"
    shots(page, "narrow-tenders-menu")
    page.click("#menu-button")
    assert not menu.is_visible()
    context.close()
