"""The kinds of long work the service runs as jobs (see trading/jobs.py).

Each is ``work(session, report, params, upload_path) -> summary``: imports read the job's
uploaded file, scans and verification read the database. Imports commit by batch
themselves: a crash keeps what is done, and a retry finds those rows as duplicates.
"""

from __future__ import annotations

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

#: Characters of a rejected line kept with its reasons (for the CSV of rejected rows).
RAW_KEPT = 2000


def count_lines(path: str) -> int:
    """Lines in a file (a last line without a newline counts), read in blocks."""
    lines, last = 0, b"\n"
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def with_raw_lines(path: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The import summary with each listed rejected row's own text (``raw``), by line."""
    wanted = {row["line"]: row for row in summary.get("rejected", [])}
    if wanted:
        with open(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                if number in wanted:
                    text = line.decode("utf-8", errors="replace").lstrip("\ufeff")
                    wanted[number]["raw"] = text.rstrip("\r\n")[:RAW_KEPT]
                if number >= max(wanted):
                    break
    return summary


@kind("credit_import")
def credit_import(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    total = count_lines(path)
    with open(path, "rb") as stream:

        def progress(result) -> None:
            report("rows", min(result.lines, total), total)

        result = import_rows(session, read_rows(stream, params["format"]), progress=progress)
    report("rows", total, total)
    return with_raw_lines(path, result.as_dict())


@kind("bids_import")
def bids_import(
    session: Session, report: Report, params: dict[str, Any], path: str | None
) -> dict[str, Any]:
    total = count_lines(path)
    with open(path, encoding="utf-8-sig", newline="") as stream:

        def progress(result, _rejected) -> None:
            session.commit()
            report("rows", min(result.lines, total), total)

        result = import_bids(session, stream, on_batch=progress)
    report("rows", total, total)
    return with_raw_lines(path, result.as_dict())


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
