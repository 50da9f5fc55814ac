"""Sign-in, sign-out, CSRF, roles and languages of the web console (Flask test client)."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import Browser, csrf_of, secret_of
from trading.auth import revoke_token
from trading.console import i18n
from trading.console.messages import MESSAGES


def test_the_console_is_served_beside_the_api_and_health(app):
    rules = {r.rule: r.endpoint for r in app.url_map.iter_rules()}
    console = [rule for rule, endpoint in rules.items() if endpoint.startswith("console.")]
    assert "/" in console and "/login" in console and "/logout" in console
    for rule in console:
        assert not rule.startswith("/api/") and rule not in {"/healthz", "/readyz"}
    assert rules["/healthz"] != "console.home" and rules["/api/v1/openapi.json"]


def test_signing_in_with_a_token_sets_a_safe_session_cookie(browser, tokens):
    response = browser.sign_in(secret_of(tokens["auditor"]))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Only who signed in is kept, never the token itself.
    assert secret_of(tokens["auditor"]) not in cookie
    home = browser.get("/")
    assert "test-auditor" in home.text and 'id="sign-out"' in home.text


@pytest.mark.parametrize("secret", ["gx_not-a-token", "", "x" * 500])
def test_an_unknown_token_is_refused_without_a_session(browser, secret):
    response = browser.sign_in(secret, expect=401)
    assert "令牌无效或已被吊销" in response.text
    assert browser.get("/audit").status_code == 302


def test_a_revoked_token_signs_its_browser_sessions_out(signed_in, session):
    auditor = signed_in("auditor")
    assert auditor.get("/audit").status_code == 200
    revoke_token(session, "test-auditor")
    session.commit()
    response = auditor.get("/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_revoked_token_cannot_sign_in(browser, tokens, session):
    revoke_token(session, "test-regulator")
    session.commit()
    browser.sign_in(secret_of(tokens["regulator"]), expect=401)


def test_sign_out_needs_the_csrf_token_and_ends_the_session(signed_in):
    auditor = signed_in("auditor")
    forged = auditor.post("/logout", csrf=False)
    assert forged.status_code == 403 and "console.csrf_token" in forged.text
    assert auditor.get("/audit").status_code == 200
    assert auditor.post("/logout").status_code == 303
    assert auditor.get("/audit").status_code == 302


def test_a_csrf_token_from_another_session_is_refused(app, signed_in):
    auditor = signed_in("auditor")
    stranger = Browser(app.test_client())
    stolen = csrf_of(stranger.get("/login").text)
    response = auditor.post("/audit/verification", {"csrf_token": stolen})
    assert response.status_code == 403


def test_sign_in_itself_needs_the_csrf_token(browser, tokens):
    response = browser.client.post("/login", data={"token": secret_of(tokens["admin"])})
    assert response.status_code == 403


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(browser, tokens):
    asked = browser.get("/audit?action=token.create")
    assert asked.status_code == 302
    target = asked.headers["Location"]
    login = browser.get(target)
    response = browser.client.post(
        target,
        data={
            "token": secret_of(tokens["auditor"]),
            "csrf_token": csrf_of(login.text),
            "next": "/audit?action=token.create",
        },
    )
    assert response.headers["Location"].endswith("/audit?action=token.create")
    browser.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = browser.get("/login")
        response = browser.client.post(
            "/login",
            data={
                "token": secret_of(tokens["auditor"]),
                "csrf_token": csrf_of(page.text),
                "next": evil,
            },
        )
        assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "path, allowed",
    [
        ("/audit", {"auditor", "admin"}),
        ("/jobs", {"auditor", "regulator", "admin"}),
    ],
)
def test_pages_let_in_the_same_roles_as_the_api(signed_in, path, allowed):
    for role in ("admin", "regulator", "auditor", "centre"):
        response = signed_in(role).get(path)
        if role in allowed:
            assert response.status_code == 200, (role, response.text[:300])
        else:
            assert response.status_code == 403, role
            assert "auth.role_allowed" in response.text


def test_pages_that_need_a_sign_in_send_visitors_to_it(browser):
    for path in ("/audit", "/jobs"):
        response = browser.get(path)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_chinese_by_default_english_on_request_and_remembered(browser):
    assert 'lang="zh-CN"' in browser.get("/").text
    english = browser.get("/?lang=en")
    assert 'lang="en"' in english.text and "console_lang=en" in english.headers["Set-Cookie"]
    assert 'lang="en"' in browser.get("/login").text
    assert 'lang="zh-CN"' in browser.get("/login?lang=zh").text
    assert 'lang="zh-CN"' in browser.get("/?lang=klingon").text


def test_pages_load_nothing_from_elsewhere(browser):
    page = browser.get("/login")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    for url in re.findall(r'(?:href|src)="([^"]+)"', page.text):
        assert url.startswith("/") and not url.startswith("//"), url
    for asset in ("console.css", "console.js", "favicon.svg"):
        assert browser.get(f"/console/static/{asset}").status_code == 200


def test_every_message_exists_in_both_languages():
    assert set(i18n.CATALOGUES["zh"]) == set(i18n.CATALOGUES["en"]) == set(MESSAGES)
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert re.findall(r"\{(\w+)\}", zh) == re.findall(r"\{(\w+)\}", en) or sorted(
            re.findall(r"\{(\w+)\}", zh)
        ) == sorted(re.findall(r"\{(\w+)\}", en)), key


def test_every_message_key_the_console_uses_has_words():
    from pathlib import Path

    import trading.console as package

    root = Path(package.__file__).parent
    used: set[str] = set()
    pattern = re.compile(r"""(?:\b_|translate|text)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")
    for path in [*root.rglob("*.html"), *root.rglob("*.py")]:
        used.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no message keys"
    # Keys also travel as plain strings in templates (``("price", "tenders.price", …)``):
    # any quoted word.word whose first word is a message group counts as a key.
    groups = {key.split(".", 1)[0] for key in MESSAGES}
    quoted = re.compile(r"""["']([a-z_]+\.[a-z0-9_.]+)["']""")
    for path in root.rglob("*.html"):
        used.update(
            k
            for k in quoted.findall(path.read_text(encoding="utf-8"))
            if k.split(".", 1)[0] in groups and k.split(".", 1)[0] not in {"console"}
        )
    # Keys ending in "_" or "." are prefixes completed by a code in the template.
    missing = sorted(k for k in used if k not in MESSAGES and not k.endswith(("_", ".")))
    assert not missing, missing


def test_every_page_module_is_registered(app):
    from trading.console.pages import MODULES

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    for endpoint in (
        "public_lookup",
        "tenders",
        "draws",
        "subjects",
        "alerts",
        "audit",
        "jobs",
        "case_file",
    ):
        assert f"console.{endpoint}" in endpoints
    assert len(MODULES) == 9


def test_a_page_that_fails_answers_html_without_internals(app, signed_in, monkeypatch):
    from trading.console.pages import audit as audit_page

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(audit_page.jobs, "store", broken)
    response = signed_in("auditor").get("/audit")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "secret internals" not in response.text and "内部错误" in response.text
