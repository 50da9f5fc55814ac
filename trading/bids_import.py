"""Historical bids from CSV, streamed, with a reason for every row refused.

The file has a header and at least the columns ``tender_ref, tender_date, estimate,
bidder_uscc, bidder_name, price, winner`` (``estimate`` may be empty). Optional columns:
``title, sector, region, submitted_at, project_manager, project_manager_name,
deposit_account, agent`` and the fingerprint ``machine_code, mac, cpu, disk, ip, doc_hash,
author`` (also accepted flattened by dots: ``fingerprint.mac``).

Rows are read one batch at a time (never the whole file): each row is validated on its own,
the batch's tenders, bidders and existing bids are looked up with one query each, unknown
tenders and bidders are created (bidders through the credit service, their region taken
from the USCC), and the good bids are inserted in bulk. A bid already stored (same tender,
same bidder) is a duplicate and changes nothing, so a retry after a crash applies nothing
twice. Lines are numbered as an editor shows them, the header being line 1.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from credit.identifiers import InvalidIdentifier, validate_uscc
from credit.models import Subject
from credit.services import create_subject, find_subject
from trading import audit, clock
from trading.collusion import store
from trading.errors import ServiceError
from trading.models import FINGERPRINT_FIELDS, Bid, Tender
from trading.schemas import MAX_MONEY, is_ref

REQUIRED_COLUMNS = (
    "tender_ref",
    "tender_date",
    "estimate",
    "bidder_uscc",
    "bidder_name",
    "price",
    "winner",
)
OPTIONAL_COLUMNS = (
    "title",
    "sector",
    "region",
    "submitted_at",
    "project_manager",
    "project_manager_name",
    "deposit_account",
    "agent",
    *FINGERPRINT_FIELDS,
)
_SECTORS = ("construction", "procurement", "land", "property", "other")
_TRUE = {"1", "true", "yes", "y", "t", "x", "是", "中标"}
_FALSE = {"", "0", "false", "no", "n", "f", "否"}
_LIMITS = {
    "deposit_account": 64,
    "agent": 200,
    "machine_code": 128,
    "mac": 64,
    "cpu": 128,
    "disk": 128,
    "ip": 64,
    "doc_hash": 128,
    "author": 200,
    "title": 300,
    "bidder_name": 200,
    "project_manager_name": 200,
}
#: Rejected rows kept in the report; the count goes on beyond it.
MAX_REPORTED = 1000


class FileRefused(ServiceError):
    """The file as a whole cannot be read (no header, required columns missing)."""

    code = 422


@dataclass
class Rejected:
    line: int
    errors: dict[str, list[str]]

    def as_dict(self) -> dict:
        return {"line": self.line, "errors": self.errors}


@dataclass
class ImportReport:
    accepted: int = 0
    duplicates: int = 0
    rejected_total: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    tenders_created: int = 0
    bidders_created: int = 0
    lines: int = 0

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
            "rejected_total": self.rejected_total,
            "tenders_created": self.tenders_created,
            "bidders_created": self.bidders_created,
            "lines": self.lines,
        }


@dataclass
class _Row:
    line: int
    tender_ref: str
    tender_date: date
    estimate: Decimal | None
    bidder_uscc: str
    bidder_name: str | None
    price: Decimal
    winner: bool
    title: str | None
    sector: str | None
    region: str | None
    submitted_at: datetime | None
    project_manager: str | None
    project_manager_name: str | None
    values: dict[str, str | None]  # deposit_account, agent and the fingerprint


def _money(text: str, errors: dict, name: str, *, required: bool) -> Decimal | None:
    if not text:
        if required:
            errors[name] = ["is required"]
        return None
    try:
        amount = Decimal(text.replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        errors[name] = ["must be an amount in yuan, such as 1234500.00"]
        return None
    if not amount.is_finite() or amount <= 0 or amount > MAX_MONEY:
        errors[name] = [f"must be above 0 and at most {MAX_MONEY}"]
        return None
    if amount != amount.quantize(Decimal("0.01")):
        errors[name] = ["at most two decimal places (fen)"]
        return None
    return amount.quantize(Decimal("0.01"))


def _parse(line: int, raw: dict[str, str]) -> tuple[_Row | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    ref = raw.get("tender_ref", "")
    if not is_ref(ref):
        errors["tender_ref"] = ["1 to 64 letters, digits, '.', '_' or '-'"]
    tender_day = None
    try:
        tender_day = date.fromisoformat(raw.get("tender_date", "")[:10])
    except ValueError:
        errors["tender_date"] = ["must be an ISO 8601 date (YYYY-MM-DD)"]
    estimate = _money(raw.get("estimate", ""), errors, "estimate", required=False)
    price = _money(raw.get("price", ""), errors, "price", required=True)
    uscc = None
    try:
        uscc = validate_uscc(raw.get("bidder_uscc", ""))
    except InvalidIdentifier as exc:
        errors["bidder_uscc"] = [exc.reason]
    flag = raw.get("winner", "").strip().lower()
    if flag not in _TRUE | _FALSE:
        errors["winner"] = ["must be 1 or 0 (true/false, yes/no)"]
    sector = raw.get("sector") or None
    if sector is not None and sector not in _SECTORS:
        errors["sector"] = [f"must be one of {', '.join(_SECTORS)}"]
    region = raw.get("region") or None
    if region is not None and not (len(region) == 6 and region.isascii() and region.isdigit()):
        errors["region"] = ["must be a 6-digit GB/T 2260 code"]
    submitted = None
    if raw.get("submitted_at"):
        try:
            submitted = datetime.fromisoformat(raw["submitted_at"])
            if submitted.tzinfo is not None:
                submitted = submitted.astimezone(UTC).replace(tzinfo=None)
        except ValueError:
            errors["submitted_at"] = ["must be an ISO 8601 date and time"]
    for name, limit in _LIMITS.items():
        if len(raw.get(name) or "") > limit:
            errors[name] = [f"must be at most {limit} characters"]
    if errors:
        return None, errors
    return (
        _Row(
            line=line,
            tender_ref=ref,
            tender_date=tender_day,
            estimate=estimate,
            bidder_uscc=uscc,
            bidder_name=raw.get("bidder_name") or None,
            price=price,
            winner=flag in _TRUE,
            title=raw.get("title") or None,
            sector=sector,
            region=region,
            submitted_at=submitted,
            project_manager=raw.get("project_manager") or None,
            project_manager_name=raw.get("project_manager_name") or None,
            values={
                n: raw.get(n) or None for n in ("deposit_account", "agent", *FINGERPRINT_FIELDS)
            },
        ),
        {},
    )


def _rows(lines: Iterable[str]) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(
            "The file is empty: a header line is required.",
            errors={"file": ["empty"]},
            rule="import.header",
        ) from None
    names = [h.strip().lstrip("\ufeff").removeprefix("fingerprint.") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileRefused(
            f"The header lacks the columns {', '.join(missing)}.",
            errors={"header": [f"missing column {c}" for c in missing]},
            rule="import.header",
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        last = reader.line_num
        for record in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                yield start, {"_shape": f"{len(record)} fields where the header has {len(names)}"}
                continue
            yield start, {n: cell.strip() for n, cell in zip(names, record, strict=True)}

    return names, rows()


Progress = Callable[[ImportReport, list[Rejected]], None]


def import_bids(
    session: Session,
    lines: Iterable[str],
    *,
    batch_size: int = 1000,
    on_batch: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import a historical bids CSV (an iterable of text lines, e.g. an open file).

    ``on_batch(report, rejected_in_batch)`` is called after each batch has been flushed:
    the command line reports progress there and commits, so a crash loses at most a batch.
    """
    now = now or clock.now()
    report = ImportReport()
    _, rows = _rows(lines)
    batch: list[tuple[int, dict[str, str]]] = []
    for line, raw in rows:
        batch.append((line, raw))
        if len(batch) >= batch_size:
            _apply_batch(session, batch, report, now, on_batch)
            batch = []
    if batch:
        _apply_batch(session, batch, report, now, on_batch)
    report.rejected.sort(key=lambda item: item.line)
    return report


def _reject(report: ImportReport, rejected: list[Rejected], line: int, errors: dict) -> None:
    item = Rejected(line, errors)
    rejected.append(item)
    report.rejected_total += 1
    if len(report.rejected) < MAX_REPORTED:
        report.rejected.append(item)


def _apply_batch(
    session: Session,
    batch: list[tuple[int, dict[str, str]]],
    report: ImportReport,
    now: datetime,
    on_batch: Progress | None,
) -> None:
    rejected: list[Rejected] = []
    parsed: list[_Row] = []
    for line, raw in batch:
        report.lines += 1
        if "_shape" in raw:
            _reject(report, rejected, line, {"_schema": [raw["_shape"]]})
            continue
        row, errors = _parse(line, raw)
        if errors:
            _reject(report, rejected, line, errors)
        else:
            parsed.append(row)
    accepted_before, dup_before = report.accepted, report.duplicates
    created_tenders, created_bidders = _store_rows(session, parsed, report, rejected, now)
    audit.record(
        session,
        "bids.import",
        "bids_import",
        None,
        after={
            "lines": [batch[0][0], batch[-1][0]],
            "accepted": report.accepted - accepted_before,
            "duplicates": report.duplicates - dup_before,
            "rejected": len(rejected),
            "tenders_created": created_tenders,
            "bidders_created": created_bidders,
        },
    )
    rejected.sort(key=lambda item: item.line)
    if on_batch:
        on_batch(report, rejected)


def _store_rows(
    session: Session,
    rows: list[_Row],
    report: ImportReport,
    rejected: list[Rejected],
    now: datetime,
) -> tuple[list[str], list[str]]:
    if not rows:
        return [], []
    # Rows are checked against the register before anything is created for them, so a
    # refused row leaves no tender or subject behind.
    usccs = sorted({r.bidder_uscc for r in rows})
    bidders = dict(
        session.execute(select(Subject.uscc, Subject.id).where(Subject.uscc.in_(usccs))).all()
    )
    created_bidders: list[str] = []
    managers: dict[str, int | None] = {}
    keep: list[_Row] = []
    for row in rows:
        errors: dict[str, list[str]] = {}
        manager_id = _manager(session, row, managers, errors) if row.project_manager else None
        if row.bidder_uscc not in bidders and not errors:
            _create_bidder(session, row, bidders, created_bidders, errors)
        if errors:
            _reject(report, rejected, row.line, errors)
            continue
        row.values["project_manager_id"] = manager_id
        keep.append(row)
    report.bidders_created += len(created_bidders)

    refs = sorted({r.tender_ref for r in keep})
    tenders = {t.ref: t for t in session.scalars(select(Tender).where(Tender.ref.in_(refs)))}
    created_tenders = []
    for row in keep:
        if row.tender_ref not in tenders:
            tender = Tender(
                ref=row.tender_ref,
                title=row.title or row.tender_ref,
                sector=row.sector,
                region=row.region,
                estimate=row.estimate,
                tender_date=row.tender_date,
                origin="import",
                created_at=now,
            )
            session.add(tender)
            tenders[row.tender_ref] = tender
            created_tenders.append(row.tender_ref)
    if created_tenders:
        session.flush()
    report.tenders_created += len(created_tenders)

    tender_ids = sorted({tenders[r.tender_ref].id for r in keep})
    taken: set[tuple[int, int]] = set()
    winners: dict[int, int] = {}
    if tender_ids:
        for tender_id, bidder_id, winner in session.execute(
            select(Bid.tender_id, Bid.bidder_id, Bid.winner).where(Bid.tender_id.in_(tender_ids))
        ):
            taken.add((tender_id, bidder_id))
            if winner:
                winners[tender_id] = bidder_id
    new_bids = []
    awarded: dict[int, date] = {}
    for row in keep:
        tender = tenders[row.tender_ref]
        bidder_id = bidders[row.bidder_uscc]
        if (tender.id, bidder_id) in taken:
            report.duplicates += 1
            continue
        if row.winner:
            if tender.id in winners:
                message = f"tender {row.tender_ref} already has a winner"
                _reject(report, rejected, row.line, {"winner": [message]})
                continue
            winners[tender.id] = bidder_id
            awarded[tender.id] = tender.tender_date or row.tender_date
        taken.add((tender.id, bidder_id))
        new_bids.append(
            {
                "tender_id": tender.id,
                "bidder_id": bidder_id,
                "price": row.price,
                "submitted_at": row.submitted_at,
                "winner": row.winner,
                "origin": "import",
                "created_at": now,
                **row.values,
            }
        )
    if new_bids:
        session.execute(Bid.__table__.insert(), new_bids)
        report.accepted += len(new_bids)
    for tender_id, day in awarded.items():
        session.execute(
            update(Tender)
            .where(Tender.id == tender_id, Tender.awarded_at.is_(None))
            .values(awarded_at=datetime.combine(day, time()))
        )
    touched = sorted({b["tender_id"] for b in new_bids})
    if touched:
        store.refresh_screens(session, touched, now=now)
    session.flush()
    return created_tenders, created_bidders


def _create_bidder(
    session: Session,
    row: _Row,
    bidders: dict[str, int],
    created: list[str],
    errors: dict[str, list[str]],
) -> None:
    if not row.bidder_name:
        errors["bidder_name"] = ["is required to register an unknown bidder"]
        return
    try:
        with session.begin_nested():
            subject = create_subject(
                session, {"kind": "bidder", "name": row.bidder_name, "uscc": row.bidder_uscc}
            )
    except ServiceError as error:
        for name, messages in (error.errors or {"bidder_uscc": [error.message]}).items():
            errors[f"bidder.{name}"] = list(messages)
        return
    bidders[row.bidder_uscc] = subject.id
    created.append(row.bidder_uscc)


def _manager(
    session: Session, row: _Row, managers: dict[str, int | None], errors: dict[str, list[str]]
) -> int | None:
    ref = row.project_manager
    if ref not in managers:
        subject = find_subject(session, ref)
        if subject is None and row.project_manager_name:
            try:
                with session.begin_nested():
                    subject = create_subject(
                        session,
                        {
                            "kind": "practitioner",
                            "name": row.project_manager_name,
                            "id_number": ref,
                        },
                    )
            except ServiceError as error:
                for name, messages in (error.errors or {"_": [error.message]}).items():
                    errors[f"project_manager.{name}"] = list(messages)
                return None
        if subject is not None and subject.kind != "practitioner":
            errors["project_manager"] = [f"subject {subject.id} is a {subject.kind}"]
            return None
        managers[ref] = subject.id if subject else None
    if managers[ref] is None:
        errors["project_manager"] = [
            "unknown practitioner: give project_manager_name to register it"
        ]
    return managers[ref]
