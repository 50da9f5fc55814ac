"""Conflicts of interest (回避) between candidate experts and the parties of a tender.

Everything is computed from the parties' side, which is small (a tenderee, an agency, a
few dozen bidders, the regulators), with a fixed number of set-based queries whatever the
size of the pool: the parties' ownership neighbourhood (two queries per hop), the people
employed there or representing them, the relatives of their principals, and the declared
interests in them. Each of those queries also carries the candidates' ids as one array,
so only candidates' rows come back; no query runs per expert, and no expert's relations
are ever loaded wholesale.

Reasons (``rule``):

``conflict.employment``
    Employed by, or legal representative of, the tenderee, the agency or a bidder now or
    within the look-back (3 years by default: an employment that ended on or after
    ``on - 3 years`` counts), or the expert's recorded employer is one of them.
``conflict.ownership_link``
    The same, for an organisation linked to a party through the ownership graph: parent,
    subsidiary, sister (another subsidiary of a parent), and the other two-hop links.
``conflict.relative_of_principal``
    A near relative (either direction of a ``relative`` relation) of a party's legal
    representative.
``conflict.declared_interest``
    A current ``interest`` or ``shareholder`` relation in a party or in an organisation of
    its ownership neighbourhood.
``conflict.regulator_staff``
    Currently employed by a regulator of the project, or recorded with it as employer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from credit.categories import add_months
from credit.models import Relation, Subject
from experts.batch import fetch_rows, id_filters, id_pair_filters

OWNERSHIP_KINDS = ("shareholder", "subsidiary")

# How an organisation reached in two hops relates to the party it was reached from.
_PATH_NAMES = {
    ("parent",): "parent",
    ("subsidiary",): "subsidiary",
    ("parent", "parent"): "grandparent",
    ("parent", "subsidiary"): "sister company (another subsidiary of its parent)",
    ("subsidiary", "subsidiary"): "second-tier subsidiary",
    ("subsidiary", "parent"): "co-owner of its subsidiary",
}


@dataclass(frozen=True)
class Reason:
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Parties:
    """The tender's parties by USCC."""

    tenderee: str | None = None
    agency: str | None = None
    bidders: tuple[str, ...] = ()
    regulators: tuple[str, ...] = ()

    def roles(self) -> dict[str, str]:
        """USCC -> how to name the party in a reason (the first role wins)."""
        named: dict[str, str] = {}
        for uscc in self.bidders:
            named.setdefault(uscc, f"bidder {uscc}")
        if self.tenderee:
            named.setdefault(self.tenderee, f"the tenderee {self.tenderee}")
        if self.agency:
            named.setdefault(self.agency, f"the agency {self.agency}")
        return named


@dataclass(frozen=True)
class Candidate:
    expert_id: int
    subject_id: int
    employer_uscc: str | None = None


@dataclass
class _Reach:
    """An organisation of the neighbourhood and how it links to a party."""

    party_id: int
    path: tuple[str, ...] = field(default_factory=tuple)


def ownership_neighbourhood(
    session: Session, party_ids: Iterable[int], on: date, hops: int = 2
) -> dict[int, _Reach]:
    """Subjects within ``hops`` ownership links of a party (parties themselves included,
    with an empty path). One query per hop; links that ended before ``on`` do not count."""
    reach = {pid: _Reach(pid) for pid in party_ids}
    frontier = set(reach)
    for _ in range(hops):
        if not frontier:
            break
        found: set[int] = set()
        # Two indexed queries (by subject, by other) rather than one OR across both.
        links = [
            condition
            for column in (Relation.subject_id, Relation.other_id)
            for condition in id_filters(session, column, frontier)
        ]
        for condition in links:
            rows = fetch_rows(
                session,
                select(Relation.subject_id, Relation.other_id, Relation.kind).where(
                    Relation.kind.in_(OWNERSHIP_KINDS),
                    condition,
                    or_(Relation.end.is_(None), Relation.end >= on),
                ),
            )
            for subject_id, other_id, kind in rows:
                parent, child = (
                    (subject_id, other_id)
                    if kind == "shareholder"
                    else (
                        other_id,
                        subject_id,
                    )
                )
                for node, seen_from, role in (
                    (parent, child, "parent"),
                    (child, parent, "subsidiary"),
                ):
                    if seen_from in frontier and node not in reach:
                        origin = reach[seen_from]
                        reach[node] = _Reach(origin.party_id, (*origin.path, role))
                        found.add(node)
        frontier = found
    return reach


def conflicts_for(
    session: Session,
    parties: Parties,
    candidates: Sequence[Candidate],
    on: date,
    *,
    lookback_years: int = 3,
) -> dict[int, list[Reason]]:
    """Every conflict of every candidate: expert id -> reasons (absent when none)."""
    if not candidates:
        return {}
    roles = parties.roles()
    regulator_usccs = set(parties.regulators) - set(roles)
    known = {
        row.uscc: row
        for row in fetch_rows(
            session,
            select(Subject.id, Subject.uscc, Subject.name).where(
                Subject.uscc.in_([*roles, *regulator_usccs])
            ),
        )
    }
    party_ids = {known[u].id: u for u in roles if u in known}
    regulator_ids = {known[u].id: u for u in regulator_usccs if u in known}
    cutoff = add_months(on, -12 * lookback_years)
    by_subject = {c.subject_id: c for c in candidates}
    # Party-side queries also name the candidates, so only their rows come back: a big
    # employer's other staff never leave the database.
    people = list(by_subject)
    reasons: dict[int, list[Reason]] = {}

    def add(subject_id: int, rule: str, message: str) -> None:
        candidate = by_subject.get(subject_id)
        if candidate is not None:
            found = reasons.setdefault(candidate.expert_id, [])
            if all(r.message != message for r in found):
                found.append(Reason(rule, message))

    reach = ownership_neighbourhood(session, party_ids, on)
    names = _names(session, reach, known)

    def describe(org_id: int) -> tuple[str, str]:
        """(rule, words) naming an organisation of the neighbourhood and its link."""
        link = reach[org_id]
        party = roles[party_ids[link.party_id]]
        if not link.path:
            return "conflict.employment", party
        return (
            "conflict.ownership_link",
            f"{names.get(org_id, org_id)}, {_PATH_NAMES.get(link.path, 'linked company')} "
            f"of {party}",
        )

    # Employment and legal representation now or within the look-back, and current
    # interests and shareholdings, anywhere in reach: one query for the four kinds.
    for condition in id_pair_filters(
        session, (Relation.other_id, reach), (Relation.subject_id, people)
    ):
        for subject_id, other_id, kind, start, end in fetch_rows(
            session,
            select(
                Relation.subject_id, Relation.other_id, Relation.kind, Relation.start, Relation.end
            ).where(
                Relation.kind.in_(("employment", "legal_rep", "interest", "shareholder")),
                condition,
                or_(Relation.end.is_(None), Relation.end >= cutoff),
            ),
        ):
            rule, words = describe(other_id)
            if kind in ("interest", "shareholder"):
                if end is None or end >= on:
                    what = "shareholder of" if kind == "shareholder" else "declared an interest in"
                    add(subject_id, "conflict.declared_interest", f"{what} {words}")
            elif start is None or start <= on:
                what = "legal representative of" if kind == "legal_rep" else "employed by"
                until = f" until {end.isoformat()}" if end is not None and end < on else ""
                add(subject_id, rule, f"{what} {words}{until}")

    # The recorded employer, also when it is not a registered subject.
    usccs_in_reach = {u: org for org, u in _usccs(session, reach, known).items()}
    for uscc in roles:
        usccs_in_reach.setdefault(uscc, None)
    for candidate in candidates:
        employer = candidate.employer_uscc
        if employer is None:
            continue
        if employer in usccs_in_reach:
            org = usccs_in_reach[employer]
            if org is None:
                add(candidate.subject_id, "conflict.employment", f"employed by {roles[employer]}")
            else:
                rule, words = describe(org)
                add(candidate.subject_id, rule, f"employed by {words}")
        elif employer in regulator_usccs:
            add(
                candidate.subject_id,
                "conflict.regulator_staff",
                f"employed by the regulator {employer}",
            )

    # Near relatives of the parties' principals (legal representatives).
    principals: dict[int, int] = {}
    for condition in id_filters(session, Relation.other_id, party_ids):
        for person, party in fetch_rows(
            session,
            select(Relation.subject_id, Relation.other_id).where(
                Relation.kind == "legal_rep",
                condition,
                or_(Relation.end.is_(None), Relation.end >= on),
            ),
        ):
            principals.setdefault(person, party)
    bonds = [
        *id_pair_filters(session, (Relation.subject_id, principals), (Relation.other_id, people)),
        *id_pair_filters(session, (Relation.other_id, principals), (Relation.subject_id, people)),
    ]
    for condition in bonds:
        for left, right in fetch_rows(
            session,
            select(Relation.subject_id, Relation.other_id).where(
                Relation.kind == "relative", condition
            ),
        ):
            for relative, principal in ((left, right), (right, left)):
                if principal in principals:
                    party = roles[party_ids[principals[principal]]]
                    add(
                        relative,
                        "conflict.relative_of_principal",
                        f"near relative of {names.get(principal, principal)}, "
                        f"legal representative of {party}",
                    )

    # Staff of the project's regulators.
    for condition in id_pair_filters(
        session, (Relation.other_id, regulator_ids), (Relation.subject_id, people)
    ):
        for subject_id, other_id in fetch_rows(
            session,
            select(Relation.subject_id, Relation.other_id).where(
                Relation.kind == "employment",
                condition,
                or_(Relation.end.is_(None), Relation.end >= on),
                or_(Relation.start.is_(None), Relation.start <= on),
            ),
        ):
            add(
                subject_id,
                "conflict.regulator_staff",
                f"employed by the regulator {regulator_ids[other_id]}",
            )
    return reasons


def _names(session: Session, reach: dict[int, _Reach], known: dict[str, Any]) -> dict[int, str]:
    names = {row.id: row.name for row in known.values()}
    missing = [i for i in reach if i not in names]
    for condition in id_filters(session, Subject.id, missing):
        rows = fetch_rows(session, select(Subject.id, Subject.name).where(condition))
        names.update((subject_id, name) for subject_id, name in rows)
    return names


def _usccs(session: Session, reach: dict[int, _Reach], known: dict[str, Any]) -> dict[int, str]:
    usccs = {row.id: row.uscc for row in known.values() if row.id in reach}
    missing = [i for i in reach if i not in usccs]
    for condition in id_filters(session, Subject.id, missing):
        for subject_id, uscc in fetch_rows(
            session, select(Subject.id, Subject.uscc).where(condition, Subject.uscc.isnot(None))
        ):
            usccs[subject_id] = uscc
    return usccs
