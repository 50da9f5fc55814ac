"""Who may do what: every operation of the API and the roles that may call it, in one table.

The roles are the design's (DESIGN, "Who uses it"): a trading centre registers subjects,
tenders and bids, asks eligibility, draws experts and scans its own tender at opening; a
regulator keeps the credit register (subjects, relations, records, listings, exchange
files) and runs inspections; an auditor reads tenders and bids, runs collusion scans,
reviews alerts, reads draws after unsealing and the audit trail; an admin may do
everything. ``None`` marks an operation open to the public (no token).

Where a role reaches further than the design's table, the README ("Roles") says why.
Rules inside an operation narrow it further (a centre sees its own draws and scans its own
tenders; regulators see expert ID numbers masked).
"""

from __future__ import annotations

PUBLIC = None

#: The credit register is read by those who decide with it: centres at their gates,
#: regulators who keep it.
CREDIT_READERS = ("centre", "regulator")
CREDIT_KEEPERS = ("regulator",)
TENDER_READERS = ("centre", "regulator", "auditor")
DRAW_READERS = ("centre", "auditor", "regulator")
ALERT_READERS = ("auditor", "regulator")
ADMIN_ONLY: tuple[str, ...] = ()

#: Endpoint (``blueprint.view``) -> roles besides admin, or PUBLIC.
OPERATIONS: dict[str, tuple[str, ...] | None] = {
    # credit register
    "credit.create_subject": ("centre", "regulator"),
    "credit.list_subjects": CREDIT_READERS,
    "credit.get_subject": CREDIT_READERS,
    "credit.add_relation": CREDIT_KEEPERS,
    "credit.add_record": CREDIT_KEEPERS,
    "credit.get_record": CREDIT_READERS,
    "credit.revoke_record": CREDIT_KEEPERS,
    "credit.list_subject": CREDIT_KEEPERS,
    "credit.get_listing": CREDIT_READERS,
    "credit.lift_listing": CREDIT_KEEPERS,
    "credit.credit": CREDIT_READERS,
    "credit.subject_eligibility": CREDIT_READERS,
    "credit.screen_eligibility": CREDIT_READERS,
    "credit.blacklist": CREDIT_READERS,
    "credit.import_exchange": CREDIT_KEEPERS,
    "credit.exchange_changes": CREDIT_KEEPERS,
    "credit_lifecycle.rename_subject": CREDIT_KEEPERS,
    "credit_lifecycle.end_subject": CREDIT_KEEPERS,
    "credit_cases.file_case": ("centre", "regulator"),
    "credit_cases.get_case": CREDIT_READERS,
    "credit_cases.accept_case": CREDIT_KEEPERS,
    "credit_cases.decide_case": CREDIT_KEEPERS,
    "public.public_credit": PUBLIC,
    "public.public_blacklist": PUBLIC,
    # experts, draws, inspections
    "experts.specialty_tree": PUBLIC,
    "experts.create_expert": ADMIN_ONLY,
    "experts.list_experts": ("regulator",),
    "experts.get_expert": ("regulator",),
    "experts.update_expert": ADMIN_ONLY,
    "experts.change_status": ADMIN_ONLY,
    "experts.add_leave": ADMIN_ONLY,
    "experts.add_relation": ADMIN_ONLY,
    "experts.create_draw": ("centre",),
    "experts.list_draws": DRAW_READERS,
    "experts.get_draw": DRAW_READERS,
    "experts.verify_draw": DRAW_READERS,
    "experts.supply_entropy": ("centre", "regulator"),
    "experts.void": ("centre",),
    "experts.replace": ("centre",),
    "experts.feedback": ("centre",),
    "experts.create_inspection": ("regulator",),
    "experts.list_inspections": PUBLIC,
    "experts.get_inspection": PUBLIC,
    "experts.record_result": ("regulator",),
    "experts.publish_inspection": ("regulator",),
    # tenders and bids
    "tenders.create_tender": ("centre", "regulator"),
    "tenders.list_tenders": TENDER_READERS,
    "tenders.get_tender": TENDER_READERS,
    "tenders.register_bid": ("centre",),
    "tenders.award_tender": ("centre",),
    # collusion
    "collusion.create_scan": ("auditor", "centre"),
    "collusion.list_alerts": ALERT_READERS,
    "collusion.get_alert": ALERT_READERS,
    "collusion.review_alert": ("auditor",),
    "collusion.review_tender": ("auditor",),
    "collusion.list_models": ALERT_READERS,
    "collusion.train_model": ("auditor",),
    "collusion.get_model": ALERT_READERS,
    # audit trail and jobs
    "audit.list_audit": ("auditor",),
    "audit.verify_audit": ("auditor",),
    "audit.audit_checkpoint": ("auditor", "regulator"),
    "jobs.start_job": ("centre", "regulator", "auditor"),
    "jobs.list_jobs": ("centre", "regulator", "auditor"),
    "jobs.get_job": ("centre", "regulator", "auditor"),
}


def roles_for(endpoint: str) -> tuple[str, ...] | None:
    """The roles (besides admin) that may call ``endpoint``, or PUBLIC; a KeyError for an
    operation missing from the table, so that none is left unguarded by oversight."""
    return OPERATIONS[endpoint]
