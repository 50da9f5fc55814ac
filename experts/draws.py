"""Expert draws (抽取): pool, exclusions with reasons, verifiable draw, booking, sealing.

How a draw runs (:func:`draw_experts`), all in the request's one transaction:

1. A seed is taken from the CSPRNG and its SHA-256 commitment is stored (the round row is
   flushed) before any candidate is read; the draw uses the seed as read back from that
   row. Commitment and result become visible together when the transaction commits, so
   the guarantee rests on the draw being a pure function of (seed, pool snapshot,
   request): anyone given the record recomputes it, and the commitment, pool digests and
   results also go into the hash-chained audit trail. What one transaction cannot show
   is a draw re-run by someone rolling transactions back at the database; committing the
   commitment first, in a transaction of its own, would leave a trace of such re-runs,
   at the price of a second transaction per request (and, on SQLite, a second writer).
2. Per seat group, the candidates are the experts holding the requested specialty or one
   below it (an indexed equality on ``expert_specialties``) in the region the rule allows.
   Each candidate that may not sit is kept in the record with every reason: not active, on
   leave, booked in an overlapping window, at the monthly cap, barred by a credit penalty
   (``credit.eligibility``), or in conflict with a party (:mod:`experts.conflicts`).
3. :func:`experts.draw.draw` fills seats then backups from the canonical pools.
4. The seated experts' rows are locked (``SELECT … FOR UPDATE`` in id order) and their
   bookings re-read; every writer of bookings takes those locks first, so two concurrent
   draws can never book one expert into overlapping windows. If a concurrent draw booked
   one of them in between, the attempt is rolled back to its savepoint (releasing its
   locks, so lock order never cycles) and the pool is read again. SQLite serialises
   writers anyway (``BEGIN IMMEDIATE``).
5. The record is sealed until the window ends: the requesting centre sees names and
   contacts; another centre gets 404; auditors, regulators and admins get 403 until the
   unseal time, then everything (pools, exclusions, seeds) except contacts.

Backups are not booked: they are called only when a seated expert drops out, and are
checked again then (:func:`replace_expert`), in the committed order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, not_, select
from sqlalchemy.orm import Session, aliased

from credit import services as credit
from credit.categories import CATEGORIES
from credit.eligibility import eligibility, eligibility_many
from credit.models import CreditRecord, Subject
from experts import draw as engine
from experts.batch import fetch_rows, id_filters
from experts.conflicts import Candidate, Parties, Reason, conflicts_for
from experts.models import (
    Draw,
    DrawFeedback,
    DrawGroup,
    DrawReplacement,
    DrawReplacementFailure,
    DrawRound,
    DrawSeat,
    Expert,
    ExpertBooking,
    ExpertLeave,
    ExpertSpecialty,
)
from experts.services import (
    check_region,
    check_specialty_codes,
    check_uscc,
    local_scope,
    region_condition,
)
from trading import audit, clock
from trading.audit import AuditEntry
from trading.db import keep_on_refusal, storable_id
from trading.errors import Conflict, Forbidden, Invalid, NotFound
from trading.models import Bid, Tender
from trading.services import refuse_ineligible

MAX_ATTEMPTS = 8
READER_ROLES = ("auditor", "regulator", "admin")


@dataclass(frozen=True)
class DrawSettings:
    monthly_cap: int = 6
    lookback_years: int = 3
    # Who supplies a draw's entropy (experts.draw, scheme v2): supervisor, public or server
    # (development only); per centre USCC, else the default.
    entropy: str = "server"
    entropy_by_centre: tuple[tuple[str, str], ...] = ()


def settings_from(config: Any) -> DrawSettings:
    """The draw settings of an app's configuration."""
    by_centre = tuple(
        tuple(item.split("=", 1))
        for item in (config.get("DRAW_ENTROPY_BY_CENTRE") or "").split(",")
        if "=" in item
    )
    return DrawSettings(
        monthly_cap=config["DRAW_MONTHLY_CAP"],
        lookback_years=config["DRAW_EMPLOYMENT_LOOKBACK_YEARS"],
        entropy=config.get("DRAW_ENTROPY", "server"),
        entropy_by_centre=tuple((k.strip(), v.strip()) for k, v in by_centre),
    )


@dataclass(frozen=True)
class Context:
    """What every check of one draw needs: window, parties, region rule, settings."""

    start: datetime
    end: datetime
    parties: Parties
    sector: str | None
    region: str | None
    region_mode: str
    regions: tuple[str, ...]
    settings: DrawSettings

    def region_filter(self, column: Any):
        if self.region_mode == "local":
            return region_condition(column, [local_scope(self.region)])
        if self.region_mode == "exclude_local":
            return not_(region_condition(column, [local_scope(self.region)]))
        if self.region_mode == "list":
            return region_condition(column, self.regions)
        return None


@dataclass(frozen=True)
class CandidateRow:
    expert_id: int
    subject_id: int
    status: str
    employer_uscc: str | None


@dataclass
class _Pool:
    code: str
    candidates: list[CandidateRow]
    excluded: dict[int, list[Reason]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return engine.canonical_pool(
            str(row.expert_id) for row in self.candidates if row.expert_id not in self.excluded
        )

    def exclusions(self) -> list[dict[str, Any]]:
        return [
            {"expert_id": expert_id, "reasons": [r.as_dict() for r in reasons]}
            for expert_id, reasons in sorted(self.excluded.items())
        ]

    def reason_counts(self) -> dict[str, int]:
        return dict(
            Counter(
                rule for reasons in self.excluded.values() for rule in {r.rule for r in reasons}
            )
        )


# --- the request --------------------------------------------------------------------------


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _the_tender(session: Session, centre_uscc: str, data: dict[str, Any]) -> dict[str, Any]:
    """The request checked against the tender register, with the tender's parties added.

    A registered tender must be the drawing centre's and not yet awarded; its tenderee and
    agency must be the request's (the agency is taken from it when left out), and its
    registered bidders join the request's, so that leaving a bidder out of the request
    cannot let that bidder's staff sit. A project outside the register must say so
    (``external_project``), and a registered ref cannot be called external. Either way an
    agency must be a registered subject that may act as agency, as ``POST /tenders`` asks.
    The tender's row is locked, so draws of one tender queue."""
    ref = data["tender_ref"]
    tender = session.scalar(select(Tender).where(Tender.ref == ref).with_for_update())
    data = dict(data)
    if data.get("external_project"):
        if tender is not None:
            raise Invalid(
                {
                    "external_project": [
                        f"tender {ref} is registered here: draw for it without external_project"
                    ]
                },
                rule="draws.external_not_registered",
            )
    elif tender is None:
        raise Invalid(
            {
                "tender_ref": [
                    f"no tender {ref} is registered: register it (POST /tenders) or declare "
                    "an external project (external_project: {name})"
                ]
            },
            rule="draws.tender_registered",
        )
    else:
        if tender.centre_uscc and tender.centre_uscc != centre_uscc:
            raise Forbidden(
                f"Tender {ref} is run by another trading centre.",
                errors={"tender_ref": ["registered by another centre"]},
                rule="draws.own_tender",
            )
        if tender.awarded_at is not None:
            raise Conflict(
                f"Tender {ref} was awarded at {clock.rfc3339(tender.awarded_at)}; its "
                "evaluation is over and no experts are drawn for it.",
                errors={"tender_ref": ["already awarded"]},
                rule="draws.tender_open",
            )
        usccs = dict(
            session.execute(
                select(Subject.id, Subject.uscc).where(
                    Subject.id.in_([i for i in (tender.tenderee_id, tender.agency_id) if i])
                )
            ).all()
        )
        errors: dict[str, list[str]] = {}
        for name, subject_id in (("tenderee", tender.tenderee_id), ("agency", tender.agency_id)):
            registered = usccs.get(subject_id)
            if registered is None:
                continue
            if not data.get(name):
                data[name] = registered
            elif data[name] != registered:
                errors[name] = [f"tender {ref} has {name} {registered}"]
        for name in ("sector", "region"):
            registered = getattr(tender, name)
            if registered and data.get(name) and data[name] != registered:
                errors[name] = [f"tender {ref} is in {name} {registered}"]
            data[name] = data.get(name) or registered
        if errors:
            raise Invalid(errors, rule="draws.parties_match_tender")
        bid_by = session.scalars(
            select(Subject.uscc)
            .join(Bid, Bid.bidder_id == Subject.id)
            .where(Bid.tender_id == tender.id, Subject.uscc.isnot(None))
            .order_by(Subject.uscc)
        )
        data["bidders"] = list(dict.fromkeys([*(data.get("bidders") or []), *bid_by]))
    if data.get("agency"):
        agency = session.scalar(select(Subject).where(Subject.uscc == data["agency"]))
        if agency is None:
            raise Invalid(
                {"agency": [f"no subject {data['agency']}: register the agency first"]},
                rule="draws.agency_registered",
            )
        refuse_ineligible(
            eligibility(session, agency, "agency", data.get("sector"), data.get("region")),
            "agency",
            "agency",
            "draws.agency_eligible",
        )
    return data


def _context(session: Session, data: dict[str, Any], settings: DrawSettings) -> Context:
    """Validate a draw request beyond its shape; 422 with every field that is wrong."""
    errors: dict[str, list[str]] = {}
    tenderee = check_uscc(data["tenderee"], "tenderee", errors)
    agency = check_uscc(data["agency"], "agency", errors) if data.get("agency") else None
    bidders = tuple(
        dict.fromkeys(
            u for u in (check_uscc(b, "bidders", errors) for b in data.get("bidders") or []) if u
        )
    )
    regulators = tuple(
        u for u in (check_uscc(r, "regulators", errors) for r in data.get("regulators") or []) if u
    )
    codes = [seat["specialty"] for seat in data["seats"]]
    check_specialty_codes(codes, "seats", errors)
    if len(set(codes)) != len(codes):
        errors.setdefault("seats", []).append("each specialty may appear in one seat group only")
    start, end = _naive_utc(data["window"]["start"]), _naive_utc(data["window"]["end"])
    if end <= start:
        errors.setdefault("window", []).append("end must be after start")
    elif end <= clock.now():
        errors.setdefault("window", []).append("the evaluation window has already ended")
    rule = data.get("region_rule") or {"mode": "any"}
    mode = rule.get("mode", "any")
    regions = tuple(
        r for r in (check_region(c, "region_rule", errors) for c in rule.get("regions") or []) if r
    )
    if mode == "list" and not rule.get("regions"):
        errors.setdefault("region_rule", []).append("mode list needs regions")
    region = check_region(data["region"], "region", errors) if data.get("region") else None
    if region is None and tenderee and "region" not in errors:
        region = session.scalar(select(Subject.region).where(Subject.uscc == tenderee))
    if mode in ("local", "exclude_local") and region is None and "region" not in errors:
        errors.setdefault("region", []).append(
            "the project's region is unknown: register the tenderee or give region"
        )
    if errors:
        raise Invalid(errors, rule="draws.request_valid")
    return Context(
        start=start,
        end=end,
        parties=Parties(tenderee, agency, bidders, regulators),
        sector=data.get("sector"),
        region=region,
        region_mode=mode,
        regions=regions,
        settings=settings,
    )


# --- pools and exclusions -----------------------------------------------------------------


def _candidates(
    session: Session, codes: Sequence[str], ctx: Context
) -> dict[str, list[CandidateRow]]:
    """Per requested code, the experts holding it or a code below it in the allowed region.

    Two queries whose cost follows the pool, not the register: the range scan of
    ``(code, region)`` for the ids, then the experts by primary key (joined in one query,
    the planner would rather scan every expert for a hash join)."""
    stmt = select(ExpertSpecialty.code, ExpertSpecialty.expert_id).where(
        ExpertSpecialty.code.in_(list(codes))
    )
    region_filter = ctx.region_filter(ExpertSpecialty.region)
    if region_filter is not None:
        stmt = stmt.where(region_filter)
    holders = fetch_rows(session, stmt)
    rows: dict[int, CandidateRow] = {}
    for condition in id_filters(session, Expert.id, (expert_id for _, expert_id in holders)):
        for row in fetch_rows(
            session,
            select(Expert.id, Expert.subject_id, Expert.status, Expert.employer_uscc).where(
                condition
            ),
        ):
            rows[row[0]] = CandidateRow(*row)
    found: dict[str, list[CandidateRow]] = {code: [] for code in codes}
    for code, expert_id in holders:
        found[code].append(rows[expert_id])
    return found


def booking_reasons(
    session: Session, expert_ids: Iterable[int], ctx: Context
) -> dict[int, list[Reason]]:
    """Booked in an overlapping window, or at the monthly cap in the window's month."""
    reasons: dict[int, list[Reason]] = {}
    first, following = clock.china_month_bounds(ctx.start)
    month = f"{clock.china_date(ctx.start):%Y-%m}"
    for condition in id_filters(session, ExpertBooking.expert_id, expert_ids):
        overlapping = select(ExpertBooking.expert_id, ExpertBooking.draw_id).where(
            condition,
            ExpertBooking.released_at.is_(None),
            ExpertBooking.ends_at > ctx.start,
            ExpertBooking.starts_at < ctx.end,
        )
        for expert_id, draw_id in fetch_rows(session, overlapping):
            reasons.setdefault(expert_id, []).append(
                Reason("draws.booked", f"booked for draw {draw_id} in an overlapping window")
            )
        month_counts = (
            select(ExpertBooking.expert_id, func.count())
            .where(
                condition,
                ExpertBooking.released_at.is_(None),
                ExpertBooking.starts_at >= first,
                ExpertBooking.starts_at < following,
            )
            .group_by(ExpertBooking.expert_id)
            .having(func.count() >= ctx.settings.monthly_cap)
        )
        for expert_id, count in fetch_rows(session, month_counts):
            reasons.setdefault(expert_id, []).append(
                Reason(
                    "draws.frequency_cap",
                    f"already booked {count} times in {month} "
                    f"(cap {ctx.settings.monthly_cap} per month)",
                )
            )
    return reasons


def standing_reasons(
    session: Session, rows: Sequence[CandidateRow], ctx: Context
) -> dict[int, list[Reason]]:
    """Reasons that do not depend on concurrent draws: status, leave, penalty, conflicts."""
    reasons: dict[int, list[Reason]] = {}

    def add(expert_id: int, reason: Reason) -> None:
        reasons.setdefault(expert_id, []).append(reason)

    for row in rows:
        if row.status != "active":
            add(row.expert_id, Reason("draws.not_active", f"the expert is {row.status}"))
    for condition in id_filters(session, ExpertLeave.expert_id, (r.expert_id for r in rows)):
        leaves = fetch_rows(
            session,
            select(ExpertLeave.expert_id, ExpertLeave.starts_on, ExpertLeave.ends_on).where(
                condition,
                ExpertLeave.ends_on >= clock.china_date(ctx.start),
                ExpertLeave.starts_on <= clock.china_date(ctx.end),
            ),
        )
        for expert_id, starts_on, ends_on in leaves:
            add(expert_id, Reason("draws.on_leave", f"on leave {starts_on}..{ends_on}"))
    verdicts = eligibility_many(
        session,
        [row.subject_id for row in rows],
        "expert",
        ctx.sector,
        ctx.region,
        clock.china_date(ctx.start),
    )
    by_subject = {row.subject_id: row.expert_id for row in rows}
    for subject_id, verdict in verdicts.items():
        if not verdict.eligible:
            add(
                by_subject[subject_id],
                Reason(
                    "draws.penalty", "; ".join(f"{r.rule}: {r.message}" for r in verdict.reasons)
                ),
            )
    for expert_id, reason in prior_penalties(session, rows, clock.china_date(ctx.start)).items():
        add(expert_id, reason)
    conflicts = conflicts_for(
        session,
        ctx.parties,
        [Candidate(r.expert_id, r.subject_id, r.employer_uscc) for r in rows],
        clock.china_date(ctx.start),
        lookback_years=ctx.settings.lookback_years,
    )
    for expert_id, found in conflicts.items():
        for reason in found:
            add(expert_id, reason)
    return reasons


#: Categories of illegal acts in tendering (see credit.categories).
TENDERING_OFFENCES = tuple(c.code for c in CATEGORIES.values() if c.tendering_offence)
PRIOR_PENALTY_BASIS = "《评标委员会和评标方法暂行规定》第十二条"


def prior_penalties(session: Session, rows: Sequence[CandidateRow], on: date) -> dict[int, Reason]:
    """Experts ever penalised for an illegal act in tendering (art. 12 (四): 曾因在招标、评标
    以及其他与招标投标有关活动中从事违法行为而受过行政处罚或刑事处罚), whatever the
    severity and however long ago: its publicity period and a credit repair (信用修复)
    end the record's publicity, not the fact of the penalty. A record revoked (撤销) or
    replaced by a correction no longer counts (the correction counts in its place)."""
    later = aliased(CreditRecord)
    superseded = (
        select(later.id)
        .where(later.refers_to_id == CreditRecord.id, later.event.in_(("revocation", "correction")))
        .exists()
    )
    by_subject = {row.subject_id: row.expert_id for row in rows}
    found: dict[int, list[Any]] = {}
    for condition in id_filters(session, CreditRecord.subject_id, by_subject):
        for record in fetch_rows(
            session,
            select(
                CreditRecord.subject_id,
                CreditRecord.id,
                CreditRecord.category,
                CreditRecord.severity,
                CreditRecord.basis_authority,
                CreditRecord.basis_document_no,
                CreditRecord.basis_decided_on,
            )
            .where(
                condition,
                CreditRecord.event.in_(("record", "correction")),
                CreditRecord.polarity == "negative",
                CreditRecord.category.in_(TENDERING_OFFENCES),
                CreditRecord.effective_from <= on,
                not_(superseded),
            )
            .order_by(CreditRecord.id),
        ):
            found.setdefault(record[0], []).append(record)
    reasons = {}
    for subject_id, records in found.items():
        named = "; ".join(
            f"{CATEGORIES[category].name} ({severity}), record {record_id}: {authority} "
            f"{document_no} of {decided_on}"
            for _, record_id, category, severity, authority, document_no, decided_on in records
        )
        reasons[by_subject[subject_id]] = Reason(
            "draws.prior_penalty",
            f"penalised for an illegal act in tendering ({PRIOR_PENALTY_BASIS}): {named}",
        )
    return reasons


def _merge(*sources: dict[int, list[Reason]]) -> dict[int, list[Reason]]:
    merged: dict[int, list[Reason]] = {}
    for source in sources:
        for expert_id, reasons in source.items():
            merged.setdefault(expert_id, []).extend(reasons)
    return merged


def _shortfall_error(
    shortfall: engine.Shortfall, pools: dict[str, _Pool], session: Session, ctx: Context
) -> Conflict:
    details = []
    for shortage in shortfall.shortages:
        pool = pools[shortage.key]
        in_region = len(pool.candidates)
        total = session.scalar(
            select(func.count())
            .select_from(ExpertSpecialty)
            .where(ExpertSpecialty.code == shortage.key)
        )
        details.append(
            {
                "specialty": shortage.key,
                "needed": shortage.needed,
                "available": shortage.available,
                "candidates": in_region,
                "outside_region": max(0, (total or 0) - in_region),
                "excluded": pool.reason_counts(),
            }
        )
    messages = [
        f"{d['specialty']}: needs {d['needed']}, {d['available']} available of {d['candidates']}"
        f" candidates in the region"
        + (
            "; excluded: " + ", ".join(f"{rule} {n}" for rule, n in sorted(d["excluded"].items()))
            if d["excluded"]
            else ""
        )
        + (f"; {d['outside_region']} outside the region rule" if d["outside_region"] else "")
        for d in details
    ]
    return Conflict(
        "Not enough eligible experts for: "
        + ", ".join(d["specialty"] for d in details)
        + ". Nothing was drawn or booked.",
        errors={"seats": messages, "shortfall": details},
        rule="draws.enough_experts",
    )


# --- drawing and booking ------------------------------------------------------------------


def lock_experts(session: Session, expert_ids: Iterable[int]) -> None:
    """Lock expert rows in id order (a no-op on SQLite, which serialises writers)."""
    ids = sorted(set(expert_ids))
    if ids:
        session.execute(
            select(Expert.id).where(Expert.id.in_(ids)).order_by(Expert.id).with_for_update()
        ).all()


def _book(session: Session, draw: Draw, expert_ids: Iterable[int], now: datetime) -> None:
    session.add_all(
        ExpertBooking(
            expert_id=expert_id,
            draw_id=draw.id,
            starts_at=draw.window_start,
            ends_at=draw.window_end,
            created_at=now,
        )
        for expert_id in expert_ids
    )


def _pools_now(
    session: Session,
    requested: Sequence[tuple[str, int, int]],
    ctx: Context,
    reserved: dict[int, Reason] | None = None,
) -> dict[str, _Pool]:
    """Per seat group, the candidates and who of them may not sit now, with every reason."""
    candidates = _candidates(session, [code for code, _, _ in requested], ctx)
    rows = list({row.expert_id: row for rs in candidates.values() for row in rs}.values())
    held = {expert_id: [reason] for expert_id, reason in (reserved or {}).items()}
    excluded = _merge(
        held,
        standing_reasons(session, rows, ctx),
        booking_reasons(session, [row.expert_id for row in rows], ctx),
    )
    return {
        code: _Pool(
            code,
            candidates[code],
            {
                r.expert_id: excluded[r.expert_id]
                for r in candidates[code]
                if r.expert_id in excluded
            },
        )
        for code, _, _ in requested
    }


def commit_round(
    session: Session,
    draw: Draw,
    number: int,
    reason: str,
    requested: Sequence[tuple[str, int, int]],
    ctx: Context,
    entropy: dict[str, Any],
    reserved: dict[int, Reason] | None = None,
) -> DrawRound:
    """Step 1 of scheme v2 (:mod:`experts.draw`): fix the pools and a secret, store and
    audit the commitment; nobody is chosen yet. Refused (409) when a group is short."""
    pools = _pools_now(session, requested, ctx, reserved)
    groups = [engine.SeatGroup(code, tuple(pools[code].ids), n, b) for code, n, b in requested]
    secret = engine.new_seed()
    try:
        # Whether a group is short depends on the pools only where they overlap; the
        # secret stands in for the seed here, the reveal checks again.
        engine.draw(secret, groups)
    except engine.Shortfall as shortfall:
        raise _shortfall_error(shortfall, pools, session, ctx) from None
    digests = [(group.key, engine.pool_digest(group.candidates)) for group in groups]
    request_hex = engine.request_digest(draw.request)
    round_ = DrawRound(
        draw_id=draw.id,
        number=number,
        scheme="v2",
        seed_commitment=engine.round_commitment(secret, digests, request_hex),
        server_secret=secret.hex(),
        request_digest=request_hex,
        entropy_kind=entropy["kind"],
        entropy_name=entropy.get("name"),
        seed=None,
        reason=reason,
        created_at=clock.now(),
    )
    session.add(round_)
    session.flush()
    for position, (group, (_, digest)) in enumerate(zip(groups, digests, strict=True)):
        session.add(
            DrawGroup(
                round_id=round_.id,
                position=position,
                specialty=group.key,
                seats=group.count,
                backups_requested=group.backups,
                pool=list(group.candidates),
                pool_digest=digest,
                exclusions=pools[group.key].exclusions(),
                selected=[],
                backups=[],
            )
        )
    session.flush()
    audit.record(
        session,
        "draw.commit",
        "draw",
        draw.id,
        after={
            "round": number,
            "tender_ref": draw.tender_ref,
            "window": [draw.window_start, draw.window_end],
            "seed_commitment": round_.seed_commitment,
            "request_digest": request_hex,
            "pool_digests": dict(digests),
            "pool_sizes": {group.key: len(group.candidates) for group in groups},
            "entropy": {"kind": entropy["kind"], "name": entropy.get("name")},
        },
    )
    return round_


def reveal_round(
    session: Session,
    draw: Draw,
    round_: DrawRound,
    entropy: str,
    supplied_by: str,
    ctx: Context,
) -> list[engine.GroupResult]:
    """Steps 2 and 3 of scheme v2: derive the seed from the committed secret and the
    entropy, withdraw whoever another draw took since the commitment, draw, lock, re-check
    and book (again from the withdrawal when a concurrent draw wins)."""
    seed = engine.derive_seed(bytes.fromhex(round_.server_secret), entropy)
    round_.seed = seed.hex()
    round_.entropy = engine.normal_entropy(entropy)
    round_.entropy_by = supplied_by
    round_.entropy_at = clock.now()
    stored = _groups_of(session, [round_.id])[round_.id]
    committed = sorted({int(e) for g in stored for e in g.pool})
    for _attempt in range(MAX_ATTEMPTS):
        savepoint = session.begin_nested()
        withdrawn = booking_reasons(session, committed, ctx)
        groups = [
            engine.SeatGroup(
                g.specialty,
                tuple(e for e in g.pool if int(e) not in withdrawn),
                g.seats,
                g.backups_requested,
            )
            for g in stored
        ]
        try:
            results = engine.draw(seed, groups)
        except engine.Shortfall as shortfall:
            savepoint.rollback()
            pools = {
                g.specialty: _Pool(g.specialty, [], {e: r for e, r in withdrawn.items()})
                for g in stored
            }
            raise _shortfall_error(shortfall, pools, session, ctx) from None
        seated = [int(e) for result in results for e in result.selected]
        lock_experts(session, seated)
        if booking_reasons(session, seated, ctx):
            # A concurrent draw booked one of them after the withdrawal was read: let go of
            # the locks (so that no two draws ever wait on each other in a cycle), again.
            savepoint.rollback()
            continue
        for group, result in zip(stored, results, strict=True):
            group.selected = list(result.selected)
            group.backups = list(result.backups)
        round_.withdrawn = [
            {"expert_id": expert_id, "reasons": [r.as_dict() for r in reasons]}
            for expert_id, reasons in sorted(withdrawn.items())
        ]
        _book(session, draw, seated, clock.now())
        session.flush()
        savepoint.commit()
        return results
    raise Conflict(
        "Concurrent draws kept taking the same experts; try again.",
        rule="draws.contention",
    )


def server_entropy() -> str:
    """Entropy of kind ``server`` (development): taken after the commitment."""
    return secrets.token_hex(engine.SEED_BYTES)


def _entropy_source(
    centre_uscc: str, data: dict[str, Any], settings: DrawSettings
) -> dict[str, Any]:
    """Who supplies the entropy of this draw: the request's choice within the centre's
    configuration (a centre configured for a supervisor or a public source may not fall
    back to the server)."""
    configured = dict(settings.entropy_by_centre).get(centre_uscc, settings.entropy)
    asked = dict(data.get("entropy") or {"kind": configured})
    if configured != "server" and asked["kind"] == "server":
        raise Invalid(
            {
                "entropy": [
                    f"this centre draws with entropy from a {configured} source; "
                    "server-only entropy is for development"
                ]
            },
            rule="draws.entropy_source",
        )
    if asked["kind"] == "public" and not asked.get("name"):
        raise Invalid(
            {"entropy": ["a public source is named in advance: give entropy.name"]},
            rule="draws.entropy_source",
        )
    return {"kind": asked["kind"], "name": asked.get("name")}


def _one_live_draw(session: Session, tender_ref: str, ctx: Context) -> None:
    """A tender has one live draw per evaluation window: another is refused until the first
    is voided with a reason (no silent draw shopping)."""
    if session.get_bind().dialect.name == "postgresql":
        # Draws of one tender queue, also for an external project that has no row to lock.
        key = int.from_bytes(hashlib.sha256(f"draw:{tender_ref}".encode()).digest()[:8], "big")
        session.execute(select(func.pg_advisory_xact_lock(key - (1 << 63))))
    live = session.scalar(
        select(Draw)
        .where(
            Draw.tender_ref == tender_ref,
            Draw.state != "void",
            Draw.window_start < ctx.end,
            Draw.window_end > ctx.start,
        )
        .order_by(Draw.id)
        .limit(1)
    )
    if live is not None:
        raise Conflict(
            f"Tender {tender_ref} already has draw {live.id} ({live.state}) for an overlapping "
            "window; void it with a reason before drawing again.",
            errors={"tender_ref": [f"draw {live.id} is live"]},
            rule="draws.one_live_draw",
        )


def _seat_results(
    session: Session, draw: Draw, results: Sequence[engine.GroupResult], now: datetime
) -> None:
    seat_no = 0
    for result in results:
        for expert_id in result.selected:
            seat_no += 1
            session.add(
                DrawSeat(
                    draw_id=draw.id,
                    seat=seat_no,
                    specialty=result.key,
                    expert_id=int(expert_id),
                    source="draw",
                    round_number=0,
                    active=True,
                    created_at=now,
                )
            )
    session.flush()


def draw_experts(
    session: Session, centre_uscc: str | None, data: dict[str, Any], settings: DrawSettings
) -> Draw:
    """Commit the draw of one tender, and with server entropy also reveal it (module
    docstring); with a supervisor's or a public source's entropy the draw waits for
    :func:`supply_entropy`."""
    if not centre_uscc:
        raise Forbidden(
            "Only a trading centre (a token bound to its USCC) may draw experts.",
            errors={"Authorization": ["not bound to a centre"]},
            rule="draws.centre_only",
        )
    _context(session, data, settings)  # every field that is wrong first, then the tender
    data = _the_tender(session, centre_uscc, data)
    ctx = _context(session, data, settings)
    entropy = _entropy_source(centre_uscc, data, settings)
    _one_live_draw(session, data["tender_ref"], ctx)
    now = clock.now()
    request = {**_request_json(data, ctx), "entropy": entropy}
    draw = Draw(
        centre_uscc=centre_uscc,
        tender_ref=data["tender_ref"],
        request=request,
        window_start=ctx.start,
        window_end=ctx.end,
        unseal_at=ctx.end,
        state="committed",
        actor=session.info.get("actor", "system"),
        created_at=now,
    )
    session.add(draw)
    session.flush()
    default_backups = data.get("backups", 0)
    requested = [
        (seat["specialty"], seat["count"], seat.get("backups", default_backups))
        for seat in data["seats"]
    ]
    round_ = commit_round(session, draw, 0, "draw", requested, ctx, entropy)
    if entropy["kind"] == "server":
        _reveal(session, draw, round_, server_entropy(), "server", ctx)
    return draw


def _reveal(
    session: Session, draw: Draw, round_: DrawRound, entropy: str, by: str, ctx: Context
) -> None:
    results = reveal_round(session, draw, round_, entropy, by, ctx)
    _seat_results(session, draw, results, clock.now())
    draw.state = "drawn"
    session.flush()
    audit.record(
        session,
        "draw.reveal",
        "draw",
        draw.id,
        after={
            "round": round_.number,
            "entropy": {"kind": round_.entropy_kind, "value": round_.entropy, "by": by},
            "results": {r.key: [list(r.selected), list(r.backups)] for r in results},
            "withdrawn": [item["expert_id"] for item in round_.withdrawn or []],
        },
    )


def supply_entropy(
    session: Session,
    draw_id: int,
    data: dict[str, Any],
    role: str,
    org: str | None,
    settings: DrawSettings,
) -> Draw:
    """The entropy of a committed draw: typed by the supervising regulator (kind
    ``supervisor``), or the announced numbers of the public source named in the request,
    entered by the centre (kind ``public``). Then the draw is revealed."""
    draw = session.get(Draw, draw_id)
    if draw is None or (role == "centre" and draw.centre_uscc != org):
        raise NotFound(f"No draw {draw_id}.", rule="draws.exists")
    lock_draw(session, draw)
    session.refresh(draw)
    round_ = _rounds(session, draw.id)[0]
    if draw.state != "committed" or round_.seed is not None:
        raise Conflict(
            f"Draw {draw.id} is {draw.state}: its entropy was already supplied.",
            errors={"draw": [draw.state]},
            rule="draws.awaiting_entropy",
        )
    kind = round_.entropy_kind
    allowed = {"supervisor": ("regulator", "admin"), "public": ("centre",)}.get(kind, ())
    if role not in allowed:
        raise Forbidden(
            f"The entropy of draw {draw.id} comes from the "
            + ("supervising regulator (监督人)." if kind == "supervisor" else "drawing centre."),
            errors={"Authorization": [f"entropy of kind {kind}"]},
            rule="draws.entropy_supplier",
        )
    if clock.now() >= draw.window_end:
        raise Conflict(
            f"The evaluation window of draw {draw.id} has ended.",
            errors={"draw": ["closed"]},
            rule="draws.open_for_replacement",
        )
    by = session.info.get("actor", "system")
    _reveal(session, draw, round_, data["value"], by, _context_of(draw, settings))
    return draw


def void_draw(session: Session, draw: Draw, data: dict[str, Any]) -> Draw:
    """Void (作废) a draw with a reason and its basis: its bookings are released, the
    record stays readable, and the tender may be drawn again."""
    lock_draw(session, draw)
    session.refresh(draw)
    if draw.state == "void":
        raise Conflict(
            f"Draw {draw.id} was voided at {clock.rfc3339(draw.voided_at)}.",
            errors={"draw": ["void"]},
            rule="draws.void_once",
        )
    now = clock.now()
    before = draw.state
    draw.state = "void"
    draw.voided_at = now
    draw.void_reason = data["reason"]
    draw.void_basis = data["basis"]
    draw.voided_by = session.info.get("actor", "system")
    for booking in session.scalars(
        select(ExpertBooking).where(
            ExpertBooking.draw_id == draw.id, ExpertBooking.released_at.is_(None)
        )
    ):
        booking.released_at = now
    session.flush()
    audit.record(
        session,
        "draw.void",
        "draw",
        draw.id,
        before={"state": before},
        after={"state": "void", "reason": data["reason"], "basis": data["basis"]},
    )
    return draw


def _request_json(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "tender_ref": data["tender_ref"],
        "tenderee": ctx.parties.tenderee,
        "agency": ctx.parties.agency,
        "bidders": list(ctx.parties.bidders),
        "regulators": list(ctx.parties.regulators),
        "sector": ctx.sector,
        "region": ctx.region,
        # As on the wire (RFC 3339 with offset): the request is shown in the draw record.
        "window": {"start": _wire(ctx.start), "end": _wire(ctx.end)},
        "seats": [
            {
                "specialty": s["specialty"],
                "count": s["count"],
                "backups": s.get("backups", data.get("backups", 0)),
            }
            for s in data["seats"]
        ],
        "backups": data.get("backups", 0),
        "region_rule": {"mode": ctx.region_mode, "regions": list(ctx.regions)},
        "external_project": data.get("external_project"),
    }


def _context_of(draw: Draw, settings: DrawSettings) -> Context:
    request = draw.request
    rule = request.get("region_rule") or {}
    return Context(
        start=draw.window_start,
        end=draw.window_end,
        parties=Parties(
            request["tenderee"],
            request.get("agency"),
            tuple(request.get("bidders") or ()),
            tuple(request.get("regulators") or ()),
        ),
        sector=request.get("sector"),
        region=request.get("region"),
        region_mode=rule.get("mode", "any"),
        regions=tuple(rule.get("regions") or ()),
        settings=settings,
    )


# --- access and views -----------------------------------------------------------------------


def open_draw(session: Session, draw_id: int, role: str, org: str | None) -> tuple[Draw, str]:
    """The draw and how the caller may see it: ``owner`` or ``full`` (after unsealing).

    Another centre is told the draw does not exist; readers wait for the unseal time.
    """
    draw = session.get(Draw, draw_id)
    if draw is None or (role == "centre" and draw.centre_uscc != org):
        raise NotFound(f"No draw {draw_id}.", rule="draws.exists")
    if role == "centre":
        return draw, "owner"
    if role in READER_ROLES:
        if clock.now() < draw.unseal_at:
            raise Forbidden(
                f"Draw {draw_id} is sealed until {clock.rfc3339(draw.unseal_at)} (the end of "
                "evaluation); only the requesting centre sees it before then.",
                errors={"draw": ["sealed"]},
                rule="draws.sealed",
            )
        return draw, "full"
    raise NotFound(f"No draw {draw_id}.", rule="draws.exists")


def own_draw(session: Session, draw_id: int, role: str, org: str | None) -> Draw:
    """The draw, for a change only its centre may make."""
    draw, audience = open_draw(session, draw_id, role, org)
    if audience != "owner":
        raise Forbidden(
            "Only the centre that made the draw may change it.",
            errors={"Authorization": ["not the drawing centre"]},
            rule="draws.owner_only",
        )
    return draw


def _rounds(session: Session, draw_id: int) -> list[DrawRound]:
    return list(
        session.scalars(
            select(DrawRound).where(DrawRound.draw_id == draw_id).order_by(DrawRound.number)
        )
    )


def _groups_of(session: Session, round_ids: Sequence[int]) -> dict[int, list[DrawGroup]]:
    found: dict[int, list[DrawGroup]] = {rid: [] for rid in round_ids}
    for group in session.scalars(
        select(DrawGroup)
        .where(DrawGroup.round_id.in_(round_ids))
        .order_by(DrawGroup.round_id, DrawGroup.position)
    ):
        found[group.round_id].append(group)
    return found


def _seats(session: Session, draw_id: int) -> list[DrawSeat]:
    return list(
        session.scalars(select(DrawSeat).where(DrawSeat.draw_id == draw_id).order_by(DrawSeat.id))
    )


def _people(session: Session, expert_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted(set(expert_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Expert.id, Subject.name, Expert.title, Expert.region, Expert.contact)
        .join(Subject, Subject.id == Expert.subject_id)
        .where(Expert.id.in_(ids))
    )
    return {
        row.id: {"name": row.name, "title": row.title, "region": row.region, "contact": row.contact}
        for row in rows
    }


def _replacements(session: Session, draw_id: int) -> list[DrawReplacement]:
    return list(
        session.scalars(
            select(DrawReplacement)
            .where(DrawReplacement.draw_id == draw_id)
            .order_by(DrawReplacement.id)
        )
    )


def draws_query(role: str, org: str | None, tender_ref: str | None = None) -> Select:
    """A centre's own draws; for readers, the draws already unsealed. Newest first."""
    stmt = select(Draw).order_by(Draw.id.desc())
    if role == "centre":
        stmt = stmt.where(Draw.centre_uscc == org)
    else:
        stmt = stmt.where(Draw.unseal_at <= clock.now())
    if tender_ref:
        stmt = stmt.where(Draw.tender_ref == tender_ref)
    return stmt


def draw_list_item(draw: Draw) -> dict[str, Any]:
    return {
        "id": draw.id,
        "tender_ref": draw.tender_ref,
        "centre": draw.centre_uscc,
        "window": {"start": draw.window_start, "end": draw.window_end},
        "unseal_at": draw.unseal_at,
        "sealed": clock.now() < draw.unseal_at,
        "created_at": draw.created_at,
    }


def _wire(instant: datetime | None) -> str | None:
    """An instant inside a free-form object, as on the wire (RFC 3339 with offset)."""
    return None if instant is None else clock.rfc3339(instant)


def draw_state(session: Session, draw: Draw) -> dict[str, Any]:
    """What anyone taking part may see of a draw's progress: no names."""
    first = _rounds(session, draw.id)[0]
    return {
        "id": draw.id,
        "tender_ref": draw.tender_ref,
        "state": draw.state,
        "commitment": first.seed_commitment,
        "entropy": _entropy_of(first) or {},
        "void": None
        if draw.voided_at is None
        else {"at": _wire(draw.voided_at), "reason": draw.void_reason, "basis": draw.void_basis},
    }


def _tender_draws(session: Session, draw: Draw, audience: str) -> list[dict[str, Any]]:
    """Every draw of the draw's tender, voided ones included (no silent draw shopping)."""
    stmt = select(Draw).where(Draw.tender_ref == draw.tender_ref).order_by(Draw.id)
    if audience == "owner":
        stmt = stmt.where(Draw.centre_uscc == draw.centre_uscc)
    return [
        {
            "id": d.id,
            "state": d.state,
            "window": {"start": _wire(d.window_start), "end": _wire(d.window_end)},
            "created_at": _wire(d.created_at),
            "voided_at": _wire(d.voided_at),
            "void_reason": d.void_reason,
        }
        for d in session.scalars(stmt)
    ]


def draw_view(session: Session, draw: Draw, audience: str) -> dict[str, Any]:
    """The owner's view (names and contacts) or the full record (pools, exclusions, seeds)."""
    now = clock.now()
    unsealed = now >= draw.unseal_at
    rounds = _rounds(session, draw.id)
    groups = _groups_of(session, [r.id for r in rounds])
    seats = _seats(session, draw.id)
    backup_ids = [int(b) for r in rounds for g in groups[r.id] for b in g.backups]
    people = _people(session, [s.expert_id for s in seats] + backup_ids)
    with_contact = audience == "owner"

    def person(expert_id: int) -> dict[str, Any]:
        found = dict(people.get(expert_id, {}))
        if not with_contact:
            found.pop("contact", None)
        return {"id": expert_id, **found}

    ever_seated = {s.expert_id: s for s in seats}
    experts = [
        {**person(s.expert_id), "seat": s.seat, "specialty": s.specialty, "source": s.source}
        for s in sorted((s for s in seats if s.active), key=lambda s: s.seat)
    ]
    backups = []
    for round_ in rounds:
        for group in groups[round_.id]:
            for order, raw in enumerate(group.backups, start=1):
                expert_id = int(raw)
                seat = ever_seated.get(expert_id)
                state = "waiting" if seat is None else ("seated" if seat.active else "released")
                backups.append(
                    {
                        **person(expert_id),
                        "specialty": group.specialty,
                        "order": order,
                        "state": state,
                    }
                )
    view: dict[str, Any] = {
        "id": draw.id,
        "tender_ref": draw.tender_ref,
        "external_project": draw.request.get("external_project"),
        "state": draw.state,
        "commitment": rounds[0].seed_commitment if rounds else "",
        "entropy": draw.request.get("entropy") or {"kind": None, "name": None},
        "void": None
        if draw.voided_at is None
        else {
            "at": _wire(draw.voided_at),
            "reason": draw.void_reason,
            "basis": draw.void_basis,
            "by": draw.voided_by,
        },
        "tender_draws": _tender_draws(session, draw, audience),
        "centre": draw.centre_uscc,
        "window": {"start": draw.window_start, "end": draw.window_end},
        "unseal_at": draw.unseal_at,
        "sealed": not unsealed,
        "created_at": draw.created_at,
        "experts": experts,
        "backups": backups,
        "rounds": [],
        "replacements": [
            {
                "seat": r.seat,
                "old_expert_id": r.old_expert_id,
                "new_expert_id": r.new_expert_id,
                "reason": r.reason,
                "note": r.note,
                "source": r.source,
                "round": r.round_number,
                "skipped": r.skipped,
                "actor": r.actor,
                "at": r.at,
            }
            for r in _replacements(session, draw.id)
        ],
        "failed_replacements": [
            {
                "seat": f.seat,
                "expert_id": f.expert_id,
                "reason": f.reason,
                "note": f.note,
                "rule": f.rule,
                "message": f.message,
                "skipped": f.details.get("skipped", []),
                "actor": f.actor,
                "at": f.at,
            }
            for f in session.scalars(
                select(DrawReplacementFailure)
                .where(DrawReplacementFailure.draw_id == draw.id)
                .order_by(DrawReplacementFailure.id)
            )
        ],
    }
    for round_ in rounds:
        entry: dict[str, Any] = {
            "number": round_.number,
            "reason": round_.reason,
            "scheme": round_.scheme,
            "seed_commitment": round_.seed_commitment,
            "seed": round_.seed if unsealed else None,
            "server_secret": round_.server_secret if unsealed else None,
            "request_digest": round_.request_digest,
            "entropy": _entropy_of(round_),
            "withdrawn": [w["expert_id"] for w in round_.withdrawn or []],
            "created_at": round_.created_at,
            "groups": [],
        }
        for group in groups[round_.id]:
            counts = Counter(
                rule
                for item in group.exclusions
                for rule in {reason["rule"] for reason in item["reasons"]}
            )
            summary: dict[str, Any] = {
                "specialty": group.specialty,
                "seats": group.seats,
                "backups_requested": group.backups_requested,
                "pool_size": len(group.pool),
                "pool_digest": group.pool_digest,
                "excluded": dict(counts),
                "selected": [int(e) for e in group.selected],
                "backups": [int(e) for e in group.backups],
            }
            if audience == "full":
                summary["pool"] = [int(e) for e in group.pool]
                summary["exclusions"] = group.exclusions
            entry["groups"].append(summary)
        view["rounds"].append(entry)
    if audience == "full":
        view["request"] = draw.request
        view["feedback"] = [
            {
                "expert_id": f.expert_id,
                "attendance": f.attendance,
                "conduct": f.conduct,
                "credit_record_id": f.credit_record_id,
                "at": f.at,
            }
            for f in session.scalars(
                select(DrawFeedback)
                .where(DrawFeedback.draw_id == draw.id)
                .order_by(DrawFeedback.id)
            )
        ]
    return view


# --- verification -------------------------------------------------------------------------


def verify_draw(session: Session, draw: Draw) -> dict[str, Any]:
    """Recompute every round from the stored record and check the replacements' order.

    ``match`` holds when every round's seed matches its commitment, every pool matches its
    stored digest, the recomputed seats and backups equal the stored ones in order, and
    every replacement took the next committed backup (or the supplementary round's pick).
    """
    rounds = _rounds(session, draw.id)
    groups = _groups_of(session, [r.id for r in rounds])
    answers = []
    for round_ in rounds:
        try:
            seed = bytes.fromhex(round_.seed or "")
        except ValueError:
            seed = b""
        round_groups = groups[round_.id]
        seat_groups = []
        for group in round_groups:
            try:
                seat_groups.append(
                    engine.SeatGroup(
                        group.specialty,
                        tuple(map(str, group.pool)),
                        group.seats,
                        group.backups_requested,
                    )
                )
            except (ValueError, TypeError):
                continue
        recorded = [
            engine.GroupResult(g.specialty, tuple(map(str, g.selected)), tuple(map(str, g.backups)))
            for g in round_groups
        ]
        try:
            if round_.scheme == "v2":
                answer = engine.verify_committed(
                    bytes.fromhex(round_.server_secret or ""),
                    round_.entropy,
                    round_.seed_commitment,
                    engine.request_digest(draw.request),
                    seat_groups,
                    recorded,
                    withdrawn=[str(w["expert_id"]) for w in round_.withdrawn or []],
                    stored_seed=seed if round_.seed is not None else None,
                    published_pool_digests={g.specialty: g.pool_digest for g in round_groups},
                )
            else:
                answer = engine.verify(
                    seed,
                    round_.seed_commitment,
                    seat_groups,
                    recorded,
                    published_pool_digests={g.specialty: g.pool_digest for g in round_groups},
                )
        except (ValueError, TypeError):
            answer = {
                "match": False,
                "seed_matches_commitment": False,
                "results_match": False,
                "pool_digests": {},
                "mismatched_groups": [g.specialty for g in round_groups],
                "pools_match": False,
            }
        answers.append(
            {
                "number": round_.number,
                **answer,
                "scheme": round_.scheme,
                "entropy": _entropy_of(round_),
                "withdrawn": [w["expert_id"] for w in round_.withdrawn or []],
            }
        )
    replacements_ok, problems = _replacements_follow_the_order(session, draw, rounds, groups)
    chain = _against_the_chain(session, draw, rounds, groups)
    return {
        "match": bool(answers)
        and all(a["match"] for a in answers)
        and replacements_ok
        and chain["match"],
        "draw_id": draw.id,
        "rounds": answers,
        "replacements_match": replacements_ok,
        "replacement_problems": problems,
        "chain": chain,
    }


def _entropy_of(round_: DrawRound) -> dict[str, Any] | None:
    """Where a round's entropy came from; server entropy is marked as development only."""
    if round_.scheme != "v2":
        return None
    return {
        "kind": round_.entropy_kind,
        "name": round_.entropy_name,
        "value": round_.entropy,
        "supplied_by": round_.entropy_by,
        "supplied_at": _wire(round_.entropy_at),
        "development_only": round_.entropy_kind == "server",
    }


def _round_as_recorded(round_: DrawRound, groups: list[DrawGroup]) -> dict[str, Any]:
    """A round as the audit entry that drew it records it."""
    return {
        "seed_commitment": round_.seed_commitment,
        "pool_digests": {g.specialty: g.pool_digest for g in groups},
        "results": {
            g.specialty: [list(map(str, g.selected)), list(map(str, g.backups))] for g in groups
        },
    }


def _against_the_chain(
    session: Session, draw: Draw, rounds: list[DrawRound], groups: dict[int, list[DrawGroup]]
) -> dict[str, Any]:
    """Compare the stored record with what the audit chain recorded when it was made.

    The record's own check (seed against commitment, recomputed results) cannot see an
    insider who rewrites seed, commitment and results together; the chain entries written
    at the time can. Each entry of the draw must hold by itself (its digest and hash
    recompute, and the next entry links to it); then the stored commitment, seed (against
    the commitment in the chain), pool digests, results of every round, and every
    replacement are compared with the entries. ``differs`` names the parts that do not
    agree: ``commitment``, ``seed``, ``pools``, ``results``, ``replacements``."""
    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "draw", AuditEntry.target_id == str(draw.id))
            .order_by(AuditEntry.seq)
        )
    )
    problems = [p for entry in entries if (p := _entry_problem(session, entry))]
    differs: list[str] = []

    def differ(part: str, problem: str) -> None:
        if part not in differs:
            differs.append(part)
        problems.append(problem)

    replaced = [e for e in entries if e.action == "draw.replace"]
    # What the chain says of each round: its commitment and pools (draw.commit, or the
    # legacy draw.create), its entropy (draw.reveal) and its results (draw.reveal,
    # draw.replace for a supplementary round, or draw.create).
    recorded_rounds: dict[int, dict[str, Any]] = {}
    for entry in entries:
        after = entry.after or {}
        if entry.action == "draw.create":
            recorded_rounds.setdefault(0, {}).update(after)
        elif entry.action in ("draw.commit", "draw.reveal"):
            recorded_rounds.setdefault(after.get("round"), {}).update(after)
        elif (
            entry.action == "draw.replace"
            and after.get("source") == "supplementary"
            and "results" in after
        ):
            recorded_rounds.setdefault(after.get("round"), {}).update(
                {k: after[k] for k in ("results", "entropy") if k in after}
            )
    if 0 not in recorded_rounds:
        problems.append("the chain holds no entry for the draw's commitment")
    for round_ in rounds:
        recorded = recorded_rounds.get(round_.number)
        if recorded is None or "seed_commitment" not in recorded:
            differ("commitment", f"round {round_.number} has no commitment in the chain")
            continue
        stored = _round_as_recorded(round_, groups.get(round_.id, []))
        if stored["seed_commitment"] != recorded.get("seed_commitment"):
            differ("commitment", f"round {round_.number}: the commitment differs from the chain")
        if not _seed_opens(draw, round_, groups.get(round_.id, []), recorded):
            differ(
                "seed",
                f"round {round_.number}: the seed does not open the commitment in the chain",
            )
        if stored["pool_digests"] != recorded.get("pool_digests"):
            differ("pools", f"round {round_.number}: the pool digests differ from the chain")
        revealed = round_.scheme != "v2" or round_.seed is not None
        if revealed and stored["results"] != recorded.get("results"):
            differ("results", f"round {round_.number}: the results differ from the chain")
    stored_replacements = [
        (r.seat, r.old_expert_id, r.new_expert_id, r.reason, r.source, r.round_number)
        for r in _replacements(session, draw.id)
    ]
    chained_replacements = [
        tuple((e.after or {}).get(k) for k in ("seat", "old", "new", "reason", "source", "round"))
        for e in replaced
    ]
    if stored_replacements != chained_replacements:
        differ("replacements", "the replacements differ from those the chain recorded")
    return {
        "match": not problems,
        "entries": len(entries),
        "entries_intact": not any(p.startswith("audit entry") for p in problems),
        "differs": differs,
        "problems": problems,
    }


def _seed_opens(
    draw: Draw, round_: DrawRound, groups: list[DrawGroup], recorded: dict[str, Any]
) -> bool:
    """Whether the stored seed (v1), or the stored secret with the entropy the chain
    recorded (v2), opens the commitment the chain recorded."""
    try:
        if round_.scheme != "v2":
            return engine.commitment(bytes.fromhex(round_.seed or "")) == recorded.get(
                "seed_commitment"
            )
        secret = bytes.fromhex(round_.server_secret or "")
        digests = [(g.specialty, engine.pool_digest(map(str, g.pool))) for g in groups]
        request_hex = engine.request_digest(draw.request)
        if engine.round_commitment(secret, digests, request_hex) != recorded["seed_commitment"]:
            return False
        entropy = (recorded.get("entropy") or {}).get("value")
        if round_.seed is None or entropy is None:
            return round_.seed is None and entropy is None
        return engine.derive_seed(secret, entropy).hex() == round_.seed
    except (ValueError, TypeError):
        return False


def _entry_problem(session: Session, entry: AuditEntry) -> str | None:
    """Why one audit entry does not hold by itself or is not linked by the next, or None."""
    if (problem := audit.entry_problem(entry)) is not None:
        return f"audit entry {entry.seq}: {problem}"
    following = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.seq == entry.seq + 1))
    if following is None:
        head = session.get(audit.AuditHead, 1)
        following = head.hash if head is not None and head.seq == entry.seq else None
    if following != entry.hash:
        return f"audit entry {entry.seq}: the chain does not link to it"
    return None


def _replacements_follow_the_order(
    session: Session, draw: Draw, rounds: list[DrawRound], groups: dict[int, list[DrawGroup]]
) -> tuple[bool, list[str]]:
    """Replay the replacements: each took the first committed backup not used or skipped."""
    by_number = {r.number: r for r in rounds}
    first = groups.get(by_number[0].id, []) if 0 in by_number else []
    queues = {g.specialty: [int(b) for b in g.backups] for g in first}
    used = {int(e) for g in first for e in g.selected}
    problems = []
    for replacement in _replacements(session, draw.id):
        if replacement.source == "backup":
            specialty = _seat_specialty(session, replacement)
            queue = [e for e in queues.get(specialty, []) if e not in used]
            skipped = [item.get("expert_id") for item in replacement.skipped or []]
            if skipped != queue[: len(skipped)]:
                problems.append(f"seat {replacement.seat}: backups skipped out of order")
            expected = queue[len(skipped)] if len(skipped) < len(queue) else None
        else:
            round_ = by_number.get(replacement.round_number)
            picks = (
                [int(e) for g in groups.get(round_.id, []) for e in g.selected] if round_ else []
            )
            expected = picks[0] if picks else None
        if expected != replacement.new_expert_id:
            problems.append(
                f"seat {replacement.seat}: took {replacement.new_expert_id}, the committed order "
                f"gives {expected}"
            )
        used.add(replacement.new_expert_id)
    return not problems, problems


def _seat_specialty(session: Session, replacement: DrawReplacement) -> str | None:
    return session.scalar(
        select(DrawSeat.specialty)
        .where(DrawSeat.draw_id == replacement.draw_id, DrawSeat.seat == replacement.seat)
        .limit(1)
    )


# --- replacements -----------------------------------------------------------------------------


def lock_draw(session: Session, draw: Draw) -> None:
    """Hold the draw's row until the transaction ends: every change to its seats takes this
    lock first, so a double click, a retry without a key or two operators queue, and each
    reads the seats as the one before left them (PostgreSQL; SQLite serialises writers)."""
    session.execute(select(Draw.id).where(Draw.id == draw.id).with_for_update()).all()


def _held_seat(session: Session, draw: Draw, expert_id: int) -> DrawSeat:
    """The seat ``expert_id`` holds now; 409 when a replacement already took it from them."""
    lock_draw(session, draw)
    seat = session.scalar(
        select(DrawSeat)
        .where(
            DrawSeat.draw_id == draw.id,
            DrawSeat.expert_id == expert_id,
            DrawSeat.active.is_(True),
        )
        .execution_options(populate_existing=True)
    )
    if seat is not None:
        return seat
    replaced = session.scalar(
        select(DrawReplacement)
        .where(DrawReplacement.draw_id == draw.id, DrawReplacement.old_expert_id == expert_id)
        .order_by(DrawReplacement.id.desc())
        .limit(1)
    )
    if replaced is not None:
        raise Conflict(
            f"Expert {expert_id} was already replaced in seat {replaced.seat} of draw {draw.id} "
            f"(by expert {replaced.new_expert_id} at {clock.rfc3339(replaced.at)}); "
            "nothing was changed.",
            errors={"expert_id": ["already replaced"]},
            rule="draws.seat_already_replaced",
        )
    raise Invalid(
        {"expert_id": [f"expert {expert_id} holds no seat in draw {draw.id}"]},
        rule="draws.seat_held",
    )


def replace_expert(
    session: Session, draw: Draw, data: dict[str, Any], settings: DrawSettings
) -> DrawReplacement:
    """Replace a seated expert who declined, did not answer or declared a conflict late.

    The next backup of the seat's group in the committed order takes the seat, skipping
    (and recording why) any who can no longer sit; when none is left, a supplementary
    draw under a new committed seed fills it from the pool as it is now.
    """
    now = clock.now()
    if now >= draw.window_end:
        raise Conflict(
            f"The evaluation window of draw {draw.id} has ended.",
            errors={"draw": ["closed"]},
            rule="draws.open_for_replacement",
        )
    seat = _held_seat(session, draw, data["expert_id"])
    skipped: list[dict[str, Any]] = []
    attempt = session.begin_nested()
    try:
        replacement = _replace_in_order(session, draw, seat, data, settings, skipped, now)
    except Conflict as refusal:
        # Nobody could take the seat: undo the attempt (its supplementary round, any
        # booking) and keep the record of the decline and of why it found nobody.
        attempt.rollback()
        _record_failed_replacement(session, draw, seat, data, refusal, skipped, now)
        raise
    attempt.commit()
    return replacement


def _record_failed_replacement(
    session: Session,
    draw: Draw,
    seat: DrawSeat,
    data: dict[str, Any],
    refusal: Conflict,
    skipped: list[dict[str, Any]],
    now: datetime,
) -> None:
    details = {
        "skipped": skipped,
        "shortfall": refusal.errors.get("shortfall", []),
        "seats": refusal.errors.get("seats", []),
    }
    session.add(
        DrawReplacementFailure(
            draw_id=draw.id,
            seat=seat.seat,
            expert_id=seat.expert_id,
            reason=data["reason"],
            note=data.get("note"),
            rule=refusal.rule,
            message=refusal.message,
            details=details,
            actor=session.info.get("actor", "system"),
            at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        "draw.replace_failed",
        "draw",
        draw.id,
        after={
            "seat": seat.seat,
            "expert": seat.expert_id,
            "reason": data["reason"],
            "rule": refusal.rule,
            "skipped": [item["expert_id"] for item in skipped],
        },
    )
    keep_on_refusal(session)


def _replace_in_order(
    session: Session,
    draw: Draw,
    seat: DrawSeat,
    data: dict[str, Any],
    settings: DrawSettings,
    skipped: list[dict[str, Any]],
    now: datetime,
) -> DrawReplacement:
    ctx = _context_of(draw, settings)
    rounds = _rounds(session, draw.id)
    groups = _groups_of(session, [r.id for r in rounds])
    involved = {s.expert_id for s in _seats(session, draw.id)}
    group0 = next(g for g in groups[rounds[0].id] if g.specialty == seat.specialty)
    queue = [int(b) for b in group0.backups if int(b) not in involved]
    chosen: int | None = None
    supplementary: dict[str, Any] = {}
    source, round_number = "backup", 0
    if queue:
        rows = [
            CandidateRow(*row)
            for row in session.execute(
                select(Expert.id, Expert.subject_id, Expert.status, Expert.employer_uscc).where(
                    Expert.id.in_(queue)
                )
            )
        ]
        standing = standing_reasons(session, rows, ctx)
        for expert_id in queue:
            reasons = list(standing.get(expert_id, []))
            if not reasons:
                # Lock, re-check and book inside a savepoint: a backup found taken lets go of
                # its lock before the next is tried, so lock waits never form a cycle.
                attempt = session.begin_nested()
                lock_experts(session, [expert_id])
                reasons = booking_reasons(session, [expert_id], ctx).get(expert_id, [])
                if reasons:
                    attempt.rollback()
                else:
                    _book(session, draw, [expert_id], now)
                    session.flush()
                    attempt.commit()
            if reasons:
                skipped.append({"expert_id": expert_id, "reasons": [r.as_dict() for r in reasons]})
                continue
            chosen = expert_id
            break
    if chosen is None:
        source = "supplementary"
        round_number = rounds[-1].number + 1
        # Everyone already in the draw stays out: seated or not, a backup is committed to
        # its group's order.
        reserved_ids = involved | {
            int(e) for r in rounds for g in groups[r.id] for e in (*g.selected, *g.backups)
        }
        reserved = {
            expert_id: Reason("draws.already_in_draw", f"already part of draw {draw.id}")
            for expert_id in reserved_ids
        }
        # A supplementary round commits and reveals at once, with server entropy (marked
        # so in the verification): the centre's caller is waiting on the telephone.
        round_ = commit_round(
            session,
            draw,
            round_number,
            f"seat {seat.seat} ({seat.specialty}): the committed backups are exhausted",
            [(seat.specialty, 1, 0)],
            ctx,
            {"kind": "server"},
            reserved,
        )
        [result] = reveal_round(session, draw, round_, server_entropy(), "server", ctx)
        digests = {seat.specialty: _groups_of(session, [round_.id])[round_.id][0].pool_digest}
        entropy_note = {"kind": "server", "value": round_.entropy, "by": "server"}
        chosen = int(result.selected[0])
        supplementary = {
            "seed_commitment": round_.seed_commitment,
            "pool_digests": digests,
            "entropy": entropy_note,
            "results": {result.key: [list(result.selected), list(result.backups)]},
        }
    seat.active = False
    for booking in session.scalars(
        select(ExpertBooking).where(
            ExpertBooking.draw_id == draw.id,
            ExpertBooking.expert_id == seat.expert_id,
            ExpertBooking.released_at.is_(None),
        )
    ):
        booking.released_at = now
    session.add(
        DrawSeat(
            draw_id=draw.id,
            seat=seat.seat,
            specialty=seat.specialty,
            expert_id=chosen,
            source=source,
            round_number=round_number,
            active=True,
            created_at=now,
        )
    )
    replacement = DrawReplacement(
        draw_id=draw.id,
        seat=seat.seat,
        old_expert_id=seat.expert_id,
        new_expert_id=chosen,
        reason=data["reason"],
        note=data.get("note"),
        source=source,
        round_number=round_number,
        skipped=skipped,
        actor=session.info.get("actor", "system"),
        at=now,
    )
    session.add(replacement)
    session.flush()
    audit.record(
        session,
        "draw.replace",
        "draw",
        draw.id,
        after={
            "seat": seat.seat,
            "old": seat.expert_id,
            "new": chosen,
            "reason": replacement.reason,
            "source": source,
            "round": round_number,
            "skipped": [item["expert_id"] for item in skipped],
            **supplementary,
        },
    )
    return replacement


def replacement_view(session: Session, replacement: DrawReplacement) -> dict[str, Any]:
    person = _people(session, [replacement.new_expert_id]).get(replacement.new_expert_id, {})
    return {
        "draw_id": replacement.draw_id,
        "seat": replacement.seat,
        "old_expert_id": replacement.old_expert_id,
        "new_expert": {"id": replacement.new_expert_id, **person},
        "reason": replacement.reason,
        "note": replacement.note,
        "source": replacement.source,
        "round": replacement.round_number,
        "skipped": replacement.skipped,
        "at": replacement.at,
    }


# --- feedback -------------------------------------------------------------------------------

_FEEDBACK_RECORDS = {
    # What a centre's feedback writes into the expert's credit record (评标专家考核).
    "absent": ("minor", "did not attend the evaluation without notice (无故缺席)"),
    "misconduct": ("general", "misconduct during evaluation (评标违规)"),
}


def record_feedback(session: Session, draw: Draw, data: dict[str, Any]) -> DrawFeedback:
    """Attendance and conduct of an expert who sat; a no-show or misconduct becomes a
    negative credit record (category 评标违规), which bars the expert from later draws
    through the eligibility rules for its publicity period."""
    now = clock.now()
    if now < draw.window_start:
        raise Conflict(
            f"Feedback on draw {draw.id} opens when the evaluation starts "
            f"({clock.rfc3339(draw.window_start)}).",
            errors={"draw": ["evaluation not started"]},
            rule="draws.feedback_after_evaluation",
        )
    expert_id = data["expert_id"]
    sat = session.scalar(
        select(DrawSeat.id).where(
            DrawSeat.draw_id == draw.id, DrawSeat.expert_id == expert_id, DrawSeat.active.is_(True)
        )
    )
    if sat is None:
        raise Invalid(
            {"expert_id": [f"expert {expert_id} did not sit in draw {draw.id}"]},
            rule="draws.seat_held",
        )
    if session.scalar(
        select(DrawFeedback.id).where(
            DrawFeedback.draw_id == draw.id, DrawFeedback.expert_id == expert_id
        )
    ):
        raise Conflict(
            f"Feedback on expert {expert_id} in draw {draw.id} was already given.",
            errors={"expert_id": ["feedback already given"]},
            rule="draws.feedback_once",
        )
    record_id = None
    key = "misconduct" if data["conduct"] == "misconduct" else data["attendance"]
    if key in _FEEDBACK_RECORDS:
        severity, words = _FEEDBACK_RECORDS[key]
        expert = session.get(Expert, expert_id)
        subject = session.get(Subject, expert.subject_id)
        centre = session.scalar(select(Subject.name).where(Subject.uscc == draw.centre_uscc))
        today = clock.china_date(now)
        record = credit.add_record(
            session,
            subject,
            {
                "polarity": "negative",
                "category": "evaluation_misconduct",
                "severity": severity,
                "description": f"Expert {words} in draw {draw.id} for tender {draw.tender_ref}"
                + (f": {data['note']}" if data.get("note") else ""),
                "basis": {
                    "authority": centre or draw.centre_uscc,
                    "document_no": f"draw {draw.id}",
                    "decided_on": today.isoformat(),
                },
                "effective_from": today.isoformat(),
                "source": {"platform": credit.LOCAL_PLATFORM, "id": f"draw-{draw.id}-{expert_id}"},
            },
            today=today,
        )
        record_id = record.id
    feedback = DrawFeedback(
        draw_id=draw.id,
        expert_id=expert_id,
        attendance=data["attendance"],
        conduct=data["conduct"],
        note=data.get("note"),
        credit_record_id=record_id,
        actor=session.info.get("actor", "system"),
        at=now,
    )
    session.add(feedback)
    session.flush()
    audit.record(
        session,
        "draw.feedback",
        "draw",
        draw.id,
        after={
            "expert": expert_id,
            "attendance": feedback.attendance,
            "conduct": feedback.conduct,
            "credit_record": record_id,
        },
    )
    return feedback


def feedback_view(feedback: DrawFeedback) -> dict[str, Any]:
    return {
        "id": feedback.id,
        "draw_id": feedback.draw_id,
        "expert_id": feedback.expert_id,
        "attendance": feedback.attendance,
        "conduct": feedback.conduct,
        "note": feedback.note,
        "credit_record_id": feedback.credit_record_id,
        "at": feedback.at,
    }


def _sealed_draws(
    session: Session, target_ids: Sequence[str], role: str | None, org: str | None
) -> dict[str, datetime]:
    """Draws whose audit entries this reader may not read yet: every sealed draw, except
    to the centre that made it."""
    ids = [int(i) for i in target_ids if i.isascii() and i.isdigit() and storable_id(int(i))]
    if not ids:
        return {}
    rows = session.execute(
        select(Draw.id, Draw.centre_uscc, Draw.unseal_at).where(
            Draw.id.in_(ids), Draw.unseal_at > clock.now()
        )
    )
    return {
        str(draw_id): unseal_at
        for draw_id, centre, unseal_at in rows
        if not (role == "centre" and centre == org)
    }


# The commitment and a void stay public; entries naming experts wait for the unseal.
audit.seal_entries_of(
    "draw",
    _sealed_draws,
    actions=("draw.create", "draw.reveal", "draw.replace", "draw.replace_failed", "draw.feedback"),
)


__all__ = [
    "Context",
    "DrawSettings",
    "booking_reasons",
    "draw_experts",
    "draw_view",
    "lock_experts",
    "settings_from",
    "supply_entropy",
    "void_draw",
    "open_draw",
    "own_draw",
    "record_feedback",
    "replace_expert",
    "standing_reasons",
    "verify_draw",
]
