"""An alert needs a deemed-collusion fact or two independent kinds of statistical evidence."""

from __future__ import annotations

from trading.collusion.model import Evidence
from trading.collusion.network import make_cluster
from trading.collusion.scan import is_alert

PAIR = frozenset({"A", "B"})


def fact(kind: str, source: str, weight: float, tender: str | None = "T1") -> Evidence:
    return Evidence(kind, source, PAIR, tender, weight, f"{kind} in {tender}")


def cluster(*evidence: Evidence):
    return make_cluster(PAIR, tuple(e.tender_ref for e in evidence if e.tender_ref), evidence)


def test_one_deemed_fact_is_enough():
    found = cluster(fact("same_machine_code", "red_flag", 0.9))
    assert found.score >= 0.6 and is_alert(found)


def test_strong_prices_alone_are_not_an_alert_however_often_seen():
    prices = [fact("identical_prices", "red_flag", 0.9, f"T{i}") for i in range(6)]
    tight = [fact("tight_prices", "screen", 0.5, f"T{i}") for i in range(6)]
    found = cluster(*prices, *tight)
    assert found.score >= 0.6
    assert not is_alert(found)


def test_prices_corroborated_by_an_independent_kind_are_an_alert():
    found = cluster(
        fact("identical_prices", "red_flag", 0.9), fact("winner_rotation", "network", 0.5, None)
    )
    assert is_alert(found)


def test_co_bidding_and_insularity_read_the_same_participation():
    found = cluster(
        fact("co_bidding", "network", 0.7, None), fact("insular_group", "network", 0.5, None)
    )
    assert found.score >= 0.6 and not is_alert(found)
