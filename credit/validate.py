"""Field rules of the credit request bodies, shared by the API and the exchange import.

Each ``*_fields`` function takes one body as decoded JSON (or a CSV row unflattened by
dots, where every value is text) and returns ``(clean, errors)``: the values ready to
store, and ``{field: [reasons]}``. They touch no database, so a million import rows are
validated without a query each; references to other rows (the subject, the record
revoked, the listing lifted) are resolved by the caller.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from credit.categories import SEVERITIES, SEVERITY_NAMES, category, default_end, publicity_error
from credit.identifiers import (
    InvalidIdentifier,
    area_in_force_at_birth,
    area_in_force_since,
    validate_resident_id,
    validate_uscc,
)
from credit.models import LIST_KINDS, RELATION_KINDS, SUBJECT_KINDS
from credit.names import name_key
from credit.scope import SECTORS
from trading.fields import day_error

try:  # GB/T 2260 table (credit/regions.py); without it a region is only checked as 6 digits
    from credit.regions import is_known as _region_known
except ImportError:  # pragma: no cover - depends on the reference data being installed
    _region_known = None

Errors = dict[str, list[str]]
ORGANISATION_KINDS = ("bidder", "agency", "tenderee")
REVOCATION_KINDS = ("revocation", "repair")  # 撤销 / 信用修复
_MISSING = "is required"


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _present(value: Any) -> bool:
    return value is not None and value != ""


def text(
    data: dict,
    field: str,
    errors: Errors,
    *,
    required: bool,
    max_len: int,
    label: str | None = None,
) -> str | None:
    name = label or field
    value = data.get(field)
    if not _present(value):
        if required:
            _add(errors, name, _MISSING)
        return None
    if not isinstance(value, str):
        _add(errors, name, "must be text")
        return None
    value = value.strip()
    if not value:
        if required:
            _add(errors, name, "must not be blank")
        return None
    if len(value) > max_len:
        _add(errors, name, f"must be at most {max_len} characters")
        return None
    return value


def day(data: dict, field: str, errors: Errors, *, required: bool, label: str | None = None):
    name = label or field
    value = data.get(field)
    if not _present(value):
        if required:
            _add(errors, name, _MISSING)
        return None
    parsed = value if isinstance(value, date) else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = date.fromisoformat(value.strip()[:10])
    if parsed is None:
        _add(errors, name, "must be an ISO 8601 date (YYYY-MM-DD)")
    elif message := day_error(parsed):
        _add(errors, name, message)
        return None
    return parsed


def region_error(code: Any) -> str | None:
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit() or not code.isascii():
        return "must be a 6-digit GB/T 2260 code"
    if _region_known is not None and not _region_known(code):
        return f"{code} is not a GB/T 2260 region in force"
    return None


#: The year USCCs were first issued (国发〔2015〕33号): the region inside one was in force then
#: or later.
_USCC_FIRST_YEAR = 2015


def subject_region_error(region: Any, uscc: str | None, id_number: str | None) -> str | None:
    """A subject's region, given or taken from its identifier, checked the same way.

    A code in force today is valid. So is the identifier's own area code where it was in
    force when the identifier was issued: a person's at birth (a resident ID keeps its
    first area code for life), an organisation's in 2015 or later. Anything else is
    refused, so a mirror that validates the region it is sent agrees with this service.
    """
    message = region_error(region)
    if (
        message is None
        or len(str(region)) != 6
        or not str(region).isascii()
        or not str(region).isdigit()
    ):
        return message
    if id_number and region == id_number[:6] and area_in_force_at_birth(id_number):
        return None
    if uscc and region == uscc[2:8] and area_in_force_since(region, _USCC_FIRST_YEAR):
        return None
    if id_number and region == id_number[:6]:
        return f"{region} (from the id_number) was not a GB/T 2260 region at birth; give region"
    if uscc and region == uscc[2:8]:
        return f"{region} (from the uscc) is not a GB/T 2260 region since 2015; give region"
    return message


def codes(data: dict, field: str, errors: Errors, allowed=None) -> list[str]:
    """A list of codes: a JSON array, or text separated by ``;``, ``,``, ``|`` or spaces."""
    value = data.get(field)
    if not _present(value):
        return []
    if isinstance(value, str):
        for sep in ",|":
            value = value.replace(sep, ";")
        value = [v for part in value.split(";") for v in part.split()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        _add(errors, field, "must be a list of codes")
        return []
    out = []
    for v in value:
        v = v.strip()
        if allowed is not None and v not in allowed:
            _add(errors, field, f"{v!r} is not one of {', '.join(allowed)}")
        elif allowed is None and (message := region_error(v)):
            _add(errors, field, message)
        else:
            out.append(v)
    return out


def source(data: dict, errors: Errors, *, required: bool) -> tuple[str | None, str | None]:
    """``source: {platform, id}``; ids may come as numbers from JSON."""
    value = data.get("source")
    if not _present(value):
        if required:
            _add(errors, "source", _MISSING)
        return None, None
    if not isinstance(value, dict):
        _add(errors, "source", "must be an object {platform, id}")
        return None, None
    raw_id = value.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    sub: Errors = {}
    platform = text(value, "platform", sub, required=True, max_len=60, label="source.platform")
    source_id = text({"id": raw_id}, "id", sub, required=True, max_len=120, label="source.id")
    for key, messages in sub.items():
        errors.setdefault(key, []).extend(messages)
    return platform, source_id


def basis(data: dict, errors: Errors, *, required: bool, today: date) -> dict | None:
    """``basis: {authority, document_no, decided_on}``: the legal basis of a decision."""
    value = data.get("basis")
    if not _present(value):
        if required:
            _add(errors, "basis", "a legal basis {authority, document_no, decided_on} is required")
        return None
    if not isinstance(value, dict):
        _add(errors, "basis", "must be an object {authority, document_no, decided_on}")
        return None
    before = sum(len(v) for v in errors.values())
    authority = text(
        value, "authority", errors, required=True, max_len=200, label="basis.authority"
    )
    document_no = text(
        value, "document_no", errors, required=True, max_len=120, label="basis.document_no"
    )
    decided_on = day(value, "decided_on", errors, required=True, label="basis.decided_on")
    if decided_on and decided_on > today:
        _add(errors, "basis.decided_on", "must not be in the future")
    if sum(len(v) for v in errors.values()) != before:
        return None
    return {
        "basis_authority": authority,
        "basis_document_no": document_no,
        "basis_decided_on": decided_on,
    }


def not_before_decision(
    errors: Errors, field: str, value: date | None, legal: dict | None, what: str
) -> None:
    """A decision takes effect on or after the day it was made: an earlier date would
    rewrite what the register said in the past (a record "effective 2019" decided in 2026).
    Answers as the register stood on a day are kept by ``known_on`` (each row's
    ``created_at`` is when this register learned of it)."""
    if value and legal and value < legal["basis_decided_on"]:
        _add(
            errors,
            field,
            f"{what} must not take effect before its decision "
            f"(basis.decided_on {legal['basis_decided_on'].isoformat()})",
        )


# --- bodies --------------------------------------------------------------------------


def subject_fields(data: dict, *, source_required: bool = False) -> tuple[dict, Errors]:
    """``{kind, name, uscc | id_number, region}``; region defaults to the identifier's."""
    errors: Errors = {}
    kind = data.get("kind")
    if kind not in SUBJECT_KINDS:
        _add(errors, "kind", f"must be one of {', '.join(SUBJECT_KINDS)}")
    name = text(data, "name", errors, required=True, max_len=200)
    uscc = id_number = None
    if kind in ORGANISATION_KINDS:
        if _present(data.get("id_number")):
            _add(errors, "id_number", "an organisation is identified by its uscc, not an id_number")
        if not _present(data.get("uscc")):
            _add(errors, "uscc", "is required for an organisation (统一社会信用代码)")
        else:
            try:
                uscc = validate_uscc(data["uscc"])
            except InvalidIdentifier as exc:
                _add(errors, "uscc", exc.reason)
    elif kind == "practitioner":
        if _present(data.get("uscc")):
            _add(errors, "uscc", "a person is identified by an id_number, not a uscc")
        if not _present(data.get("id_number")):
            _add(errors, "id_number", "is required for a person (居民身份证号)")
        else:
            try:
                id_number = validate_resident_id(data["id_number"])
            except InvalidIdentifier as exc:
                _add(errors, "id_number", exc.reason)
    region = data.get("region")
    if not _present(region):
        region = uscc[2:8] if uscc else id_number[:6] if id_number else None
    if region is not None:
        if message := subject_region_error(region, uscc, id_number):
            _add(errors, "region", message)
    elif "uscc" not in errors and "id_number" not in errors:
        _add(errors, "region", _MISSING)
    platform, source_id = source(data, errors, required=source_required)
    clean = {
        "kind": kind,
        "name": name,
        "name_key": name_key(name) if name else None,
        "uscc": uscc,
        "id_number": id_number,
        "region": region,
        "source_platform": platform,
        "source_id": source_id,
    }
    return clean, errors


def relation_fields(data: dict) -> tuple[dict, Errors]:
    """``{kind, other, share?, start?, end?, note?}``; share is a percentage (0, 100]."""
    errors: Errors = {}
    kind = data.get("kind")
    if kind not in RELATION_KINDS:
        _add(errors, "kind", f"must be one of {', '.join(RELATION_KINDS)}")
    other = data.get("other")
    if not _present(other):
        _add(errors, "other", _MISSING)
    share = data.get("share")
    if _present(share):
        try:
            from decimal import Decimal, InvalidOperation

            share = Decimal(str(share))
            if not (0 < share <= 100):
                _add(errors, "share", "must be a percentage above 0 and at most 100")
        except (InvalidOperation, ValueError):
            _add(errors, "share", "must be a number (a percentage)")
        if kind not in ("shareholder", "interest"):
            _add(errors, "share", "only a shareholder or interest relation has a share")
    else:
        share = None
    start = day(data, "start", errors, required=False)
    end = day(data, "end", errors, required=False)
    if start and end and end < start:
        _add(errors, "end", "must not be before start")
    note = text(data, "note", errors, required=False, max_len=2000)
    return {
        "kind": kind,
        "other": other,
        "share": share,
        "start": start,
        "end": end,
        "note": note,
    }, errors


def record_fields(data: dict, *, today: date, source_required: bool = False) -> tuple[dict, Errors]:
    """A positive or negative record with its category, severity, basis and period."""
    errors: Errors = {}
    polarity = data.get("polarity")
    if polarity not in ("negative", "positive"):
        _add(errors, "polarity", "must be negative or positive")
    raw_category = data.get("category")
    cat = category(raw_category) if isinstance(raw_category, str) else None
    if not _present(raw_category):
        _add(errors, "category", _MISSING)
    elif cat is None:
        _add(errors, "category", f"{raw_category!r} is not in the category code list")
    elif polarity in ("negative", "positive") and cat.polarity != polarity:
        _add(errors, "category", f"{cat.name} ({cat.code}) is a {cat.polarity} category")
    severity = data.get("severity")
    if isinstance(severity, str):
        severity = SEVERITY_NAMES.get(severity.strip(), severity.strip()) or None
    if polarity == "negative":
        if not _present(severity):
            _add(errors, "severity", "is required for a negative record: minor, general or serious")
        elif severity not in SEVERITIES:
            _add(errors, "severity", "must be minor, general or serious")
            severity = None
    elif _present(severity):
        _add(errors, "severity", "only a negative record has a severity")
        severity = None
    description = text(data, "description", errors, required=False, max_len=4000)
    legal = basis(data, errors, required=polarity == "negative", today=today)
    start = day(data, "effective_from", errors, required=legal is None)
    if start is None and legal is not None:
        start = legal["basis_decided_on"]
    not_before_decision(errors, "effective_from", start, legal, "a record")
    end = day(data, "effective_to", errors, required=False)
    if start and "severity" not in errors and polarity in ("negative", "positive"):
        if end is None:
            end = default_end(severity, start)
        elif message := publicity_error(severity, start, end):
            _add(errors, "effective_to", message)
    platform, source_id = source(data, errors, required=source_required)
    clean = {
        "polarity": polarity,
        "category": cat.code if cat else None,
        "severity": severity,
        "description": description,
        **(legal or {"basis_authority": None, "basis_document_no": None, "basis_decided_on": None}),
        "effective_from": start,
        "effective_to": end,
        "source_platform": platform,
        "source_id": source_id,
    }
    return clean, errors


def revocation_fields(
    data: dict, *, today: date, source_required: bool = False
) -> tuple[dict, Errors]:
    """``{basis, on?, kind?: revocation|repair, reason?}``; ``on`` defaults to the decision."""
    errors: Errors = {}
    kind = data.get("kind") or "revocation"
    if kind not in REVOCATION_KINDS:
        _add(errors, "kind", "must be revocation (撤销) or repair (信用修复)")
    legal = basis(data, errors, required=True, today=today)
    on = day(data, "on", errors, required=False)
    if on is None and legal is not None:
        on = legal["basis_decided_on"]
    if kind == "repair":  # a revocation (撤销) may void a record from its start; a repair not
        not_before_decision(errors, "on", on, legal, "a repair")
    reason = text(data, "reason", errors, required=False, max_len=4000)
    platform, source_id = source(data, errors, required=source_required)
    clean = {
        "event": kind,
        "effective_from": on,
        "description": reason,
        **(legal or {}),
        "source_platform": platform,
        "source_id": source_id,
    }
    return clean, errors


def listing_fields(
    data: dict, *, today: date, source_required: bool = False
) -> tuple[dict, Errors]:
    """``{list, basis, start, end?, sectors?, regions?, reason?}``."""
    errors: Errors = {}
    kind = data.get("list")
    if kind not in LIST_KINDS:
        _add(errors, "list", "must be blacklist (严重失信主体名单) or abnormal (经营异常名录)")
    legal = basis(data, errors, required=True, today=today)
    start = day(data, "start", errors, required=legal is None)
    if start is None and legal is not None:
        start = legal["basis_decided_on"]
    not_before_decision(errors, "start", start, legal, "a listing")
    end = day(data, "end", errors, required=False)
    if start and end and end < start:
        _add(errors, "end", "must not be before start")
    sectors = codes(data, "sectors", errors, SECTORS)
    regions = codes(data, "regions", errors)
    reason = text(data, "reason", errors, required=False, max_len=4000)
    platform, source_id = source(data, errors, required=source_required)
    clean = {
        "kind": kind,
        "sectors": sectors,
        "regions": regions,
        "starts_on": start,
        "ends_on": end,
        "reason": reason,
        **(legal or {}),
        "source_platform": platform,
        "source_id": source_id,
    }
    return clean, errors


def listing_subject_error(list_kind: str | None, subject_kind: str) -> str | None:
    """Which subjects a list may hold: the abnormal list (经营异常名录) is kept by market
    regulators for registered business entities (企业信息公示暂行条例 art. 17), so never a
    person."""
    if list_kind == "abnormal" and subject_kind in ("practitioner",):
        return "the abnormal list (经营异常名录) holds organisations, not persons"
    return None


def lift_fields(data: dict, *, today: date, source_required: bool = False) -> tuple[dict, Errors]:
    """``{basis, on?, reason?}``; ``on`` (first day off the list) defaults to the decision."""
    errors: Errors = {}
    legal = basis(data, errors, required=True, today=today)
    on = day(data, "on", errors, required=False)
    if on is None and legal is not None:
        on = legal["basis_decided_on"]
    not_before_decision(errors, "on", on, legal, "a lift")
    reason = text(data, "reason", errors, required=False, max_len=4000)
    platform, source_id = source(data, errors, required=source_required)
    clean = {
        "lifted_on": on,
        "reason": reason,
        **(legal or {}),
        "source_platform": platform,
        "source_id": source_id,
    }
    return clean, errors
