"""The co-bidding network, its clusters, and the synthetic market they are tested on."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from stdnum.cn import uscc

from trading.collusion.model import BidView, Cluster, Evidence, TenderView
from trading.collusion.network import (
    binomial_tail,
    clusters,
    co_bidding_graph,
    poisson_tail,
    tender_clusters,
)
from trading.collusion.red_flags import red_flags
from trading.collusion.scan import scan, scan_tender
from trading.collusion.synthetic import generate_market


def evidence(kind, members, tender="T1", weight=0.9, source="red_flag"):
    return Evidence(kind, source, frozenset(members), tender, weight, f"{kind} in {tender}")


def test_cluster_key_is_stable_under_member_order():
    one = Cluster(frozenset(["B", "A", "C"]), ("T1",), (), 0.5, "")
    other = Cluster(frozenset(["C", "B", "A"]), ("T2", "T3"), (), 0.9, "different")
    assert one.key() == other.key()
    assert one.key() != Cluster(frozenset(["A", "B"]), (), (), 0.5, "").key()
    assert len(one.key()) == 64


def test_evidence_digest_sees_facts_not_wording():
    first = [evidence("same_ip", "AB", weight=0.5), evidence("same_agent", "BA", "T2")]
    reworded = [
        Evidence("same_agent", "red_flag", frozenset("AB"), "T2", 0.7, "other words"),
        evidence("same_ip", "BA", weight=0.4),
    ]
    members = frozenset("AB")
    digest = Cluster(members, (), tuple(first), 0.8, "").evidence_digest()
    assert digest == Cluster(members, (), tuple(reworded), 0.8, "").evidence_digest()
    more = (*first, evidence("same_mac", "AB", "T3"))
    assert digest != Cluster(members, (), more, 0.8, "").evidence_digest()


def test_evidence_rejects_weights_outside_the_unit_interval():
    with pytest.raises(ValueError):
        evidence("same_ip", "AB", weight=0.0)
    with pytest.raises(ValueError):
        evidence("same_ip", "AB", weight=1.5)


def test_tails_match_direct_sums():
    mean = 2.5
    direct = 1 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(7))
    assert poisson_tail(7, mean) == pytest.approx(direct, rel=1e-9)
    assert poisson_tail(1, mean) == pytest.approx(1 - math.exp(-mean))
    assert poisson_tail(0, mean) == 1.0
    assert binomial_tail(2, [0.5, 0.5, 0.5]) == pytest.approx(0.5)
    assert binomial_tail(4, [0.5, 0.5, 0.5]) == 0.0


def market_of_pairs():
    """Forty tenders in one segment: A and B bid together in half, thirty others at random."""
    rng = random.Random(7)
    day = date(2024, 1, 1)
    tenders = []
    for t in range(40):
        others = rng.sample([f"H{i:02d}" for i in range(30)], 4)
        bidders = ["A", "B", *others] if t % 2 == 0 else others
        bids = tuple(
            BidView(b, Decimal(1_000_000 + 7919 * i + 13 * t), winner=i == 0)
            for i, b in enumerate(bidders)
        )
        tenders.append(TenderView(f"T{t}", day + timedelta(days=t), Decimal(1_000_000), bids))
    return tenders


def test_pairs_that_keep_meeting_become_edges():
    graph = co_bidding_graph(market_of_pairs())
    assert graph.has_edge("A", "B")
    edge = graph.edges["A", "B"]
    assert edge["meetings"] == 20
    assert edge["expected"] < 20 and edge["p_value"] < 1e-3
    assert len(edge["tenders"]) == 20
    assert 0 < edge["weight"] <= 1
    assert graph.nodes["A"]["bids"] == 20 and graph.nodes["A"]["wins"] == 20
    # Firms drawn at random meet about as often as chance predicts.
    assert not any(graph.has_edge(u, v) for u, v in graph.edges if {u, v} != {"A", "B"})


def test_evidence_makes_edges_but_one_tight_tender_does_not():
    tenders = market_of_pairs()
    strong = evidence("same_machine_code", ["H01", "H02"], "T1", 0.95)
    tight = evidence("tight_prices", ["H04", "H05", "H06"], "T2", 0.5, source="screen")
    graph = co_bidding_graph(tenders, [strong, tight])
    assert graph.has_edge("H01", "H02")
    assert graph.edges["H01", "H02"]["evidence"] == [strong]
    assert not graph.has_edge("H04", "H05")


def test_tender_clusters_group_bidders_tied_by_red_flags():
    t = TenderView(
        "T9",
        None,
        None,
        (
            BidView("A", Decimal("1000123.45"), machine_code="M-1"),
            BidView("B", Decimal("1032876.10"), machine_code="M-1", agent="li na"),
            BidView("C", Decimal("1050000.00"), agent="li na"),
            BidView("D", Decimal("1101990.99")),
        ),
    )
    [cluster] = tender_clusters(t, red_flags(t))
    assert cluster.members == {"A", "B", "C"}
    assert cluster.tenders == ("T9",)
    assert cluster.score >= 0.9
    assert "machine code" in cluster.explanation
    screen_only = [evidence("tight_prices", "ABCD", "T9", 0.5, source="screen")]
    assert tender_clusters(t, screen_only) == []


@pytest.fixture(scope="module")
def rotation_market():
    # A small market with one planted rotation cartel. Rotation is the hardest kind to
    # see: at this size the network ranks the cartel first in about a third of the
    # seeds (10 of seeds 1-30); in the others it loses too many rigged tenders to
    # outsiders, or its members meet about as often as chance says anyway. The quality
    # bench reports recall per kind. This seed is one where it shows.
    tenders, truth = generate_market(18, firms=300, tenders=1500, cartels={"rotation": 1})
    return tenders, truth, scan(tenders)


def test_network_finds_a_planted_rotation_cartel(rotation_market):
    tenders, truth, result = rotation_market
    [(kind, cartel)] = truth.groups()
    assert kind == "rotation"
    found = [
        c
        for c in result.clusters
        if len(c.members & cartel) >= 2 and 2 * len(c.members & cartel) >= len(c.members)
    ]
    assert found, "no cluster is mostly made of the cartel"
    best = max(found, key=lambda c: c.score)
    honest = [c.score for c in result.clusters if not c.members & cartel]
    assert best.score > max(honest, default=0.0)
    assert best.score >= 0.6
    assert {e.source for e in best.evidence} >= {"network"}
    assert "tenders" in best.explanation


def test_clusters_are_deterministic(rotation_market):
    tenders, _, result = rotation_market
    index = {t.ref: t for t in tenders}
    again = clusters(result.graph, index)
    first = clusters(result.graph, index)
    assert [(c.key(), c.score) for c in again] == [(c.key(), c.score) for c in first]


def test_synthetic_market_is_repeatable_and_well_formed():
    one, truth_one = generate_market(11, firms=120, tenders=200)
    two, truth_two = generate_market(11, firms=120, tenders=200)
    assert one == two and truth_one == truth_two
    assert all(uscc.is_valid(b.bidder) for t in one for b in t.bids)
    assert all(sum(b.winner for b in t.bids) == 1 for t in one)
    # The law asks for three bidders at least (招标投标法 art. 28), cartels included.
    assert all(3 <= len({b.bidder for b in t.bids}) <= 12 for t in one)
    assert truth_one.collusive_tenders <= {t.ref for t in one}
    assert set(truth_one.cartels) <= {"rotation", "cover", "fingerprint", "pattern"}


def test_scan_tender_reports_screens_flags_and_suspicion():
    t = TenderView(
        "T5",
        None,
        Decimal("1100000"),
        (
            BidView("A", Decimal("1000123.45"), doc_hash="ab12cd34ef56"),
            BidView("B", Decimal("1032876.10"), doc_hash="AB12CD34EF56"),
            BidView("C", Decimal("1077001.00")),
        ),
    )
    finding = scan_tender(t)
    assert finding.ref == "T5"
    assert finding.screens["n"] == 3
    assert [e.kind for e in finding.evidence] == ["same_doc_hash"]
    assert finding.suspicion == 1.0  # identical documents are deemed collusion
