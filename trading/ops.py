"""Health, readiness and the audit trail."""

from __future__ import annotations

from functools import cache

import marshmallow as ma
from flask import current_app
from sqlalchemy import select, text

from trading import audit, jobs, migrate
from trading.auth import access, principal
from trading.db import MAX_CURSOR, get_session
from trading.errors import ErrorSchema, error_response
from trading.fields import UtcDateTime
from trading.openapi import Blueprint

health_blp = Blueprint(
    "health", __name__, url_prefix="/", description="Liveness and readiness probes"
)
blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1/audit",
    description="The hash-chained audit trail of every write",
)


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)


class QueueStateSchema(ma.Schema):
    runner = ma.fields.String(
        required=True, metadata={"description": "queue (workers) or inprocess (web workers)"}
    )
    workers = ma.fields.Integer(
        allow_none=True, metadata={"description": "Queue workers alive (heartbeat)"}
    )
    waiting = ma.fields.Integer(allow_none=True, metadata={"description": "Jobs waiting"})


class ReadySchema(HealthSchema):
    database = ma.fields.String(required=True)
    migrations = ma.fields.String(required=True)
    queue = ma.fields.Nested(QueueStateSchema, required=True)


@health_blp.route("/healthz")
@health_blp.doc(security=[])
@health_blp.response(200, HealthSchema)
def healthz():
    """Liveness: the process answers."""
    return {"status": "ok"}


@health_blp.route("/readyz")
@health_blp.doc(security=[])
@health_blp.response(200, ReadySchema)
@health_blp.alt_response(
    503,
    schema=ErrorSchema,
    description="Database unreachable, not at the migrations' head, or the job queue missing",
)
def readyz():
    """Readiness: the database answers, its schema is at the migrations' head, the job queue.

    Queue workers that are not running do not make a web host unready (it still serves);
    their count is reported for the operator.
    """
    try:
        applied = set(get_session().scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:  # any failure to reach the database means "not ready"
        return error_response(
            503,
            "The database is unreachable.",
            {"database": ["unreachable"]},
            "ops.database_reachable",
        )
    expected = _heads()
    if applied != expected:
        return error_response(
            503,
            f"The database schema is at {sorted(applied) or 'nothing'}, not at the migrations' "
            f"head {sorted(expected)}: run `flask --app wsgi db upgrade`.",
            {"migrations": ["not at head"]},
            "ops.migrations_at_head",
        )
    app = current_app._get_current_object()
    queue_state: dict = {"runner": jobs.runner_name(app), "workers": None, "waiting": None}
    if queue_state["runner"] == "queue":
        try:
            from trading import queue

            queue_state.update(queue.status(app))
        except Exception:  # the queue's tables are part of the schema: not ready without
            return error_response(
                503,
                "The job queue does not answer.",
                {"queue": ["unavailable"]},
                "ops.queue_available",
            )
    return {"status": "ready", "database": "ok", "migrations": "head", "queue": queue_state}


@cache
def _heads() -> set[str]:
    return set(migrate.heads())


class AuditQuerySchema(ma.Schema):
    after = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=MAX_CURSOR),
        metadata={"description": "Cursor: entries with seq above this"},
    )
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    actor = ma.fields.String(validate=ma.validate.Length(max=200))
    action = ma.fields.String(validate=ma.validate.Length(max=80))
    target_type = ma.fields.String(validate=ma.validate.Length(max=40))
    target_id = ma.fields.String(validate=ma.validate.Length(max=120))


class AuditEntrySchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    at = UtcDateTime(required=True)
    actor = ma.fields.String(required=True)
    action = ma.fields.String(required=True)
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.String(allow_none=True)
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)
    digest = ma.fields.String(required=True)
    prev_hash = ma.fields.String(required=True)
    hash = ma.fields.String(required=True)
    request_id = ma.fields.String(
        allow_none=True, metadata={"description": "The request that wrote it (X-Request-Id)"}
    )
    redacted = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "before and after withheld: the target is sealed to this reader "
            "(a draw until the end of evaluation); the hashes are the stored ones"
        },
    )
    sealed_until = UtcDateTime(allow_none=True, required=True)


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema), required=True)
    next_after = ma.fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page"},
    )


class AuditVerificationSchema(ma.Schema):
    ok = ma.fields.Boolean(required=True)
    entries = ma.fields.Integer(required=True)
    first_bad = ma.fields.Dict(allow_none=True, required=True)
    keyed = ma.fields.Integer(metadata={"description": "Entries under a keyed hash"})
    checkpoints = ma.fields.Integer(metadata={"description": "Signed checkpoints matched"})


class CheckpointSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    hash = ma.fields.String(required=True)
    at = ma.fields.String(required=True, metadata={"description": "RFC 3339, as signed"})
    public_key = ma.fields.String(required=True, metadata={"description": "Ed25519, base64"})
    signature = ma.fields.String(required=True, metadata={"description": "Ed25519, base64"})


@blp.route("")
@access(blp)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def list_audit(args):
    """Audit entries in chain order, filtered, from a cursor."""
    stmt = select(audit.AuditEntry).where(audit.AuditEntry.seq > args["after"])
    for field in ("actor", "action", "target_type", "target_id"):
        if args.get(field):
            stmt = stmt.where(getattr(audit.AuditEntry, field) == args[field])
    session = get_session()
    rows = list(session.scalars(stmt.order_by(audit.AuditEntry.seq).limit(args["limit"])))
    next_after = rows[-1].seq if len(rows) == args["limit"] else None
    who = principal()
    items = audit.entries_for_reader(session, rows, who.role, who.org)
    return {"items": items, "next_after": next_after}


@blp.route("/verification")
@access(blp)
@blp.response(200, AuditVerificationSchema)
def verify_audit():
    """Recompute the whole chain; name the first entry that does not hold."""
    return audit.verify_chain(get_session()).as_dict()


@blp.route("/checkpoint")
@access(blp)
@blp.response(200, CheckpointSchema)
def audit_checkpoint():
    """A signed checkpoint of the chain's head now: keep it, and verify against it later."""
    from trading import checkpoints

    key = checkpoints.signing_key(current_app._get_current_object())
    return checkpoints.take(get_session(), key)
