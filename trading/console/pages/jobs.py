"""Long work and its progress: the list of one's jobs, a job's page, its progress as JSON.

Starting pages live with their domain (the audit chain, imports, scans); here jobs are
shown. Only the principal who started a job (or an admin) sees it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, current_app, g, jsonify, render_template

from trading import jobs
from trading.console import i18n
from trading.console.blueprint import console, translate
from trading.console.signin import page, user

_STARTERS = ("console.credit_import", "console.bids_import", "console.collusion_scan")


def _visible(job_id: str) -> jobs.Job:
    me = user()
    return jobs.store().visible(job_id, me.actor, me.role)


@console.route("/jobs", endpoint="jobs")
@page("regulator", "auditor")
def jobs_index() -> Any:
    me = user()
    owner = None if me.role == "admin" else me.actor
    # Starting forms appear for the domains whose pages are registered.
    starters = {e for e in _STARTERS if e in current_app.view_functions}
    return render_template(
        "console/jobs.html", recent=jobs.store().recent(owner), starters=starters
    )


@console.route("/jobs/<job_id>")
@page("regulator", "auditor")
def job(job_id: str) -> Any:
    lang = g.get("lang", i18n.DEFAULT)
    stages = {
        key.split(".", 1)[1]: text
        for key, text in i18n.CATALOGUES[lang].items()
        if key.startswith("job_stage.")
    }
    return render_template("console/job.html", job=_visible(job_id), stage_names=stages)


@console.route("/jobs/<job_id>/rejected.csv")
@page("regulator", "auditor")
def job_rejected(job_id: str) -> Any:
    """The rejected rows of an import as CSV: line, the row's own text, field, reason."""
    job = _visible(job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([translate(f"jobs.csv.{k}") for k in ("line", "raw", "field", "reason")])
    for row in (job.result or {}).get("rejected", []):
        reasons = [
            (name, message)
            for name, messages in (row.get("errors") or {}).items()
            for message in _flat(messages)
        ] or [("", "")]
        for name, message in reasons:
            writer.writerow([row.get("line"), row.get("raw", ""), name, message])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="rejected-{job.id}.csv"'
    return response


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [f"{k}: {m}" for k, v in messages.items() for m in _flat(v)]
    if isinstance(messages, list):
        return [m for item in messages for m in _flat(item)]
    return [str(messages)]


@console.route("/jobs/<job_id>/progress")
@page("regulator", "auditor")
def job_progress(job_id: str) -> Any:
    return jsonify(_visible(job_id).as_dict())
