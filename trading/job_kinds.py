"""The kinds of long work the service runs as jobs (see trading/jobs.py).

Each is ``work(session, report, params, upload_path) -> summary``: imports read the job's
uploaded file, scans and verification read the database. Imports commit by batch
themselves: a crash keeps what is done, and a retry finds those rows as duplicates.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit.exchange import import_rows, read_rows
from trading import audit
from trading.bids_import import import_bids
from trading.collusion import services as collusion
from trading.jobs import Report, kind
from trading.metrics import counters
from trading.models import Tender


@kind("credit_import")
def credit_import(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    total = os.path.getsize(path) or 1
    with open(path, "rb") as stream:

        def progress(_result) -> None:
            report("rows", min(stream.tell(), total), total)

        result = import_rows(session, read_rows(stream, params["format"]), progress=progress)
    report("rows", total, total)
    return result.as_dict()


@kind("bids_import")
def bids_import(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    total = os.path.getsize(path) or 1
    with open(path, encoding="utf-8-sig", newline="") as stream:

        def progress(_result, _rejected) -> None:
            session.commit()
            report("rows", min(stream.buffer.tell(), total), total)

        result = import_bids(session, stream, on_batch=progress)
    report("rows", total, total)
    return result.as_dict()


@kind("collusion_scan")
def collusion_scan(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    total = session.scalar(select(func.count(Tender.id))) or 0
    report("tenders", 0, total)

    def progress(stage: str, count: int) -> None:
        report(stage, count, total if stage == "tenders" else None)

    result = collusion.scan_market(
        session, progress=progress, every=max(1, min(1000, total // 50 or 1))
    )
    report("store", result.get("tenders", 0), result.get("tenders", 0))
    counters().alerts.inc(result.get("alerts_created", 0))
    return {k: v for k, v in result.items() if k != "alert_ids"}


@kind("audit_verify")
def audit_verify(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    report("verify", 0, None)
    result = audit.verify_chain(session).as_dict()
    report("verify", result["entries"], result["entries"])
    return result


@kind("collusion_train")
def collusion_train(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    from trading.collusion import training

    return training.train(session, report)
