"""Signed checkpoints of the audit chain's head (Ed25519), for a second party to keep.

A checkpoint is ``{"seq", "hash", "at", "public_key", "signature"}``: the head's seq and hash,
when it was taken (RFC 3339), the signer's public key and an Ed25519 signature (base64) over
the canonical JSON ``["gongxin-audit-checkpoint", seq, hash, at]``. Whoever keeps checkpoints
(a file written by ``flask --app wsgi audit checkpoint --out FILE`` from cron, a regulator
fetching ``GET /api/v1/audit/checkpoint``) can later prove that the chain still holds those
entries: ``flask --app wsgi audit verify --checkpoint FILE``. A database insider can delete
the newest entries and reset the head, or re-write the chain with the HMAC key, but cannot
sign a checkpoint without the signing key, which is not in the database.

The signing key is ``AUDIT_SIGNING_KEY`` (base64 of the 32-byte private key) or one kept in the
instance folder. Verification trusts the public key it is given (``--public-key``), else the
one this host signs with; a checkpoint signed by any other key is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from sqlalchemy.orm import Session

from trading import audit, clock

_LABEL = "gongxin-audit-checkpoint"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted: malformed, or not signed by the trusted key."""


def signing_key(app: Flask) -> Ed25519PrivateKey:
    configured = app.config.get("AUDIT_SIGNING_KEY")
    if configured:
        try:
            raw = base64.b64decode(configured, validate=True)
            return Ed25519PrivateKey.from_private_bytes(raw)
        except (binascii.Error, ValueError) as error:
            raise RuntimeError(
                "AUDIT_SIGNING_KEY must be the base64 of a 32-byte Ed25519 private key"
            ) from error
    from trading.app import instance_secret

    seed = instance_secret(app.instance_path, "audit_signing_key", "AUDIT_SIGNING_KEY")
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _message(seq: int, hash_: str, at: str) -> bytes:
    return audit.canonical_json([_LABEL, seq, hash_, at]).encode()


def take(session: Session, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A signed checkpoint of the chain's head now."""
    head = session.get(audit.AuditHead, 1)
    seq, hash_ = (head.seq, head.hash) if head is not None else (0, audit.GENESIS)
    at = clock.rfc3339(clock.now())
    signature = key.sign(_message(seq, hash_, at))
    return {
        "seq": seq,
        "hash": hash_,
        "at": at,
        "public_key": public_key_text(key.public_key()),
        "signature": base64.b64encode(signature).decode(),
    }


def trusted(checkpoint: dict[str, Any], public_key: str) -> tuple[int, str]:
    """(seq, hash) of a checkpoint whose signature by ``public_key`` holds; else CheckpointError."""
    try:
        seq, hash_, at = int(checkpoint["seq"]), str(checkpoint["hash"]), str(checkpoint["at"])
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        signer = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise CheckpointError(f"malformed checkpoint ({error})") from error
    if checkpoint.get("public_key") not in (None, public_key):
        raise CheckpointError(f"checkpoint of seq {seq} is signed by another key")
    try:
        signer.verify(signature, _message(seq, hash_, at))
    except InvalidSignature as error:
        raise CheckpointError(f"checkpoint of seq {seq}: the signature does not hold") from error
    return seq, hash_


def read(lines: Iterable[str], public_key: str) -> dict[int, str]:
    """Checkpoints (JSON lines) whose signatures hold → {seq: hash}; any bad one refuses all."""
    found: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            checkpoint = json.loads(line)
        except ValueError as error:
            raise CheckpointError(f"line {number}: not JSON ({error})") from error
        if not isinstance(checkpoint, dict):
            raise CheckpointError(f"line {number}: not a checkpoint object")
        seq, hash_ = trusted(checkpoint, public_key)
        if found.get(seq, hash_) != hash_:
            raise CheckpointError(f"line {number}: two checkpoints of seq {seq} differ")
        found[seq] = hash_
    return found
