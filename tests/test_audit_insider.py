"""A database insider against the audit chain: re-hashing, truncating, downgrading, forging.

The insider can run any SQL but holds neither the HMAC key (AUDIT_KEYS) nor the checkpoint
signing key. Each attack below passed `audit verify` before keyed hashes and checkpoints.
"""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select, text

from tests.conftest import make_app
from trading import audit, checkpoints
from trading.audit import AuditEntry, AuditHead, canonical_json, entry_hash, verify_chain
from trading.db import database

SUBJECT = {"kind": "bidder", "name": "审计链测试公司", "region": "110105"}
USCCS = ["91110000600037341L", "91310000MA1FL0BX7Q", "91110108MA01ABCD1X"]


def _write_entries(client, tokens, n: int = 3) -> None:
    for k in range(n):
        body = {**SUBJECT, "name": f"审计链测试公司{k}", "uscc": USCCS[k % 2]}
        client.post("/api/v1/subjects", json=body, headers=tokens["regulator"])


def _rehash_from(session, seq: int) -> None:
    """What an insider without the key can do: recompute every hash from ``seq`` with SHA-256."""
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    prev = audit.GENESIS
    for entry in entries:
        if entry.seq >= seq:
            entry.prev_hash = prev
            entry.digest = audit.change_digest(entry.before, entry.after)
            entry.key_id = None
            entry.hash = entry_hash(
                prev, entry.seq, entry.at, entry.actor, entry.action, entry.target_type,
                entry.target_id, entry.digest, entry.request_id,
            )  # fmt: skip
        prev = entry.hash
    head = session.get(AuditHead, 1)
    head.seq, head.hash = entries[-1].seq, entries[-1].hash
    session.flush()


def test_entries_are_written_under_the_configured_key(client, tokens, session):
    _write_entries(client, tokens)
    entries = session.scalars(select(AuditEntry)).all()
    assert entries and {e.key_id for e in entries} == {"test"}
    result = verify_chain(session)
    assert result.ok and result.keyed == len(entries)
    # The stored hash is not the plain SHA-256 an insider could recompute.
    last = entries[-1]
    plain = entry_hash(
        last.prev_hash, last.seq, last.at, last.actor, last.action, last.target_type,
        last.target_id, last.digest, last.request_id,
    )  # fmt: skip
    assert plain != last.hash


def test_an_edit_re_hashed_without_the_key_is_caught(client, tokens, session):
    _write_entries(client, tokens)
    target = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    target.after = {**target.after, "name": "改过的名字"}
    _rehash_from(session, target.seq)  # keyless: every later hash and the head made anew
    result = verify_chain(session)
    assert not result.ok and result.first_bad["seq"] == target.seq
    assert "keyed hash" in result.first_bad["reason"]


def test_an_edit_re_hashed_with_a_guessed_key_is_caught(client, tokens, session):
    _write_entries(client, tokens)
    target = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    target.actor = "regulator:someone-else"
    target.hash = entry_hash(
        target.prev_hash, target.seq, target.at, target.actor, target.action, target.target_type,
        target.target_id, target.digest, target.request_id, "test", b"a guessed key, not it",
    )  # fmt: skip
    session.get(AuditHead, 1).hash = target.hash
    session.flush()
    result = verify_chain(session)
    assert not result.ok and result.first_bad["seq"] == target.seq
    assert "do not match its hash" in result.first_bad["reason"]


def test_keys_rotate_and_old_entries_verify_with_their_own_key(committed_url):
    first = make_app(committed_url, AUDIT_KEYS="k1:first-key-0123456789abcdef")
    with database(first).transaction("test:rotate") as session:
        audit.record(session, "test.rotate", "test", 1, after={"n": 1})
    rotated = make_app(
        committed_url,
        AUDIT_KEYS="k1:first-key-0123456789abcdef,k2:second-key-0123456789abcd",
        AUDIT_KEY_ID="k2",
    )
    with database(rotated).transaction("test:rotate") as session:
        audit.record(session, "test.rotate", "test", 2, after={"n": 2})
    with database(rotated).transaction("test:check") as session:
        keys = [e.key_id for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert keys[-2:] == ["k1", "k2"]
        assert verify_chain(session).ok
    # A host that dropped the old key cannot vouch for the old entries, and says so.
    dropped = make_app(committed_url, AUDIT_KEYS="k2:second-key-0123456789abcd")
    with database(dropped).transaction("test:check") as session:
        result = verify_chain(session)
    assert not result.ok and "'k1'" in result.first_bad["reason"]
    for app in (first, rotated, dropped):
        database(app).dispose()


def test_legacy_entries_before_keys_are_accepted_only_up_to_the_boundary(client, tokens, session):
    _write_entries(client, tokens)
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    _rehash_from(session, 1)  # the whole chain as it was written before keys: unkeyed
    assert not verify_chain(session).ok  # default AUDIT_LEGACY_UNTIL=0: none may be unkeyed
    legacy = audit.Keyring(audit.keyring().keys, "test", legacy_until=entries[-1].seq)
    assert verify_chain(session, keys=legacy).ok


def _checkpoint_app(url: str):
    return make_app(url)


def test_a_truncated_chain_with_its_head_reset_is_caught_by_a_checkpoint(committed_url, tmp_path):
    app = _checkpoint_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        for n in range(5):
            audit.record(session, "test.entry", "test", n, after={"n": n})
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    kept = tmp_path / "checkpoints.jsonl"
    taken = runner.invoke(app.cli, ["audit", "checkpoint", "--out", str(kept)], obj=info)
    assert taken.exit_code == 0, taken.output
    checkpoint = json.loads(kept.read_text().splitlines()[-1])
    assert checkpoint["seq"] == 5
    ok = runner.invoke(app.cli, ["audit", "verify", "--checkpoint", str(kept)], obj=info)
    assert ok.exit_code == 0 and "1 of 1 signed checkpoints matched" in ok.output, ok.output
    with database(app).engine.begin() as conn:  # the insider: drop the last two, reset head
        conn.execute(text("DELETE FROM audit_entries WHERE seq > 3"))
        last = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 3")).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": last})
    plain = runner.invoke(app.cli, ["audit", "verify"], obj=info)
    assert plain.exit_code == 0  # nothing inside the database can tell
    caught = runner.invoke(app.cli, ["audit", "verify", "--checkpoint", str(kept)], obj=info)
    assert caught.exit_code == 1
    assert "entries deleted at the end" in caught.output + (caught.stderr or "")
    database(app).dispose()


def test_a_forged_checkpoint_is_refused(committed_url, tmp_path):
    app = _checkpoint_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        audit.record(session, "test.entry", "test", 1, after={"n": 1})
        real = checkpoints.take(session, checkpoints.signing_key(app))
    public = real["public_key"]
    forged = {**real, "seq": real["seq"] + 10}  # an insider "moves" the checkpoint
    try:
        checkpoints.read([json.dumps(forged)], public)
        raise AssertionError("a forged checkpoint must be refused")
    except checkpoints.CheckpointError as error:
        assert "signature" in str(error)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = checkpoints.take(database(app).session(), Ed25519PrivateKey.generate())
    try:
        checkpoints.read([json.dumps(other)], public)
        raise AssertionError("a checkpoint by another key must be refused")
    except checkpoints.CheckpointError as error:
        assert "another key" in str(error)
    assert checkpoints.read([json.dumps(real)], public) == {real["seq"]: real["hash"]}
    database(app).dispose()


def test_a_rewritten_entry_differs_from_its_checkpoint(committed_url):
    # Even an insider holding the HMAC key cannot re-write what a checkpoint holds.
    app = _checkpoint_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        audit.record(session, "test.entry", "test", 1, after={"n": 1})
    with database(app).transaction("test:checkpoint") as session:
        cp = checkpoints.take(session, checkpoints.signing_key(app))
    assert cp["seq"] == 1
    keys = audit.keyring()
    with database(app).transaction("test:insider") as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == cp["seq"])).one()
        entry.after = {"n": 999}
        entry.digest = audit.change_digest(entry.before, entry.after)
        entry.hash = entry_hash(
            entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.target_type,
            entry.target_id, entry.digest, entry.request_id, entry.key_id, keys.keys[entry.key_id],
        )  # fmt: skip
        session.get(AuditHead, 1).hash = entry.hash
    with database(app).transaction("test:check") as session:
        assert verify_chain(session).ok  # the key holder's forgery holds inside the database
        result = verify_chain(session, checkpoints={cp["seq"]: cp["hash"]})
    assert not result.ok and "signed checkpoint" in result.first_bad["reason"]
    database(app).dispose()


def test_the_api_signs_a_checkpoint_for_a_regulator_to_keep(client, tokens):
    _write_entries(client, tokens, 1)
    answer = client.get("/api/v1/audit/checkpoint", headers=tokens["regulator"])
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["at"].endswith("+00:00") and len(body["hash"]) == 64
    assert checkpoints.read([json.dumps(body)], body["public_key"]) == {body["seq"]: body["hash"]}
    assert client.get("/api/v1/audit/checkpoint", headers=tokens["centre"]).status_code == 403
    assert hashlib.sha256(canonical_json(body).encode()).hexdigest()  # JSON-able as kept
