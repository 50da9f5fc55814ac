"""How pieces of evidence add up to a score, shared by every detector.

Weights are read as probabilities that the fact alone betrays coordination, and
independent facts combine by noisy-OR: ``1 - prod(1 - w)``. Three corrections keep the
score honest:

- facts that come from one underlying cause are not independent (one shared computer
  shows up as the same machine code, MAC and disk serial at once), so kinds are first
  grouped into *families* and a family counts once, by its strongest item;
- repetition is support, not new proof: a family seen in ``k`` distinct tenders has
  strength ``1 - (1 - w_max) ** (1 + 0.5 * log2(k))`` — seen twice it counts as about
  1.5 sightings, four times as two, sixteen times as three. This holds for facts that
  are new each time (a price pattern, tight prices); a standing link (one shared
  computer, one author name, one office IP) seen again in another tender is the same
  fact, so those *static* families count their strongest item only;
- price screens are statistics: the ``screen`` family never counts more than
  :data:`SCREEN_FAMILY_CAP`, so tight prices alone do not make an alert.

A cluster's score (:func:`cluster_score`) does not pool facts about different pairs:
two firms sharing an office IP and two others sharing an author name are not a
four-firm cartel. Facts from tenders count per pair of members, the strongest tie
counts, and behaviour of the whole group (winner rotation, cover bidding, insularity,
co-bidding) is added to it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from trading.collusion.model import Evidence

FAMILIES: dict[str, str] = {
    # One computer: machine code, MAC, CPU and disk serial are read from the same box.
    "same_machine_code": "device",
    "same_mac": "device",
    "same_cpu": "device",
    "same_disk": "device",
    # One document: identical files, or files written by the same user account.
    "same_doc_hash": "document",
    "same_author": "document",
    "same_ip": "connection",
    "same_agent": "agent",
    "same_project_manager": "project_manager",
    "pm_busy_elsewhere": "project_manager",
    "same_deposit_account": "money",
    "identical_prices": "prices",
    "price_constant_difference": "prices",
    "price_constant_ratio": "prices",
    "tight_prices": "screen",
    "co_bidding": "co_bidding",
    "winner_rotation": "winner_rotation",
    "cover_bidding": "cover_bidding",
    "insular_group": "insular_group",
}


def noisy_or(weights: Iterable[float]) -> float:
    """``1 - prod(1 - w)``: the chance that at least one independent fact is telling."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(max(w, 0.0), 1.0)
    return 1.0 - miss


def weight_from_p(p_value: float, *, cap: float, per_decade: float = 0.1) -> float:
    """Map a chance probability to a weight: ``per_decade`` per factor of ten, up to ``cap``.

    ``p = 1e-3`` gives 0.3 and ``p = 1e-8`` gives 0.8 with the default slope. Used where
    a detector measures how unlikely a pattern is under honest bidding.
    """
    if p_value <= 0.0:
        return cap
    return max(0.0, min(cap, -math.log10(min(p_value, 1.0)) * per_decade))


# Price screens are statistics, not facts: however often a pair meets in tight tenders,
# that alone keeps a cluster under the usual alert threshold. (How *unusually* often is
# measured by the network's co-bidding evidence instead.)
SCREEN_FAMILY_CAP = 0.5

STATIC_FAMILIES = frozenset(
    {"device", "document", "connection", "agent", "project_manager", "money"}
)


def family_strengths(evidence: Iterable[Evidence]) -> dict[str, float]:
    """Strength per family: the strongest weight, raised by the number of tenders seen in.

    Static families (:data:`STATIC_FAMILIES`) are not raised by repetition.
    """
    best: dict[str, float] = defaultdict(float)
    sightings: dict[str, set[str]] = defaultdict(set)
    for e in evidence:
        family = FAMILIES.get(e.kind, e.kind)
        best[family] = max(best[family], e.weight)
        sightings[family].add(e.tender_ref or f"{e.kind}:{sorted(e.members)}")
    strengths = {}
    for family, w in best.items():
        k = 1 if family in STATIC_FAMILIES else len(sightings[family])
        strengths[family] = 1.0 - (1.0 - w) ** (1.0 + 0.5 * math.log2(k))
        if family == "screen":
            strengths[family] = min(strengths[family], SCREEN_FAMILY_CAP)
    return strengths


def evidence_score(evidence: Iterable[Evidence]) -> float:
    """Noisy-OR over families (see the module docstring), in [0, 1]."""
    return noisy_or(family_strengths(evidence).values())


def pair_ties(members: Iterable[str], evidence: Iterable[Evidence]) -> dict[tuple[str, str], float]:
    """Strength of the tender evidence tying each pair of ``members`` (red flags and screens)."""
    inside = frozenset(members)
    per_pair: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for e in evidence:
        if e.source == "network":
            continue
        named = sorted(e.members & inside)
        for i, a in enumerate(named):
            for b in named[i + 1 :]:
                per_pair[(a, b)].append(e)
    return {pair: evidence_score(items) for pair, items in per_pair.items()}


def cluster_score(members: Iterable[str], evidence: Iterable[Evidence]) -> float:
    """Strongest pairwise tie from tender evidence, noisy-OR'd with the group's behaviour.

    ``noisy_or([max over pairs of evidence_score(evidence naming both)] +
    [family strengths of the network evidence]))``, in [0, 1].
    """
    items = list(evidence)
    ties = pair_ties(members, items)
    strongest = max(ties.values(), default=0.0)
    group = family_strengths(e for e in items if e.source == "network")
    return noisy_or([strongest, *group.values()])


#: Facts the law deems collusion on their own (招标投标法实施条例 art. 40: documents made by
#: one unit or person, one agent, one project manager, deposits from one account): one is
#: enough for an alert.
DEEMED_FAMILIES = frozenset({"device", "document", "agent", "project_manager", "money"})

#: Independent *kinds* of statistical evidence: families in one kind come from the same
#: observations (price patterns and tight screens both read the same prices; co-bidding and
#: insularity the same participation; rotation and cover bidding the same award outcomes),
#: so they do not corroborate each other.
EVIDENCE_KINDS: dict[str, str] = {
    "prices": "prices",
    "screen": "prices",
    "co_bidding": "participation",
    "insular_group": "participation",
    "winner_rotation": "outcomes",
    "cover_bidding": "outcomes",
    "connection": "traces",
}

#: A family counts towards corroboration from this strength (a clue, not noise).
CORROBORATING_STRENGTH = 0.2


def corroborated(evidence: Iterable[Evidence]) -> bool:
    """Enough independent evidence for an alert: a deemed fact, or two independent kinds.

    Statistics alone mislead on real markets: honest firms of one region and size meet
    all the time, and prices bid as discounts on a coarse grid line up by accident. So a
    group is raised when one :data:`DEEMED_FAMILIES` fact ties it, or when at least two
    of the independent :data:`EVIDENCE_KINDS` reach :data:`CORROBORATING_STRENGTH`.
    """
    strengths = family_strengths(evidence)
    if any(strengths.get(f, 0.0) > 0.0 for f in DEEMED_FAMILIES):
        return True
    kinds = {
        EVIDENCE_KINDS.get(family, family)
        for family, strength in strengths.items()
        if strength >= CORROBORATING_STRENGTH
    }
    return len(kinds) >= 2
