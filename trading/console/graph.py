"""The picture of a collusion alert: members, the evidence between them, the tenders met in.

A pure function from an alert's members and evidence to shapes for a server-rendered SVG:
no script and no library in the browser. Members sit on an inner circle in USCC order;
tenders sit on an outer ring, each near the members its evidence names. Every pair of
members a piece of evidence names gets an edge, one per family of evidence, coloured by
family and as thick as the strongest piece; a member named alone (cover bidding, a busy
project manager) gets a badge instead.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

WIDTH, HEIGHT = 860, 600
_CENTRE = (WIDTH / 2, HEIGHT / 2)
_MEMBER_RING = 175.0
_TENDER_RING = 265.0
MAX_TENDERS = 24  # beyond this the ring is unreadable; the list below the graph has them all

#: Evidence kind -> family; the families are what the colours tell apart.
FAMILIES: dict[str, str] = {
    **dict.fromkeys(
        (
            "same_machine_code",
            "same_mac",
            "same_cpu",
            "same_disk",
            "same_ip",
            "same_doc_hash",
            "same_author",
        ),
        "fingerprint",
    ),
    **dict.fromkeys(
        ("same_agent", "same_project_manager", "same_deposit_account", "pm_busy_elsewhere"),
        "people",
    ),
    **dict.fromkeys(
        ("identical_prices", "price_constant_difference", "price_constant_ratio", "tight_prices"),
        "prices",
    ),
    **dict.fromkeys(("co_bidding", "winner_rotation", "cover_bidding", "insular_group"), "network"),
}
FAMILY_ORDER = ("fingerprint", "people", "prices", "network", "other")


def family_of(kind: str) -> str:
    return FAMILIES.get(kind, "other")


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    members: tuple[str, ...]
    tender_ref: str | None
    weight: float
    detail: str = ""


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    x: float
    y: float
    is_tender: bool
    badges: tuple[str, ...] = ()  # families of evidence naming this member alone


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    x1: float
    y1: float
    x2: float
    y2: float
    family: str
    kinds: tuple[str, ...]
    width: float
    count: int


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    members: tuple[Node, ...]
    tenders: tuple[Node, ...]
    edges: tuple[Edge, ...]  # member to member
    links: tuple[Edge, ...]  # member to tender
    families: tuple[str, ...]  # present, in legend order
    hidden_tenders: int


def _on_circle(index: int, count: int, radius: float) -> tuple[float, float]:
    if count == 1 and radius == _MEMBER_RING:
        return _CENTRE
    angle = -math.pi / 2 + 2 * math.pi * index / count
    return _CENTRE[0] + radius * math.cos(angle), _CENTRE[1] + radius * math.sin(angle)


def _offset(
    start: tuple[float, float], end: tuple[float, float], shift: float
) -> tuple[float, float, float, float]:
    """The segment moved sideways by ``shift``, so parallel families stay visible."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length * shift, dx / length * shift
    return start[0] + nx, start[1] + ny, end[0] + nx, end[1] + ny


def layout(
    members: Sequence[str],
    evidence: Iterable[EvidenceItem],
    tenders: Sequence[str] = (),
    names: dict[str, str] | None = None,
) -> Drawing:
    """Place members, tenders and evidence edges; the same input gives the same picture."""
    names = names or {}
    ordered = sorted(set(members))
    evidence = list(evidence)
    spot = {m: _on_circle(i, len(ordered), _MEMBER_RING) for i, m in enumerate(ordered)}

    pairs: dict[tuple[str, str, str], list[EvidenceItem]] = defaultdict(list)
    alone: dict[str, set[str]] = defaultdict(set)
    met: dict[str, set[str]] = defaultdict(set)  # tender -> members its evidence names
    for item in evidence:
        named = sorted(m for m in set(item.members) if m in spot)
        family = family_of(item.kind)
        if len(named) == 1:
            alone[named[0]].add(family)
        for a, b in combinations(named, 2):
            pairs[(a, b, family)].append(item)
        if item.tender_ref:
            met[item.tender_ref].update(named)

    all_tenders = list(dict.fromkeys([*tenders, *sorted(met)]))
    # The tenders with most evidence stay when there are too many to draw.
    shown = sorted(all_tenders, key=lambda ref: (-len(met.get(ref, ())), ref))[:MAX_TENDERS]

    def bearing(ref: str) -> float:
        near = [spot[m] for m in met.get(ref, ()) if m in spot]
        if not near:
            return math.inf
        x = sum(p[0] for p in near) / len(near) - _CENTRE[0]
        y = sum(p[1] for p in near) / len(near) - _CENTRE[1]
        return (math.atan2(y, x) + math.pi / 2) % (2 * math.pi)

    ring = sorted(shown, key=lambda ref: (bearing(ref), ref))
    tender_spot = {ref: _on_circle(i, len(ring), _TENDER_RING) for i, ref in enumerate(ring)}

    families_per_pair: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a, b, family in sorted(pairs, key=lambda k: (k[0], k[1], FAMILY_ORDER.index(k[2]))):
        families_per_pair[(a, b)].append(family)
    edges = []
    for (a, b), families in sorted(families_per_pair.items()):
        for index, family in enumerate(families):
            items = pairs[(a, b, family)]
            shift = (index - (len(families) - 1) / 2) * 5.0
            x1, y1, x2, y2 = _offset(spot[a], spot[b], shift)
            strongest = max(item.weight for item in items)
            edges.append(
                Edge(
                    a,
                    b,
                    round(x1, 1),
                    round(y1, 1),
                    round(x2, 1),
                    round(y2, 1),
                    family,
                    tuple(sorted({item.kind for item in items})),
                    round(1.5 + 4.5 * strongest, 2),
                    len(items),
                )
            )
    links = [
        Edge(
            member,
            ref,
            *(round(v, 1) for v in (*spot[member], *tender_spot[ref])),
            family="tender",
            kinds=(),
            width=1.0,
            count=1,
        )
        for ref in ring
        for member in sorted(met.get(ref, ()))
    ]
    member_nodes = tuple(
        Node(
            m,
            names.get(m) or m,
            round(spot[m][0], 1),
            round(spot[m][1], 1),
            False,
            tuple(f for f in FAMILY_ORDER if f in alone.get(m, ())),
        )
        for m in ordered
    )
    tender_nodes = tuple(
        Node(ref, ref, round(tender_spot[ref][0], 1), round(tender_spot[ref][1], 1), True)
        for ref in ring
    )
    present = {edge.family for edge in edges} | {f for fs in alone.values() for f in fs}
    return Drawing(
        WIDTH,
        HEIGHT,
        member_nodes,
        tender_nodes,
        tuple(edges),
        tuple(links),
        tuple(f for f in FAMILY_ORDER if f in present),
        len(all_tenders) - len(ring),
    )
