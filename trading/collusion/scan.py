"""The whole collusion pipeline in one call: red flags, screens, network, clusters.

The service layer loads :class:`~trading.collusion.model.TenderView` values, calls
:func:`scan` and stores the per-tender screens and suspicion and the clusters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

from trading.collusion.model import Cluster, Evidence, TenderView
from trading.collusion.network import clusters, co_bidding_graph, make_cluster, tender_clusters
from trading.collusion.red_flags import (
    busy_project_managers,
    common_values,
    price_conventions,
    red_flags,
    without_conventions,
)
from trading.collusion.scoring import corroborated
from trading.collusion.screens import screen_evidence, screens, suspicion

# Scores below this are clues (a shared office IP, one author name, tight prices in one
# tender) rather than a case for an auditor; the service may choose its own.
ALERT_THRESHOLD = 0.6


def is_alert(cluster: Cluster, min_score: float = ALERT_THRESHOLD) -> bool:
    """Whether a cluster is raised: two or more members, the score, independent evidence.

    See :func:`trading.collusion.scoring.corroborated`: a deemed-collusion fact, or two
    independent kinds of statistical evidence.
    """
    return (
        cluster.score >= min_score and len(cluster.members) >= 2 and corroborated(cluster.evidence)
    )


@dataclass(frozen=True)
class TenderFinding:
    """What one tender shows on its own."""

    ref: str
    screens: dict[str, float] | None
    suspicion: float
    evidence: tuple[Evidence, ...]


@dataclass
class ScanResult:
    """Per-tender findings, all evidence, the clusters best first, and the graph."""

    tenders: dict[str, TenderFinding]
    evidence: list[Evidence]
    clusters: list[Cluster]
    graph: nx.Graph = field(repr=False)


def scan(
    tenders: Iterable[TenderView],
    *,
    live_days: int = 180,
    progress: Callable[[str, int], None] | None = None,
) -> ScanResult:
    """Scan a market: every tender's red flags and screens, then the network's clusters.

    Values that many unrelated bidders share across the market (a preset author name, a
    CPU model, a carrier's IP) are found first and ignored (:func:`common_values`).

    Network clusters and single-tender groups (:func:`tender_clusters`) are merged: a
    single-tender group whose members all sit in one network cluster adds its evidence
    to that cluster; groups with the same members (the same firms caught in several
    tenders) become one cluster. Clusters come back best first.
    ``progress(stage, count)`` is called after each stage for a CLI to report.
    """
    index: dict[str, TenderView] = {t.ref: t for t in tenders}
    common = common_values(index.values())
    busy: dict[str, list[Evidence]] = defaultdict(list)
    for item in busy_project_managers(index.values(), live_days=live_days):
        busy[item.tender_ref or ""].append(item)
    findings: dict[str, TenderFinding] = {}
    for tender in index.values():
        finding = scan_tender(tender, common=common, also=busy.get(tender.ref, ()))
        findings[tender.ref] = finding
    conventions = price_conventions({e.kind for e in f.evidence} for f in findings.values())
    findings = apply_conventions(findings, conventions)
    all_evidence: list[Evidence] = [e for f in findings.values() for e in f.evidence]
    if progress:
        progress("tenders", len(index))
    graph = co_bidding_graph(index.values(), all_evidence)
    if progress:
        progress("graph", graph.number_of_edges())
    found = clusters(graph, index)
    if progress:
        progress("clusters", len(found))
    return ScanResult(findings, all_evidence, merge_clusters(found, findings, index), graph)


def scan_tender(
    tender: TenderView,
    *,
    common: Mapping[str, Collection[str]] | None = None,
    also: Iterable[Evidence] = (),
) -> TenderFinding:
    """One tender on its own, as at its opening: red flags, screens, suspicion.

    ``common`` are the market's meaningless shared values (:func:`common_values`), if
    known; ``also`` is evidence found elsewhere about this tender (busy project
    managers), counted in its suspicion. :func:`tender_clusters` turns the evidence into
    groups of bidders.
    """
    flags = red_flags(tender, common=common) + list(also)
    values = screens([b.price for b in tender.bids])
    tight = screen_evidence(tender, values=values)
    return TenderFinding(tender.ref, values, suspicion(values, flags), tuple(flags + tight))


def apply_conventions(
    findings: dict[str, TenderFinding], conventions: Collection[str]
) -> dict[str, TenderFinding]:
    """The findings without the market's conventional price patterns, suspicion recomputed.

    See :func:`~trading.collusion.red_flags.price_conventions`. A tender's suspicion is
    recomputed from its screens and the evidence that remains.
    """
    if not conventions:
        return findings
    out = {}
    for ref, finding in findings.items():
        kept = tuple(without_conventions(finding.evidence, conventions))
        if len(kept) == len(finding.evidence):
            out[ref] = finding
            continue
        flags = [e for e in kept if e.source != "screen"]
        out[ref] = TenderFinding(ref, finding.screens, suspicion(finding.screens, flags), kept)
    return out


def merge_clusters(
    network: list[Cluster],
    findings: dict[str, TenderFinding],
    index: dict[str, TenderView],
) -> list[Cluster]:
    """Fold single-tender groups into the network clusters that contain them, merge the rest."""
    owner: dict[str, int] = {}
    for i, cluster in enumerate(network):
        for member in cluster.members:
            owner[member] = i
    extra_evidence: dict[int, list[Evidence]] = {}
    extra_tenders: dict[int, list[str]] = {}
    loose: dict[frozenset[str], tuple[list[str], list[Evidence]]] = {}
    for ref, finding in findings.items():
        if not any(e.source == "red_flag" and len(e.members) > 1 for e in finding.evidence):
            continue
        for group in tender_clusters(index[ref], finding.evidence):
            homes = {owner.get(m) for m in group.members}
            if len(homes) == 1 and None not in homes:
                home = homes.pop()
                extra_evidence.setdefault(home, []).extend(group.evidence)
                extra_tenders.setdefault(home, []).extend(group.tenders)
            else:
                refs, items = loose.setdefault(group.members, ([], []))
                refs.extend(group.tenders)
                items.extend(group.evidence)
    merged = []
    for i, cluster in enumerate(network):
        if i in extra_evidence:
            cluster = make_cluster(
                cluster.members,
                cluster.tenders + tuple(extra_tenders[i]),
                cluster.evidence + tuple(extra_evidence[i]),
            )
        merged.append(cluster)
    for members, (refs, items) in loose.items():
        merged.append(make_cluster(members, refs, items))
    merged.sort(key=lambda c: (-c.score, sorted(c.members)))
    return merged
