"""What the learned score reads of each tender: screens, red flags, network, firm history.

One row of numbers per tender, computed from a scan's result
(:class:`~trading.collusion.scan.ScanResult`) and the tender views it scanned. Every value
comes from the bids alone, never from a review, so a model trained on reviewed tenders can
score the others without seeing their answer. Missing values (screens of a tender with
fewer than three bids, a price ratio without an estimate) are ``None``; the model imputes
them and an indicator says they were missing.

Skewed quantities (dispersion, counts, p-values) enter as logarithms, so a linear model on
them reads "halving the spread" the same at every level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations

from trading.collusion.model import TenderView
from trading.collusion.scan import ScanResult, is_alert
from trading.collusion.scoring import evidence_score
from trading.collusion.screens import tightness

#: Feature name -> what it means, as an auditor reads it in an explanation.
FEATURES: dict[str, str] = {
    "bidders_log": "number of bidders (log10)",
    "cv_log": "coefficient of variation of the bids (log10)",
    "spd_log": "spread of the bids, highest over lowest (log10)",
    "diffp_log": "gap between the two lowest bids (log10)",
    "rd_log": "relative distance of the winner from the losing bids (log10)",
    "kurt": "kurtosis of the bids",
    "skew": "skewness of the bids",
    "no_screens": "too few bids for price screens",
    "tightness": "price tightness (0..1)",
    "suspicion": "unsupervised suspicion (0..1)",
    "red_flags": "deemed-collusion red flags in the tender (strength 0..1)",
    "pair_edges": "share of bidder pairs tied in the co-bidding network",
    "pair_weight_max": "strongest co-bidding tie between two of its bidders (0..1)",
    "meeting_surprise": "how unlikely the most frequent pair's meetings are by chance (-log10 p)",
    "podium_surprise": "how unlikely a pair's first-and-second places are by chance (-log10 p)",
    "cluster_score": "score of the strongest cluster holding two of its bidders (0..1)",
    "corroborated_cluster": "two of its bidders sit in a group with corroborated evidence",
    "winner_win_rate": "share of its tenders the winner wins",
    "winner_bids_log": "number of tenders the winner bids in (log10)",
    "bidders_win_rate": "mean win rate of its bidders",
    "never_winners": "share of its bidders that never win anywhere",
    "price_to_estimate": "lowest bid over the estimate",
    "no_estimate": "no estimate recorded",
}
NAMES: tuple[str, ...] = tuple(FEATURES)
_P_FLOOR = 1e-30


def _log10(value: float | None, floor: float) -> float | None:
    if value is None:
        return None
    return math.log10(max(float(value), floor))


def _surprise(p_value: float) -> float:
    return -math.log10(max(min(p_value, 1.0), _P_FLOOR))


def tender_features(
    result: ScanResult, index: Mapping[str, TenderView]
) -> dict[str, dict[str, float | None]]:
    """Tender ref -> ``{feature: value}`` over :data:`NAMES`, for every tender of ``index``."""
    graph = result.graph
    wins: dict[str, int] = {}
    bids: dict[str, int] = {}
    for node, data in graph.nodes(data=True):
        wins[node] = int(data.get("wins", 0))
        bids[node] = int(data.get("bids", 0))
    cluster_of: dict[str, list[tuple[float, bool, frozenset[str]]]] = {}
    for cluster in result.clusters:
        entry = (float(cluster.score), is_alert(cluster), cluster.members)
        for member in cluster.members:
            cluster_of.setdefault(member, []).append(entry)

    rows: dict[str, dict[str, float | None]] = {}
    for ref, tender in index.items():
        finding = result.tenders.get(ref)
        values = finding.screens if finding else None
        bidders = sorted({b.bidder for b in tender.bids})
        row: dict[str, float | None] = dict.fromkeys(NAMES)
        row["bidders_log"] = math.log10(max(len(bidders), 1))
        if values:
            row["cv_log"] = _log10(values.get("cv"), 1e-4)
            row["spd_log"] = _log10(values.get("spd"), 1e-4)
            row["diffp_log"] = _log10(values.get("diffp"), 1e-5)
            row["rd_log"] = _log10(values.get("rd"), 1e-3)
            row["kurt"] = values.get("kurt")
            row["skew"] = values.get("skew")
        row["no_screens"] = 0.0 if values else 1.0
        row["tightness"] = tightness(values)
        row["suspicion"] = finding.suspicion if finding else 0.0
        evidence = finding.evidence if finding else ()
        row["red_flags"] = evidence_score(e for e in evidence if e.source == "red_flag")

        pairs = edges = 0
        weight_max = meeting = podium = 0.0
        for a, b in combinations(bidders, 2):
            pairs += 1
            edge = graph.get_edge_data(a, b)
            if edge is None:
                continue
            edges += 1
            weight_max = max(weight_max, float(edge.get("weight", 0.0)))
            meeting = max(meeting, _surprise(edge.get("p_value", 1.0)))
            podium = max(podium, _surprise(edge.get("podium_p", 1.0)))
        row["pair_edges"] = edges / pairs if pairs else 0.0
        row["pair_weight_max"] = weight_max
        row["meeting_surprise"] = meeting
        row["podium_surprise"] = podium

        present = set(bidders)
        score, corroborated = 0.0, 0.0
        seen: set[frozenset[str]] = set()
        for bidder in bidders:
            for c_score, c_alert, members in cluster_of.get(bidder, ()):
                if members in seen or len(members & present) < 2:
                    continue
                seen.add(members)
                score = max(score, c_score)
                corroborated = max(corroborated, 1.0 if c_alert else 0.0)
        row["cluster_score"] = score
        row["corroborated_cluster"] = corroborated

        rates = [wins.get(b, 0) / bids[b] if bids.get(b) else 0.0 for b in bidders]
        winner = next((b.bidder for b in tender.bids if b.winner), None)
        if winner is not None and bids.get(winner):
            row["winner_win_rate"] = wins.get(winner, 0) / bids[winner]
            row["winner_bids_log"] = math.log10(bids[winner])
        row["bidders_win_rate"] = sum(rates) / len(rates) if rates else None
        row["never_winners"] = (
            sum(1 for b in bidders if wins.get(b, 0) == 0) / len(bidders) if bidders else None
        )
        prices = [float(b.price) for b in tender.bids if float(b.price) > 0]
        if tender.estimate and float(tender.estimate) > 0 and prices:
            row["price_to_estimate"] = min(prices) / float(tender.estimate)
        row["no_estimate"] = 0.0 if row["price_to_estimate"] is not None else 1.0
        rows[ref] = row
    return rows
