"""The service core: health, the error shape, auth, tokens, the audit chain, migrations."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from tests.conftest import CENTRE_USCC, make_app
from trading import audit, migrate
from trading.auth import create_token, revoke_token
from trading.db import database, make_engine
from trading.models_index import all_metadata

ERROR_KEYS = {"code", "status", "message", "errors"}


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["database"] == "ok"
    assert ready["migrations"] == "head" and ready["queue"]["runner"] == "inline"


def test_readyz_fails_when_the_database_is_unreachable():
    app = make_app("postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json().keys() >= ERROR_KEYS


def test_unknown_path_and_wrong_method_use_the_error_shape(client):
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    body = response.get_json()
    assert body.keys() >= ERROR_KEYS and body["code"] == 404
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.get_json()["status"] == "Method Not Allowed"


def test_no_token_bad_token_and_revoked_token_are_401(client, tokens, session):
    assert client.get("/api/v1/audit").status_code == 401
    bad = client.get("/api/v1/audit", headers={"Authorization": "Bearer gx_not-a-token"})
    assert bad.status_code == 401
    assert bad.get_json()["rule"] == "auth.token_valid"
    assert client.get("/api/v1/audit", headers=tokens["auditor"]).status_code == 200
    revoke_token(session, "test-auditor")
    session.commit()
    assert client.get("/api/v1/audit", headers=tokens["auditor"]).status_code == 401


def test_a_role_that_may_not_gets_403_naming_the_rule(client, tokens):
    response = client.get("/api/v1/audit", headers=tokens["centre"])
    assert response.status_code == 403
    body = response.get_json()
    assert body["rule"] == "auth.role_allowed" and "centre" in body["message"]


def test_tokens_are_stored_hashed(session, app):
    secret = create_token(session, name="hash-check", role="regulator")
    session.flush()
    stored = session.execute(text("SELECT digest FROM api_tokens WHERE name='hash-check'")).one()
    assert secret not in stored[0] and len(stored[0]) == 64


def test_tokens_cli_prints_the_secret_alone_on_the_last_line(committed_url):
    app = make_app(committed_url)
    runner = CliRunner()
    cli = app.cli
    result = runner.invoke(
        cli,
        ["tokens", "create", "--role", "centre", "--org", CENTRE_USCC, "--name", "centre-a"],
        obj=_script_info(app),
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("gx_") and " " not in secret
    client = app.test_client()
    # a centre may not read the audit trail, but the token itself is recognised (403, not 401)
    assert (
        client.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 403
    )
    listed = runner.invoke(cli, ["tokens", "list"], obj=_script_info(app))
    assert "centre-a\tcentre" in listed.output and secret not in listed.output
    refused = runner.invoke(
        cli, ["tokens", "create", "--role", "centre", "--name", "no-org"], obj=_script_info(app)
    )
    assert refused.exit_code == 2 and "org" in refused.output
    revoked = runner.invoke(cli, ["tokens", "revoke", "centre-a"], obj=_script_info(app))
    assert revoked.exit_code == 0
    assert (
        client.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )
    database(app).dispose()


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_writes_are_chained_and_the_chain_verifies(client, tokens, session):
    create_token(session, name="another", role="auditor")
    session.commit()
    listing = client.get("/api/v1/audit?limit=1000", headers=tokens["auditor"]).get_json()
    actions = [item["action"] for item in listing["items"]]
    assert actions.count("token.create") == 6
    items = listing["items"]
    for previous, entry in zip(items, items[1:], strict=False):
        assert entry["prev_hash"] == previous["hash"] and entry["seq"] == previous["seq"] + 1
    verification = client.get("/api/v1/audit/verification", headers=tokens["auditor"]).get_json()
    assert verification == {
        "ok": True,
        "entries": 6,
        "first_bad": None,
        "keyed": 6,
        "checkpoints": 0,
    }


def _chain_of(session, n: int) -> None:
    for i in range(n):
        create_token(session, name=f"chain-{i}", role="auditor")
        session.commit()


@pytest.mark.parametrize(
    "tamper, bad_seq, words",
    [
        ("UPDATE audit_entries SET actor='someone-else' WHERE seq=3", 3, "hash"),
        ('UPDATE audit_entries SET after=\'{"name": "x"}\' WHERE seq=2', 2, "digest"),
        ("DELETE FROM audit_entries WHERE seq=4", 4, "deleted"),
        ("DELETE FROM audit_entries WHERE seq=5", 5, "deleted at the end"),
        (
            "INSERT INTO audit_entries"
            " (seq, at, actor, action, target_type, digest, prev_hash, hash)"
            " VALUES (6, '2026-01-01 00:00:00', 'x', 'token.create', 'token', 'd', 'p', 'h')",
            6,
            "link",
        ),
    ],
)
def test_tampering_behind_the_services_back_is_caught_and_located(
    app, session, client, tokens, tamper, bad_seq, words
):
    # tokens fixture wrote 5 entries; _chain_of adds 0 so the chain is seq 1..5
    session.execute(text(tamper))
    session.commit()
    result = audit.verify_chain(session)
    assert not result.ok
    assert result.first_bad["seq"] == bad_seq
    assert words in result.first_bad["reason"]
    answer = client.get("/api/v1/audit/verification", headers=tokens["admin"]).get_json()
    assert answer["ok"] is False and answer["first_bad"]["seq"] == bad_seq


def test_audit_verify_cli_exits_1_on_a_broken_chain(committed_url):
    app = make_app(committed_url)
    runner = CliRunner()
    for name in ("a", "b", "c"):
        assert (
            runner.invoke(
                app.cli,
                ["tokens", "create", "--role", "auditor", "--name", name],
                obj=_script_info(app),
            ).exit_code
            == 0
        )
    ok = runner.invoke(app.cli, ["audit", "verify"], obj=_script_info(app))
    assert ok.exit_code == 0 and "3 entries" in ok.output
    engine = make_engine(committed_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET action='token.revoke' WHERE seq=2"))
    engine.dispose()
    broken = runner.invoke(app.cli, ["audit", "verify"], obj=_script_info(app))
    assert broken.exit_code == 1 and "seq 2" in broken.output
    database(app).dispose()


def test_concurrent_writers_do_not_fork_the_chain(committed_url, backend):
    app = make_app(committed_url)
    db = database(app)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(5):
                with db.transaction(f"test:writer{k}") as s:
                    create_token(s, name=f"w{k}-{i}", role="auditor")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.transaction("test") as s:
        result = audit.verify_chain(s)
        seqs = [row[0] for row in s.execute(text("SELECT seq FROM audit_entries ORDER BY seq"))]
    assert result.ok and result.entries == 40
    assert seqs == list(range(1, 41))
    db.dispose()


def test_migrations_have_one_head():
    assert len(migrate.heads()) == 1


def _not_the_queue_s(name, kind, _parent) -> bool:
    # procrastinate's own tables (PostgreSQL) are its schema, applied by 0050_jobs.
    return not (kind == "table" and name and name.startswith("procrastinate_"))


def test_migrated_schema_matches_the_models(migrated):
    engine = make_engine(migrated.url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": _not_the_queue_s}
            ),
            all_metadata(),
        )
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_base_and_upgrade_again(committed_url):
    migrate.downgrade(committed_url, "base")
    engine = create_engine(committed_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        tables = conn.dialect.get_table_names(conn)
    engine.dispose()
    assert set(tables) <= {"alembic_version"}
    migrate.upgrade(committed_url)


def _json_post_paths(client) -> list[str]:
    document = client.get("/api/v1/openapi.json").get_json()
    found = []
    for path, item in document["paths"].items():
        body = item.get("post", {}).get("requestBody", {})
        if "application/json" in body.get("content", {}) and "{" not in path:
            found.append(path)
    return found


def test_malformed_json_bodies_get_the_error_shape(client, tokens):
    paths = _json_post_paths(client)
    assert paths, "no JSON POST endpoint to try"
    for path in paths:
        response = client.post(
            path,
            data=b'{"kind": "bidder",',
            headers={**tokens["admin"], "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422), (path, response.status_code)
        assert ERROR_KEYS <= response.get_json().keys()


def test_the_openapi_document_describes_auth_and_errors_for_every_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert "bearerAuth" in document["components"]["securitySchemes"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            where = f"{method.upper()} {path}"
            assert "security" in operation, f"{where} does not say whether it needs a token"
            if operation["security"]:
                assert {"401", "403"} <= operation["responses"].keys(), where
            has_input = operation.get("parameters") or operation.get("requestBody")
            if has_input and path not in ("/healthz", "/readyz"):
                assert "422" in operation["responses"], f"{where} does not document 422"


def test_no_engine_is_created_before_first_use(migrated):
    app = make_app(migrated.url)
    db = database(app)
    assert db._engine is None  # created lazily, after gunicorn has forked its workers
    app.test_client().get("/readyz")
    assert db._engine is not None
    db.dispose()


def test_a_forked_process_builds_its_own_engine(migrated):
    import os

    app = make_app(migrated.url)
    db = database(app)
    parent = db.engine
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn worker forked after the app was loaded
        fresh = db.engine
        os.write(write_end, b"1" if fresh is not parent and db.engine is fresh else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read_end, 1) == b"1"
    assert db.engine is parent
    db.dispose()


def test_under_ci_an_unreachable_postgresql_fails_instead_of_skipping(tmp_path):
    import os
    import subprocess
    import sys

    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_probe(app):\n    assert app\n")
    env = {**os.environ, "CI": "true", "TEST_DATABASE_URL": "postgresql://x@127.0.0.1:1/none"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(probe),
            "-q",
            "-p",
            "no:cacheprovider",
            "--backends",
            "postgresql",
            "-c",
            "/dev/null",
            "--confcutdir",
            str(tmp_path),
            "-p",
            "tests.conftest",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.getcwd(),
    )
    assert run.returncode != 0, run.stdout
    assert "unreachable" in run.stdout and "CI=true" in run.stdout
    env["CI"] = ""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(probe),
            "-q",
            "-p",
            "no:cacheprovider",
            "--backends",
            "postgresql",
            "-rs",
            "-c",
            "/dev/null",
            "--confcutdir",
            str(tmp_path),
            "-p",
            "tests.conftest",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.getcwd(),
    )
    assert run.returncode == 0 and "1 skipped" in run.stdout, run.stdout
