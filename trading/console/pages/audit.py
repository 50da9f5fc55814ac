"""The audit chain: its head, its newest entries, and a full verification as a job."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from trading import audit as chain
from trading import jobs
from trading.console.blueprint import console
from trading.console.signin import page, user
from trading.db import get_session

PAGE_SIZE = 50
_FILTERS = ("actor", "action", "target_type", "target_id")


def _cursor() -> int | None:
    try:
        value = int(request.args.get("before", ""))
    except ValueError:
        return None
    return value if value > 0 else None


@console.route("/audit")
@page("auditor")
def audit() -> Any:
    session = get_session()
    head = session.get(chain.AuditHead, 1)
    filters = {k: request.args.get(k, "").strip()[:200] for k in _FILTERS}
    # Newest first from a cursor on seq: one index range, however long the chain grows.
    stmt = select(chain.AuditEntry).order_by(chain.AuditEntry.seq.desc()).limit(PAGE_SIZE + 1)
    before = _cursor()
    if before is not None:
        stmt = stmt.where(chain.AuditEntry.seq < before)
    for name, value in filters.items():
        if value:
            stmt = stmt.where(getattr(chain.AuditEntry, name) == value)
    rows = list(session.scalars(stmt))
    older = rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None
    checks = jobs.store().recent(None, limit=1, kind_name="audit_verify")
    return render_template(
        "console/audit.html",
        head=head,
        entries=rows[:PAGE_SIZE],
        older=older,
        filters=filters,
        last_check=checks[0] if checks else None,
    )


@console.route("/audit/verification", methods=["POST"])
@page("auditor")
def audit_verification() -> Any:
    job = jobs.start("audit_verify", user().actor)
    return redirect(url_for("console.job", job_id=job.id), code=303)
