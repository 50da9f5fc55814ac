"""Job API: start long work, follow it from any host (``GET /api/v1/jobs/{id}``)."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for

from trading import jobs
from trading.auth import access, principal
from trading.errors import ErrorSchema, Forbidden
from trading.fields import UtcDateTime
from trading.openapi import Blueprint
from trading.pagination import PageArgs, page_of

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Long work and its progress")

#: Who may start each kind of job through the API (admin always). Imports need a file and
#: start from the console or the command line.
STARTERS: dict[str, tuple[str, ...]] = {
    "audit_verify": ("auditor",),
    "collusion_scan": ("auditor",),
    "collusion_train": ("auditor",),
}


class JobSchema(ma.Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    owner = ma.fields.String(required=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(jobs.STATES))
    stage = ma.fields.String(required=True)
    done = ma.fields.Integer(required=True)
    total = ma.fields.Integer(allow_none=True)
    percent = ma.fields.Integer(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    error = ma.fields.String(allow_none=True)
    rule = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer(required=True)
    host = ma.fields.String(allow_none=True, metadata={"description": "Host that ran it"})
    created_at = UtcDateTime(required=True)
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    updated_at = UtcDateTime(required=True)


class JobCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(STARTERS)))


def visible(job_id: str) -> jobs.Job:
    me = principal()
    return jobs.store().visible(job_id, me.actor, me.role)


@blp.route("/jobs", methods=["POST"])
@access(blp)
@blp.arguments(JobCreateSchema)
@blp.response(202, JobSchema)
def start_job(data):
    """Start long work; follow it at the ``Location`` given."""
    me = principal()
    if me.role != "admin" and me.role not in STARTERS[data["kind"]]:
        raise Forbidden(
            f"Role '{me.role}' may not start {data['kind']}.",
            errors={"kind": [f"allowed for {', '.join(STARTERS[data['kind']])}"]},
            rule="jobs.kind_allowed",
        )
    job = jobs.start(data["kind"], me.actor)
    return job, 202, {"Location": url_for("jobs.get_job", job_id=job.id)}


@blp.route("/jobs", methods=["GET"])
@access(blp)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(JobSchema))
def list_jobs(args):
    """One's own jobs, newest first (an admin sees everyone's)."""
    me = principal()
    owner = None if me.role == "admin" else me.actor
    return jobs.store().page(owner, args["page"], args["page_size"])


@blp.route("/jobs/<job_id>", methods=["GET"])
@access(blp)
@blp.response(200, JobSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such job of the caller's")
def get_job(job_id):
    """A job's state, progress and result."""
    return visible(job_id)
