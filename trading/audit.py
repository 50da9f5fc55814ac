"""Audit chain: every write appends an entry, chained by hash, in the write's own transaction.

Services call :func:`record`; the entries are written when the session commits, under a lock
on the single ``audit_head`` row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions
already begin with ``BEGIN IMMEDIATE``), so concurrent writers queue instead of forking the
chain. ``seq`` is unique as a second guard. The head row remembers the last entry, so even the
deletion of the newest entries is detected.

Hash of an entry: HMAC-SHA256 under the key named by ``key_id`` over the canonical JSON array
``[prev_hash, seq, at, actor, action, target_type, target_id, digest, request_id, key_id]``
where ``digest`` is the SHA-256 of the canonical JSON ``{"before": …, "after": …}``, ``at`` is
ISO 8601 (UTC, naive) and ``request_id`` is left out when there is none. Entries written before
keys were used (``key_id`` null) hash with plain SHA-256 over the array without ``key_id``.

What each guard protects against:

- **The keyed hash** (``AUDIT_KEYS``, from the environment; rotatable: new entries use
  ``AUDIT_KEY_ID``, old ones verify with their own key as long as it stays listed): someone who
  can write to the database but does not hold the key cannot edit an entry and re-hash the
  chain after it; nor turn keyed entries into unkeyed ones (after ``AUDIT_LEGACY_UNTIL``
  every entry must be keyed).
- **Signed checkpoints** (trading/checkpoints.py, Ed25519): a checkpoint of the head kept by a
  second party (a file, a regulator's copy) catches what no hash inside the database can:
  deleting the newest entries and resetting the head, or re-writing the whole chain by someone
  who also holds the HMAC key. ``flask --app wsgi audit verify --checkpoint FILE``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from trading import clock
from trading.db import Base

GENESIS = "0" * 64
_PENDING = "audit_pending"


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    # A target's history (a draw's entries, which its verification compares) is one range.
    __table_args__ = (Index("ix_audit_entries_target", "target_type", "target_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(120))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The request that wrote it (X-Request-Id); None for the command line. Part of the hash.
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The key of its keyed hash (0051_audit_keys); None for entries written before keys.
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHead(Base):
    """The single row holding the chain's newest entry; locked by every writer."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _plain(value: Any) -> Any:
    """What the JSON column will give back, so the digest is computed over stored content."""
    return None if value is None else json.loads(canonical_json(value))


def change_digest(before: Any, after: Any) -> str:
    return hashlib.sha256(canonical_json({"before": before, "after": after}).encode()).hexdigest()


@dataclass(frozen=True)
class Keyring:
    """The chain's HMAC keys by id, the one new entries use, and the legacy boundary."""

    keys: dict[str, bytes]
    current: str | None
    legacy_until: int = 0


_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,16}$")
_keyring = Keyring({}, None)


def parse_keys(text: str) -> dict[str, bytes]:
    """``id:secret[,id:secret…]`` → {id: secret}; ids 1–16 of ``A-Za-z0-9._-``, secrets ≥ 16."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key_id, sep, secret = part.partition(":")
        if not sep or not _KEY_ID.match(key_id) or len(secret) < 16 or key_id in keys:
            raise RuntimeError(
                "AUDIT_KEYS must be id:secret pairs separated by commas (ids of 1-16 letters, "
                "digits, '.', '_' or '-', each once; secrets of 16 characters or more)"
            )
        keys[key_id] = secret.encode()
    if not keys:
        raise RuntimeError("AUDIT_KEYS holds no key")
    return keys


def configure(keyring: Keyring) -> None:
    """Set the keys this process writes and verifies with (the app factory calls it)."""
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    return _keyring


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    digest: str,
    request_id: str | None = None,
    key_id: str | None = None,
    key: bytes | None = None,
) -> str:
    material = [prev_hash, seq, at.isoformat(), actor, action, target_type, target_id, digest]
    if request_id is not None:  # entries written before request ids hash as they did
        material.append(request_id)
    if key_id is None:  # entries written before keys: plain SHA-256
        return hashlib.sha256(canonical_json(material).encode()).hexdigest()
    material.append(key_id)
    return hmac.new(key, canonical_json(material).encode(), hashlib.sha256).hexdigest()


@dataclass
class _Pending:
    action: str
    target_type: str
    target_id: str | None
    before: Any
    after: Any
    actor: str | None


def record(
    session: Session,
    action: str,
    target_type: str,
    target_id: Any = None,
    *,
    before: Any = None,
    after: Any = None,
    actor: str | None = None,
) -> None:
    """Queue an audit entry; it is chained and written when ``session`` commits."""
    session.info.setdefault(_PENDING, []).append(
        _Pending(
            action,
            target_type,
            None if target_id is None else str(target_id),
            _plain(before),
            _plain(after),
            actor,
        )
    )


def _write_pending(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    prev, seq = head.hash, head.seq
    now = clock.now()
    default_actor = session.info.get("actor", "system")
    request_id = session.info.get("request_id")
    key_id = _keyring.current
    key = _keyring.keys.get(key_id) if key_id else None
    rows = []
    for item in pending:
        seq += 1
        actor = item.actor or default_actor
        digest = change_digest(item.before, item.after)
        digest_hash = entry_hash(
            prev,
            seq,
            now,
            actor,
            item.action,
            item.target_type,
            item.target_id,
            digest,
            request_id,
            key_id,
            key,
        )
        rows.append(
            dict(
                seq=seq,
                at=now,
                actor=actor,
                action=item.action,
                target_type=item.target_type,
                target_id=item.target_id,
                before=item.before,
                after=item.after,
                digest=digest,
                prev_hash=prev,
                hash=digest_hash,
                request_id=request_id,
                key_id=key_id,
            )
        )
        prev = digest_hash
    session.execute(AuditEntry.__table__.insert(), rows)
    head.seq, head.hash = seq, prev
    session.flush()


# --- reading: sealed content ---------------------------------------------------------

#: (session, target ids, reader's role, reader's organisation) -> {target id: unseal time}
#: for the targets whose content this reader may not see yet.
Sealer = Callable[[Session, Sequence[str], str | None, str | None], dict[str, datetime]]
_SEALERS: dict[str, tuple[Sealer, frozenset[str] | None]] = {}

_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "digest",
    "prev_hash",
    "hash",
    "request_id",
)


def seal_entries_of(target_type: str, sealer: Sealer, actions: Sequence[str] | None = None) -> None:
    """Let a domain keep the content of its entries (of these ``actions``, or all) from
    readers until it unseals (a draw's experts until the end of evaluation)."""
    _SEALERS[target_type] = (sealer, None if actions is None else frozenset(actions))


def _sealable(entry: AuditEntry) -> bool:
    found = _SEALERS.get(entry.target_type)
    return (
        found is not None
        and entry.target_id is not None
        and (found[1] is None or entry.action in found[1])
    )


def entries_for_reader(
    session: Session, entries: Sequence[AuditEntry], role: str | None, org: str | None
) -> list[dict[str, Any]]:
    """Entries as this reader may see them: ``before`` and ``after`` of a sealed target are
    withheld (``redacted``, ``sealed_until``) while every hash stays as stored. The chain
    is verified over the full entries (:func:`verify_chain`); a reader can follow
    ``prev_hash`` links now and check a redacted entry's ``digest`` once it unseals."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if _sealable(entry):
            wanted.setdefault(entry.target_type, set()).add(entry.target_id)
    sealed = {
        (target_type, target_id): until
        for target_type, ids in wanted.items()
        for target_id, until in _SEALERS[target_type][0](session, sorted(ids), role, org).items()
    }
    shown = []
    for entry in entries:
        view = {column: getattr(entry, column) for column in _COLUMNS}
        until = sealed.get((entry.target_type, entry.target_id)) if _sealable(entry) else None
        view["redacted"] = until is not None
        view["sealed_until"] = until
        if until is not None:
            view["before"] = view["after"] = None
        shown.append(view)
    return shown


_listening = False


def install() -> None:
    """Hook the chain into every session's commit (once per process)."""
    global _listening
    if not _listening:
        event.listen(Session, "before_commit", _write_pending)
        _listening = True


@dataclass
class Verification:
    ok: bool
    entries: int
    first_bad: dict | None
    keyed: int = 0  # entries under a keyed hash
    checkpoints: int = 0  # signed checkpoints matched

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad": self.first_bad,
            "keyed": self.keyed,
            "checkpoints": self.checkpoints,
        }


def _entries(session: Session) -> Iterator[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)
    yield from session.scalars(stmt)


def entry_problem(entry: AuditEntry, keys: Keyring | None = None) -> str | None:
    """Why an entry does not hold by itself (content, key or fields edited), or None."""
    keys = keys or _keyring
    if change_digest(entry.before, entry.after) != entry.digest:
        return "before/after content does not match its digest: edited"
    if entry.key_id is not None and entry.key_id not in keys.keys:
        return f"entry is under key {entry.key_id!r}, which this host does not hold (AUDIT_KEYS)"
    recomputed = entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.digest,
        entry.request_id,
        entry.key_id,
        keys.keys.get(entry.key_id) if entry.key_id else None,
    )
    if recomputed != entry.hash:
        return "entry fields do not match its hash: edited or forged"
    return None


def verify_chain(
    session: Session,
    *,
    keys: Keyring | None = None,
    checkpoints: dict[int, str] | None = None,
) -> Verification:
    """Walk the chain from the start; report the first entry that does not hold.

    ``checkpoints`` ({seq: hash}, signatures already checked) must each match the entry of
    their seq, and none may lie beyond the chain's end.
    """
    keys = keys or _keyring
    checkpoints = checkpoints or {}
    expected_prev, expected_seq, count, keyed, matched = GENESIS, 1, 0, 0, 0

    def bad(entry: AuditEntry | None, seq: int, reason: str) -> Verification:
        where = {"seq": seq, "id": entry.id if entry else None, "reason": reason}
        return Verification(False, count, where, keyed, matched)

    for entry in _entries(session):
        if entry.seq != expected_seq:
            return bad(
                entry,
                expected_seq,
                f"entry {expected_seq} is missing (next present is {entry.seq}): deleted",
            )
        if entry.prev_hash != expected_prev:
            return bad(entry, entry.seq, "prev_hash does not link to the previous entry")
        if change_digest(entry.before, entry.after) != entry.digest:
            return bad(entry, entry.seq, "before/after content does not match its digest: edited")
        if entry.key_id is None and keys.keys and (keyed or entry.seq > keys.legacy_until):
            return bad(
                entry,
                entry.seq,
                "entry is not under a keyed hash, but every entry after "
                f"{keys.legacy_until} must be (AUDIT_LEGACY_UNTIL): re-written without the key",
            )
        if (problem := entry_problem(entry, keys)) is not None:
            return bad(entry, entry.seq, problem)
        if entry.seq in checkpoints:
            if checkpoints[entry.seq] != entry.hash:
                return bad(
                    entry,
                    entry.seq,
                    "entry differs from the signed checkpoint of this seq: re-written",
                )
            matched += 1
        keyed += entry.key_id is not None
        expected_prev, expected_seq = entry.hash, entry.seq + 1
        count += 1
    beyond = [seq for seq in checkpoints if seq >= expected_seq]
    if beyond:
        return bad(
            None,
            expected_seq,
            f"a signed checkpoint holds entry {max(beyond)}, but the chain ends at "
            f"{expected_seq - 1}: entries deleted at the end",
        )
    head = session.get(AuditHead, 1)
    if head is None:
        return bad(None, expected_seq, "chain head row is missing")
    if head.seq != expected_seq - 1 or head.hash != expected_prev:
        if head.seq > expected_seq - 1:
            return bad(
                None,
                expected_seq,
                f"entries {expected_seq}..{head.seq} are missing: deleted at the end",
            )
        return bad(None, head.seq, "chain head does not match the last entry")
    return Verification(True, count, None, keyed, matched)
