"""Exchange with other credit platforms: streaming import and the change feed.

Import (``POST /exchange/imports``, ``flask --app wsgi exchange import FILE``)
---------------------------------------------------------------------------------
A file is JSON Lines (one object per line) or CSV (a header, then one row per line, nested
names flattened by dots: ``source.platform``, ``basis.decided_on``). Every row has a
``type`` and a ``source`` ``{platform, id}``:

============== ==============================================================================
type           fields (besides ``type`` and ``source``)
============== ==============================================================================
``subject``    ``kind, name, uscc | id_number, region?``
``relation``   ``subject`` (ref), ``kind, other`` (ref), ``share?, start?, end?, note?``
``record``     ``subject`` (ref), the record body, ``corrects?`` ({platform, id} of a record)
``revocation`` ``record`` ({platform, id}, or internal id), ``basis, on?, kind?, reason?``
``listing``    ``subject`` (ref), ``list, basis, start?, end?, sectors?, regions?, reason?``
``lift``       ``listing`` ({platform, id}, or internal id), ``basis, on?, reason?``
============== ==============================================================================

A subject ref is a USCC, a resident ID number or an internal id. Lists (``sectors``,
``regions``) are JSON arrays, or text separated by ``;`` in CSV.

The file is read as a stream and applied in batches (:data:`BATCH_SIZE` rows), each batch
one transaction holding its rows, their change-feed entries and one audit entry that lists
them. Rows are validated one by one without a query each; references are resolved for the
whole batch at once. A row whose ``(source.platform, source.id)`` is already stored is a
*duplicate* and changes nothing (so is a subject whose identifier is already registered).
A crash loses at most the batch in flight, and a retry finds the rows of the committed
batches as duplicates, so nothing is applied twice. Rows may refer to rows earlier in the
file; within a batch, subjects are applied before relations, records, revocations,
listings and lifts.

Feed (``GET /exchange/changes?after=``)
---------------------------------------
Every write, from the API or an import, appends to :class:`~credit.models.CreditChange`.
The feed answers the changes after a cursor, each rendered as an import row, so another
platform mirrors everything, revocations and lifts included, by importing what it reads.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from sqlalchemy import Integer, String, Table, any_, bindparam, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from credit import changes
from credit.categories import repair_error
from credit.identifiers import mask_resident_id
from credit.models import CreditChange, CreditRecord, Listing, ListingLift, Relation, Subject
from credit.scope import pack, unpack
from credit.services import PERSON_KINDS, RELATION_SHAPES, storable_id
from credit.validate import (
    lift_fields,
    listing_fields,
    listing_subject_error,
    record_fields,
    relation_fields,
    revocation_fields,
    subject_fields,
)
from trading import audit, clock, untrusted
from trading.untrusted import MAX_DEPTH

BATCH_SIZE = 2000
ROW_TYPES = ("subject", "relation", "record", "revocation", "listing", "lift")
#: Rejected rows returned in full; beyond this only counted (a bad file of a million rows
#: must not make a million-entry answer).
MAX_REJECTED_LISTED = 1000

Errors = dict[str, list[str]]


@dataclass
class ImportResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_total: int = 0
    lines: int = 0
    #: The lines counted as duplicates (the first MAX_REJECTED_LISTED), in file order
    #: within each batch.
    duplicate_lines: list[int] = field(default_factory=list)

    def duplicate(self, line: int) -> None:
        self.duplicates += 1
        if len(self.duplicate_lines) < MAX_REJECTED_LISTED:
            self.duplicate_lines.append(line)

    def reject(self, line: int, errors: Errors) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append({"line": line, "errors": errors})

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "duplicate_lines": sorted(self.duplicate_lines),
            "rejected": self.rejected,
            "rejected_total": self.rejected_total,
            "lines": self.lines,
        }


# --- reading -------------------------------------------------------------------------


@dataclass
class Row:
    line: int
    data: dict | None
    errors: Errors | None = None


def _binary_lines(stream: IO[bytes]) -> Iterator[bytes]:
    if isinstance(stream, io.RawIOBase) or not hasattr(stream, "readline"):
        stream = io.BufferedReader(stream, 1 << 16)  # type: ignore[arg-type]
    first = True
    for raw in stream:
        if first:
            raw = raw.removeprefix(codecs.BOM_UTF8)
            first = False
        yield raw


def read_jsonl(stream: IO[bytes]) -> Iterator[Row]:
    """One :class:`Row` per non-blank line, numbered from 1. A line nested too deep to
    parse, or with text no database can keep (a NUL character, a lone surrogate), is
    refused on its own, as :mod:`trading.untrusted` refuses a request body."""
    loads = json.loads
    suspect = untrusted.SUSPECT_BYTES.search
    for number, raw in enumerate(_binary_lines(stream), start=1):
        if not raw.strip():
            continue
        try:
            value = loads(raw)
        except RecursionError:
            yield Row(number, None, {"_line": [f"is nested deeper than {MAX_DEPTH} levels"]})
            continue
        except UnicodeDecodeError:
            yield Row(number, None, {"_line": ["is not UTF-8"]})
            continue
        except ValueError as exc:
            yield Row(number, None, {"_line": [f"is not JSON: {exc}"]})
            continue
        if not isinstance(value, dict):
            yield Row(number, None, {"_line": ["must be a JSON object"]})
            continue
        if suspect(raw):
            try:
                errors = untrusted.problems(value, check_text=True)
            except untrusted.TooDeep:
                errors = {"_line": [f"is nested deeper than {MAX_DEPTH} levels"]}
            if errors:
                yield Row(number, None, errors)
                continue
        yield Row(number, value)


def unflatten(flat: dict[str, str]) -> dict:
    """``{"source.platform": "x"}`` -> ``{"source": {"platform": "x"}}``; empty cells dropped."""
    return _Unflattener(list(flat))(list(flat.values()))


class _Unflattener:
    """Builds nested rows from CSV cells, with the header's dotted names split once."""

    def __init__(self, header: list[str]) -> None:
        self.paths = [tuple(h.strip().split(".")) if h else () for h in header]

    def __call__(self, cells: list[str]) -> dict:
        out: dict[str, Any] = {}
        for path, value in zip(self.paths, cells, strict=False):
            if not value or not path:
                continue
            if len(path) == 1:
                out[path[0]] = value
                continue
            node = out
            for part in path[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            node[path[-1]] = value
        return out


#: Encodings a CSV file may declare (``text/csv; charset=gbk``) besides UTF-8: files
#: saved by spreadsheet programs on Chinese Windows are GBK. GB 18030 decodes GBK and
#: GB 2312 too, so all three are read with it.
CSV_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
}


def csv_encoding(content_type: str | None) -> str | None:
    """The codec for the ``charset`` a content type declares (UTF-8 when none); None when
    it declares one we do not read."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return CSV_ENCODINGS.get(value.strip().strip('"').lower())
    return "utf-8"


def read_csv(stream: IO[bytes], encoding: str = "utf-8") -> Iterator[Row]:
    """One :class:`Row` per CSV record; the header is line 1, so the first record is line 2.
    ``encoding`` as :func:`csv_encoding` gives it (a UTF-8 byte-order mark is skipped)."""
    bad_lines: set[int] = set()
    nul_lines: set[int] = set()  # no database keeps a NUL character in text
    label = "UTF-8" if encoding == "utf-8" else "GBK/GB 18030"

    def text_lines() -> Iterator[str]:
        for number, raw in enumerate(_binary_lines(stream), start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if b"\x00" in raw:
                nul_lines.add(number)
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError:
                bad_lines.add(number)
                yield raw.decode(encoding, errors="replace")

    reader = csv.reader(text_lines())
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield Row(1, None, {"_line": [f"is not CSV: {exc}"]})
        return
    header = [h.strip() for h in header]
    build = _Unflattener(header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield Row(start, None, {"_line": [f"is not CSV: {exc}"]})
            continue
        last = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if any(n in bad_lines for n in range(start, last + 1)):
            yield Row(start, None, {"_line": [f"is not {label}"]})
            continue
        if len(cells) > len(header):
            yield Row(start, None, {"_line": [f"has {len(cells)} cells, header has {len(header)}"]})
            continue
        if nul_lines and any(n in nul_lines for n in range(start, last + 1)):
            named = [h or "_line" for h, cell in zip(header, cells, strict=False) if "\x00" in cell]
            yield Row(start, None, {name: [untrusted.NUL] for name in named or ["_line"]})
            continue
        yield Row(start, build(cells))


def detect_format(name: str | None, content_type: str | None = None) -> str | None:
    """``"csv"`` or ``"jsonl"`` from a content type or a file name; None if neither says."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("text/csv", "application/csv"):
        return "csv"
    if ct in (
        "application/x-ndjson",
        "application/jsonl",
        "application/json-lines",
        "application/x-jsonlines",
        "application/ndjson",
    ):
        return "jsonl"
    lowered = (name or "").lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return None


def read_rows(stream: IO[bytes], fmt: str, encoding: str = "utf-8") -> Iterator[Row]:
    return read_csv(stream, encoding) if fmt == "csv" else read_jsonl(stream)


# --- applying ------------------------------------------------------------------------


@dataclass
class _Pending:
    """A validated row waiting for its batch: what to insert, and its references."""

    line: int
    type: str
    clean: dict
    source: tuple[str, str]
    subject_ref: str | None = None
    other_ref: str | None = None
    target_ref: Any = None  # record or listing: (platform, id) or internal id


def _ref_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip().upper() or None
    return None


def _target_ref(value: Any) -> Any:
    """A record or listing reference: ``{platform, id}`` -> tuple, or an internal id."""
    if isinstance(value, dict):
        platform, ident = value.get("platform"), value.get("id")
        if isinstance(ident, int) and not isinstance(ident, bool):
            ident = str(ident)
        if isinstance(platform, str) and isinstance(ident, str) and platform and ident:
            return (platform.strip(), ident.strip())
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


# Rows that refer to something already stored: their field checks, the field naming what
# they refer to (a subject, or the record or listing they act on), and the error without it.
_REFERRING = {
    "record": (record_fields, "subject", "is required (USCC, ID number or id)"),
    "listing": (listing_fields, "subject", "is required (USCC, ID number or id)"),
    "revocation": (revocation_fields, "record", "is required: {platform, id} or a record id"),
    "lift": (lift_fields, "listing", "is required: {platform, id} or a listing id"),
}


def validate_row(row: Row, today: date) -> _Pending | Errors:
    """Check one row on its own (no database); a :class:`_Pending` or the row's errors."""
    data = row.data or {}
    kind = data.get("type")
    if kind not in ROW_TYPES:
        return {"type": [f"must be one of {', '.join(ROW_TYPES)}"]}
    if kind == "subject":
        clean, errors = subject_fields(data, source_required=True)
        pending = _Pending(row.line, kind, clean, (clean["source_platform"], clean["source_id"]))
    elif kind == "relation":
        clean, errors = relation_fields(data)
        clean.pop("other")
        from credit.validate import source

        platform, source_id = source(data, errors, required=True)
        clean["source_platform"], clean["source_id"] = platform, source_id
        pending = _Pending(
            row.line,
            kind,
            clean,
            (platform, source_id),
            subject_ref=_ref_text(data.get("subject")),
            other_ref=_ref_text(data.get("other")),
        )
        if pending.subject_ref is None:
            errors.setdefault("subject", []).append("is required (USCC, ID number or id)")
    else:
        fields, name, missing = _REFERRING[kind]
        clean, errors = fields(data, today=today, source_required=True)
        pending = _Pending(row.line, kind, clean, (clean["source_platform"], clean["source_id"]))
        if name == "subject":
            pending.subject_ref = _ref_text(data.get(name))
            found = pending.subject_ref is not None
        else:
            pending.target_ref = _target_ref(data.get(name))
            found = pending.target_ref is not None
        if not found:
            errors.setdefault(name, []).append(missing)
        if kind == "record" and data.get("corrects") not in (None, ""):
            pending.target_ref = _target_ref(data["corrects"])
            if pending.target_ref is None:
                errors.setdefault("corrects", []).append("must be {platform, id} or a record id")
    return errors or pending


_PLAIN_TYPES = ("subject", "relation", "record", "listing")
_TABLE_OF = {
    "subject": Subject,
    "relation": Relation,
    "record": CreditRecord,
    "revocation": CreditRecord,
    "listing": Listing,
    "lift": ListingLift,
}


class _Batch:
    """Apply one batch of validated rows inside ``session``'s current transaction."""

    def __init__(self, session: Session, result: ImportResult, subject_cache: dict):
        self.session = session
        self.result = result
        self.subjects = subject_cache  # ref -> (id, kind)
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.now = clock.now()
        self.applied: dict[str, list[int]] = {}
        self.feed: list[tuple[str, int, int | None]] = []
        self.lift_subjects: dict[int, int] = {}  # listing id -> subject id, for the feed
        self.locked = False

    # references -------------------------------------------------------------------

    def _any(self, column: Any, values: list, type_: Any) -> Any:
        """``column IN values``: one bound array on PostgreSQL, an expanding IN elsewhere
        (batches are small enough for SQLite's parameter limit)."""
        if self.postgres:
            return column == any_(bindparam(None, values, type_=ARRAY(type_)))
        return column.in_(values)

    def _any_code(self, column: Any, codes: list[str]) -> Any:
        """``column IN codes`` for identifiers (digits and capitals, never a comma): on
        PostgreSQL one text split by the server, much cheaper to send than an array."""
        if self.postgres:
            return column == any_(func.string_to_array(",".join(codes), ","))
        return column.in_(codes)

    def load_subjects(self, refs: Iterable[str | None]) -> None:
        missing = {r for r in refs if r is not None and r not in self.subjects}
        if not missing:
            return
        ids = [int(r) for r in missing if r.isascii() and r.isdigit() and len(r) < 18]
        ids = [i for i in ids if storable_id(i)]
        codes = [r for r in missing if len(r) == 18]
        columns = (Subject.id, Subject.uscc, Subject.id_number, Subject.kind)
        queries = []
        if ids:
            queries.append(select(*columns).where(self._any(Subject.id, ids, Integer)))
        if codes:
            queries.append(select(*columns).where(self._any_code(Subject.uscc, codes)))
        for query in queries:
            self._remember(self.session.execute(query))
        people = [c for c in codes if c not in self.subjects]
        if people:
            self._remember(
                self.session.execute(
                    select(*columns).where(self._any_code(Subject.id_number, people))
                )
            )

    def _remember(self, found: Iterable) -> None:
        for sid, uscc, id_number, kind in found:
            for key in (str(sid), uscc, id_number):
                if key:
                    self.subjects[key] = (sid, kind)

    def _by_source(self, columns: tuple, model: Any, keys: Iterable[tuple[str, str]]):
        """Rows of ``model`` whose (source_platform, source_id) is among ``keys``."""
        by_platform: dict[str, list[str]] = {}
        for platform, source_id in keys:
            by_platform.setdefault(platform, []).append(source_id)
        for platform, source_ids in by_platform.items():
            yield from self.session.execute(
                select(*columns).where(
                    model.source_platform == platform,
                    self._any(model.source_id, source_ids, String),
                )
            )

    def existing_sources(self, model: Any, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return {
            (p, s)
            for p, s in self._by_source((model.source_platform, model.source_id), model, keys)
        }

    def resolve_targets(self, model: Any, refs: list[Any]) -> dict[Any, Any]:
        """Records or listings by (platform, id) or internal id -> row."""
        out: dict[Any, Any] = {}
        by_source = [r for r in refs if isinstance(r, tuple)]
        for (obj,) in self._by_source((model,), model, by_source):
            out[(obj.source_platform, obj.source_id)] = obj
        by_id = [r for r in refs if isinstance(r, int) and storable_id(r)]
        if by_id:
            for obj in self.session.scalars(select(model).where(model.id.in_(by_id))):
                out[obj.id] = obj
        return out

    # inserting --------------------------------------------------------------------

    def insert(self, type_: str, rows: list[dict], subject_ids: list[int | None]) -> list[int]:
        """Insert rows, skipping any whose source (or, for subjects, identifier) is already
        stored; append their feed entries; return their ids in order, None for a row
        skipped."""
        if not rows:
            return []
        if not self.locked:
            changes.lock_feed(self.session)
            self.locked = True
        table: Table = _TABLE_OF[type_].__table__
        for row in rows:
            row["created_at"] = self.now
        if self.postgres:
            inserted = self._copy_insert(type_, table, rows)
        else:
            stmt = (
                sqlite.insert(table)
                .on_conflict_do_nothing()
                .returning(table.c.id, table.c.source_platform, table.c.source_id)
            )
            inserted = self.session.execute(stmt, rows).all()
        ids_by_source = {(platform, source_id): rid for rid, platform, source_id in inserted}
        ids = [ids_by_source.get((r["source_platform"], r["source_id"])) for r in rows]
        for rid, sid in zip(ids, subject_ids, strict=True):
            if rid is not None:
                if not self.postgres:
                    self.feed.append((type_, rid, rid if type_ == "subject" else sid))
                self.applied.setdefault(type_, []).append(rid)
        return ids

    def _copy_insert(self, type_: str, table: Table, rows: list[dict]) -> list[tuple]:
        """PostgreSQL: COPY the rows straight into ``table`` with ids taken from its sequence,
        and their feed entries into ``credit_changes``: as fast as a bare COPY can be.

        Rows that would break a rule were filtered out beforehand (identifier, lift,
        supersession), so the COPY fails only on a source already stored (a retried file)
        or stored meanwhile by a concurrent writer; then the batch's rows go through a
        staging table instead, with ``ON CONFLICT DO NOTHING``.
        """
        connection = self.session.connection()
        raw = connection.connection.driver_connection
        sequence = connection.info.setdefault("credit_sequences", {})
        if table.name not in sequence:
            sequence[table.name] = connection.exec_driver_sql(
                f"SELECT pg_get_serial_sequence('{table.name}', 'id')"
            ).scalar_one()
        ids = [
            rid
            for (rid,) in connection.exec_driver_sql(
                "SELECT nextval(%(seq)s) FROM generate_series(1, %(n)s)",
                {"seq": sequence[table.name], "n": len(rows)},
            )
        ]
        quote = connection.dialect.identifier_preparer.quote
        columns = list(rows[0])
        names = ", ".join(quote(c) for c in columns)
        with raw.cursor() as cursor:
            # A savepoint of the driver's own: SQLAlchemy never sees this statement fail.
            cursor.execute("SAVEPOINT credit_copy")
            try:
                with cursor.copy(f"COPY {table.name} (id, {names}) FROM STDIN") as copy:
                    for rid, row in zip(ids, rows, strict=True):
                        copy.write_row([rid, *[row[c] for c in columns]])
                # Feed lines are written as COPY text directly: four plain values a row.
                prefix = f"{self.now.isoformat(' ')}\t{type_}\t"
                feed = "".join(
                    f"{prefix}{rid}\t{_copy_int(self._feed_subject(type_, rid, row))}\n"
                    for rid, row in zip(ids, rows, strict=True)
                )
                with cursor.copy(
                    "COPY credit_changes (at, type, entity_id, subject_id) FROM STDIN"
                ) as copy:
                    copy.write(feed)
            except raw.IntegrityError:  # a stored source, or a concurrent writer's
                cursor.execute("ROLLBACK TO SAVEPOINT credit_copy")
                return self._staged_insert(type_, table, rows, names)
            cursor.execute("RELEASE SAVEPOINT credit_copy")
        return [
            (rid, row["source_platform"], row["source_id"])
            for rid, row in zip(ids, rows, strict=True)
        ]

    def _feed_subject(self, type_: str, rid: int, row: dict) -> int | None:
        if type_ == "subject":
            return rid
        if type_ == "lift":
            return self.lift_subjects.get(row["listing_id"])
        return row.get("subject_id")

    def _staged_insert(self, type_: str, table: Table, rows: list[dict], names: str) -> list:
        connection = self.session.connection()
        raw = connection.connection.driver_connection
        stage = f"credit_stage_{table.name}"
        staged = connection.info.setdefault("credit_stages", set())
        if stage not in staged:
            connection.exec_driver_sql(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "
                f"SELECT {names} FROM {table.name} WITH NO DATA"
            )
            staged.add(stage)
        connection.exec_driver_sql(f"DELETE FROM {stage}")
        columns = list(rows[0])
        with raw.cursor() as cursor, cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        subject = {
            "subject": "ins.id",
            "lift": "(SELECT l.subject_id FROM listings l WHERE l.id = ins.listing_id)",
        }.get(type_, "ins.subject_id")
        returning = "id, source_platform, source_id, " + (
            "listing_id"
            if type_ == "lift"
            else "id AS subject_id"
            if type_ == "subject"
            else "subject_id"
        )
        return connection.exec_driver_sql(
            f"WITH ins AS (INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} "
            f"ON CONFLICT DO NOTHING RETURNING {returning}), "
            "feed AS (INSERT INTO credit_changes (at, type, entity_id, subject_id) "
            f"SELECT %(at)s, %(type)s, ins.id, {subject} FROM ins ORDER BY ins.id) "
            "SELECT id, source_platform, source_id FROM ins",
            {"at": self.now, "type": type_},
        ).all()

    def count(self, ids: list[int | None], lines: list[int]) -> None:
        for rid, line in zip(ids, lines, strict=True):
            if rid is None:
                self.result.duplicate(line)
            else:
                self.result.accepted += 1

    # the batch --------------------------------------------------------------------

    def apply(self, pending: list[_Pending]) -> None:
        groups: dict[str, list[_Pending]] = {t: [] for t in ROW_TYPES}
        seen: set[tuple[str, str, str]] = set()
        for p in pending:
            key = ("record" if p.type == "revocation" else p.type, *p.source)
            if key in seen:  # the same source twice in one batch: the later is a duplicate
                self.result.duplicate(p.line)
                continue
            seen.add(key)
            groups[p.type].append(p)
        self.load_subjects([p.subject_ref for p in pending] + [p.other_ref for p in pending])
        for type_ in ROW_TYPES:
            rows = groups[type_]
            if not rows:
                continue
            model = _TABLE_OF[type_]
            # On PostgreSQL rows that change no state are not looked up first: the COPY
            # meets any stored source and the batch falls back to ON CONFLICT DO NOTHING.
            # Revocations, corrections and lifts are, so that a retried one is reported as
            # a duplicate and not as "already revoked".
            looked_up = [
                p
                for p in rows
                if not (self.postgres and type_ in _PLAIN_TYPES and p.target_ref is None)
            ]
            stored = (
                self.existing_sources(model, [p.source for p in looked_up]) if looked_up else set()
            )
            fresh = []
            for p in rows:
                if p.source in stored:
                    self.result.duplicate(p.line)
                else:
                    fresh.append(p)
            if fresh:
                getattr(self, f"_apply_{type_}")(fresh)

    def _reject(self, p: _Pending, field_name: str, message: str) -> None:
        self.result.reject(p.line, {field_name: [message]})

    def _subject_of(self, p: _Pending, ref: str | None, field_name: str = "subject"):
        hit = self.subjects.get(ref) if ref else None
        if hit is None:
            self._reject(p, field_name, f"no subject {ref}")
        return hit

    def _apply_subject(self, rows: list[_Pending]) -> None:
        keys = {p.clean["uscc"] or p.clean["id_number"] for p in rows}
        self.load_subjects(keys)
        fresh, seen = [], set()
        for p in rows:
            ident = p.clean["uscc"] or p.clean["id_number"]
            if ident in self.subjects or ident in seen:
                self.result.duplicate(p.line)  # known under another source: nothing to change
                continue
            seen.add(ident)
            fresh.append(p)
        ids = self.insert("subject", [dict(p.clean) for p in fresh], [None] * len(fresh))
        for p, rid in zip(fresh, ids, strict=True):
            if rid is not None:
                for key in (str(rid), p.clean["uscc"], p.clean["id_number"]):
                    if key:
                        self.subjects[key] = (rid, p.clean["kind"])
        self.count(ids, [p.line for p in fresh])

    def _apply_relation(self, rows: list[_Pending]) -> None:
        out, subject_ids, lines = [], [], []
        for p in rows:
            subject = self._subject_of(p, p.subject_ref)
            if subject is None:
                continue
            other = self._subject_of(p, p.other_ref, "other")
            if other is None:
                continue
            if other[0] == subject[0]:
                self._reject(p, "other", "a subject cannot relate to itself")
                continue
            shape = RELATION_SHAPES[p.clean["kind"]]
            wrong = [
                (f, person)
                for (f, person, who) in (("subject", shape[0], subject), ("other", shape[1], other))
                if person is not None and (who[1] in PERSON_KINDS) != person
            ]
            if wrong:
                f, person = wrong[0]
                self._reject(
                    p,
                    f,
                    f"a {p.clean['kind']} relation needs "
                    f"{'a person' if person else 'an organisation'} here",
                )
                continue
            out.append({**p.clean, "subject_id": subject[0], "other_id": other[0]})
            subject_ids.append(subject[0])
            lines.append(p.line)
        self.count(self.insert("relation", out, subject_ids), lines)

    def _apply_record(self, rows: list[_Pending]) -> None:
        plain = [p for p in rows if p.target_ref is None]
        corrections = [p for p in rows if p.target_ref is not None]
        out, subject_ids, lines = [], [], []
        for p in plain:
            subject = self._subject_of(p, p.subject_ref)
            if subject is None:
                continue
            out.append(
                {**p.clean, "subject_id": subject[0], "event": "record", "refers_to_id": None}
            )
            subject_ids.append(subject[0])
            lines.append(p.line)
        self.count(self.insert("record", out, subject_ids), lines)
        if corrections:
            self._apply_referring(corrections, "corrects")

    def _apply_revocation(self, rows: list[_Pending]) -> None:
        self._apply_referring(rows, "record")

    def _referred(self, column: Any, targets: dict) -> set[int]:
        """Ids among ``targets`` that rows of ``column`` already refer to (superseded or
        lifted), in one query."""
        if not targets:
            return set()
        ids = [t.id for t in targets.values()]
        return set(self.session.scalars(select(column).where(column.in_(ids))))

    def _apply_referring(self, rows: list[_Pending], field_name: str) -> None:
        """Corrections and revocations: each refers to a record not yet superseded."""
        targets = self.resolve_targets(CreditRecord, [p.target_ref for p in rows])
        superseded = self._referred(CreditRecord.refers_to_id, targets)
        out, subject_ids, lines = [], [], []
        for p in rows:
            target = targets.get(p.target_ref)
            if target is None:
                self._reject(p, field_name, f"no record {_show_ref(p.target_ref)}")
                continue
            if target.event not in ("record", "correction"):
                self._reject(p, field_name, f"is a {target.event}, not a record")
                continue
            if target.id in superseded:
                self._reject(p, field_name, "was already revoked, repaired or corrected")
                continue
            if p.type == "record":
                subject = self._subject_of(p, p.subject_ref)
                if subject is None:
                    continue
                if subject[0] != target.subject_id:
                    self._reject(p, "corrects", "is a record of another subject")
                    continue
                row = {**p.clean, "event": "correction"}
            else:
                if p.clean["event"] == "repair" and target.polarity != "negative":
                    self._reject(p, "kind", "only a negative record can be repaired")
                    continue
                if p.clean["event"] == "repair" and (
                    message := repair_error(
                        target.severity,
                        target.basis_decided_on,
                        target.effective_from,
                        p.clean["effective_from"],
                    )
                ):
                    self._reject(p, "on", message)
                    continue
                row = dict(p.clean)
            superseded.add(target.id)
            row.update(subject_id=target.subject_id, refers_to_id=target.id)
            out.append(row)
            subject_ids.append(target.subject_id)
            lines.append(p.line)
        type_ = "record" if rows[0].type == "record" else "revocation"
        self.count(self.insert(type_, out, subject_ids), lines)

    def _apply_listing(self, rows: list[_Pending]) -> None:
        out, subject_ids, lines = [], [], []
        for p in rows:
            subject = self._subject_of(p, p.subject_ref)
            if subject is None:
                continue
            if message := listing_subject_error(p.clean["kind"], subject[1]):
                self._reject(p, "list", message)
                continue
            row = dict(p.clean)
            row.update(
                subject_id=subject[0], sectors=pack(row["sectors"]), regions=pack(row["regions"])
            )
            out.append(row)
            subject_ids.append(subject[0])
            lines.append(p.line)
        self.count(self.insert("listing", out, subject_ids), lines)

    def _apply_lift(self, rows: list[_Pending]) -> None:
        targets = self.resolve_targets(Listing, [p.target_ref for p in rows])
        lifted = self._referred(ListingLift.listing_id, targets)
        out, subject_ids, lines = [], [], []
        for p in rows:
            listing = targets.get(p.target_ref)
            if listing is None:
                self._reject(p, "listing", f"no listing {_show_ref(p.target_ref)}")
                continue
            if listing.id in lifted:
                self._reject(p, "listing", "was already lifted")
                continue
            if p.clean["lifted_on"] < listing.starts_on:
                self._reject(
                    p, "on", f"must not be before the listing starts ({listing.starts_on})"
                )
                continue
            if listing.ends_on is not None and p.clean["lifted_on"] > listing.ends_on:
                self._reject(p, "on", f"the listing had already ended ({listing.ends_on})")
                continue
            lifted.add(listing.id)
            self.lift_subjects[listing.id] = listing.subject_id
            out.append({**p.clean, "listing_id": listing.id})
            subject_ids.append(listing.subject_id)
            lines.append(p.line)
        self.count(self.insert("lift", out, subject_ids), lines)

    def finish(self) -> None:
        """Feed entries and one audit entry for everything the batch applied."""
        if not self.applied:
            return
        changes.write_now(self.session, self.feed)
        audit.record(
            self.session,
            "credit.exchange.import",
            "exchange_batch",
            None,
            after={"applied": self.applied},
        )


def _copy_int(value: int | None) -> str:
    return "\\N" if value is None else str(value)


def _show_ref(ref: Any) -> str:
    return f"{ref[0]}/{ref[1]}" if isinstance(ref, tuple) else str(ref)


def _apply_batch(
    session: Session, pending: list[_Pending], result: ImportResult, subject_cache: dict
) -> None:
    batch = _Batch(session, result, subject_cache)
    batch.apply(pending)
    batch.finish()


@dataclass
class _Chunk:
    """What the reader hands the writer: one batch of valid rows, the rows of that stretch
    of the file that were rejected on their own, and the last line read."""

    pending: list[_Pending]
    rejected: list[tuple[int, Errors]]
    last_line: int


_DONE = object()


def _read_chunks(rows: Iterable[Row], batch_size: int, today: date) -> Iterator[_Chunk]:
    pending: list[_Pending] = []
    rejected: list[tuple[int, Errors]] = []
    last = 0
    for row in rows:
        last = max(last, row.line)
        if row.errors:
            rejected.append((row.line, row.errors))
            continue
        checked = validate_row(row, today)
        if isinstance(checked, dict):
            rejected.append((row.line, checked))
            continue
        pending.append(checked)
        if len(pending) >= batch_size:
            yield _Chunk(pending, rejected, last)
            pending, rejected = [], []
    yield _Chunk(pending, rejected, last)


def _in_background(chunks: Iterator[_Chunk], depth: int = 2) -> Iterator[_Chunk]:
    """Read and validate ahead in a thread while the database takes the previous batch:
    parsing is Python work and the batch mostly waits on PostgreSQL, so the two overlap.
    An error in the reader is raised in the writer; a writer that stops stops the reader."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        handoff.put(chunk, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except BaseException as exc:  # handed to the writer, which raises it
            item = exc
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=reader, name="credit-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def import_rows(
    session: Session,
    rows: Iterable[Row],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[ImportResult], None] | None = None,
    today: date | None = None,
) -> ImportResult:
    """Validate and apply ``rows`` in batches, committing ``session`` after each batch.

    A batch that fails is rolled back as a whole and its error raised: the batches before
    it stay committed, and running the import again finds their rows as duplicates.
    """
    today = today or clock.today()
    result = ImportResult()
    subject_cache: dict[str, tuple[int, str]] = {}
    for chunk in _in_background(_read_chunks(rows, batch_size, today)):
        if chunk.pending:
            try:
                _apply_batch(session, chunk.pending, result, subject_cache)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        for line, errors in chunk.rejected:
            result.reject(line, errors)
        result.lines = max(result.lines, chunk.last_line)
        if progress:
            progress(result)
    result.rejected.sort(key=lambda r: r["line"])
    return result


# --- the change feed -----------------------------------------------------------------


def _basis_of(obj: Any) -> dict | None:
    if obj.basis_authority is None:
        return None
    return {
        "authority": obj.basis_authority,
        "document_no": obj.basis_document_no,
        "decided_on": obj.basis_decided_on.isoformat(),
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def read_feed(session: Session, after: int, limit: int = 500, *, unmask: bool = True) -> dict:
    """Changes after cursor ``after``, each rendered as an import row."""
    rows = list(
        session.scalars(
            select(CreditChange)
            .where(CreditChange.id > after)
            .order_by(CreditChange.id)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ids: dict[str, set[int]] = {}
    for row in rows:
        ids.setdefault(row.type, set()).add(row.entity_id)

    def load(model: Any, wanted: Iterable[int]) -> dict[int, Any]:
        wanted = list(wanted)
        return (
            {o.id: o for o in session.scalars(select(model).where(model.id.in_(wanted)))}
            if wanted
            else {}
        )

    records = load(CreditRecord, ids.get("record", set()) | ids.get("revocation", set()))
    relations = load(Relation, ids.get("relation", set()))
    lifts = load(ListingLift, ids.get("lift", set()))
    listings = load(Listing, ids.get("listing", set()) | {x.listing_id for x in lifts.values()})
    referred = load(
        CreditRecord, {r.refers_to_id for r in records.values() if r.refers_to_id} - set(records)
    )
    referred.update(records)
    subject_ids = (
        ids.get("subject", set())
        | {r.subject_id for r in records.values()}
        | {r.subject_id for r in relations.values()}
        | {r.other_id for r in relations.values()}
        | {x.subject_id for x in listings.values()}
    )
    subjects = load(Subject, subject_ids)

    def ref(subject_id: int) -> str:
        s = subjects[subject_id]
        if s.uscc:
            return s.uscc
        return s.id_number if unmask else mask_resident_id(s.id_number)

    items = []
    for change in rows:
        data: dict[str, Any]
        if change.type == "subject":
            s = subjects[change.entity_id]
            data = {
                "type": "subject",
                "id": s.id,
                "kind": s.kind,
                "name": s.name,
                "region": s.region,
            }
            if s.uscc:
                data["uscc"] = s.uscc
            else:
                data["id_number"] = s.id_number if unmask else mask_resident_id(s.id_number)
            src = (
                (s.source_platform, s.source_id)
                if s.source_platform
                else ("gongxin", f"subject-{s.id}")
            )
        elif change.type == "relation":
            r = relations[change.entity_id]
            data = {
                "type": "relation",
                "id": r.id,
                "subject": ref(r.subject_id),
                "kind": r.kind,
                "other": ref(r.other_id),
                "share": None if r.share is None else format(r.share.normalize(), "f"),
                "start": _iso(r.start),
                "end": _iso(r.end),
                "note": r.note,
            }
            src = (
                (r.source_platform, r.source_id)
                if r.source_platform
                else ("gongxin", f"relation-{r.id}")
            )
        elif change.type in ("record", "revocation"):
            r = records[change.entity_id]
            src = (r.source_platform, r.source_id)
            target = referred.get(r.refers_to_id) if r.refers_to_id else None
            target_src = (
                {"platform": target.source_platform, "id": target.source_id} if target else None
            )
            if r.event in ("revocation", "repair"):
                data = {
                    "type": "revocation",
                    "id": r.id,
                    "record": target_src,
                    "kind": r.event,
                    "basis": _basis_of(r),
                    "on": _iso(r.effective_from),
                    "reason": r.description,
                    "subject": ref(r.subject_id),
                }
            else:
                data = {
                    "type": "record",
                    "id": r.id,
                    "subject": ref(r.subject_id),
                    "polarity": r.polarity,
                    "category": r.category,
                    "severity": r.severity,
                    "description": r.description,
                    "basis": _basis_of(r),
                    "effective_from": _iso(r.effective_from),
                    "effective_to": _iso(r.effective_to),
                }
                if target_src:
                    data["corrects"] = target_src
        elif change.type == "listing":
            x = listings[change.entity_id]
            src = (x.source_platform, x.source_id)
            data = {
                "type": "listing",
                "id": x.id,
                "subject": ref(x.subject_id),
                "list": x.kind,
                "basis": _basis_of(x),
                "start": _iso(x.starts_on),
                "end": _iso(x.ends_on),
                "sectors": unpack(x.sectors),
                "regions": unpack(x.regions),
                "reason": x.reason,
            }
        else:  # lift
            lift = lifts[change.entity_id]
            x = listings[lift.listing_id]
            src = (lift.source_platform, lift.source_id)
            data = {
                "type": "lift",
                "id": lift.id,
                "listing": {"platform": x.source_platform, "id": x.source_id},
                "basis": _basis_of(lift),
                "on": _iso(lift.lifted_on),
                "reason": lift.reason,
                "subject": ref(x.subject_id),
            }
        data["source"] = {"platform": src[0], "id": src[1]}
        items.append({"cursor": change.id, "at": change.at, "type": data["type"], "data": data})
    next_cursor = rows[-1].id if rows else after
    return {"items": items, "next": next_cursor, "more": more}


def feed_lines(items: list[dict]) -> str:
    """The feed's rows as JSON Lines, ready to import elsewhere."""
    return "".join(json.dumps(i["data"], ensure_ascii=False) + "\n" for i in items)
