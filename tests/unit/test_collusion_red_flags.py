"""Deemed collusion inside one tender (招标投标法实施条例 art. 40) and busy project managers."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.collusion.model import BidView, TenderView
from trading.collusion.red_flags import (
    busy_project_managers,
    common_values,
    find_progressions,
    red_flags,
)

A, B, C, D = (
    "91110000600037341L",
    "91310000MA1FL0LX9A",
    "91440300MA5G0NBJ1A",
    "91510100MA6C6ENQ4K",
)


def bid(bidder, price, **fingerprint):
    return BidView(bidder, Decimal(str(price)), **fingerprint)


def tender(*bids, ref="T1", on=None, estimate=None):
    return TenderView(ref, on, Decimal(estimate) if estimate else None, tuple(bids))


def kinds(evidence):
    return sorted(e.kind for e in evidence)


def test_shared_machine_code_is_found():
    found = red_flags(
        tender(
            bid(A, 1_000_123.45, machine_code="3F2A-77C1-09BD"),
            bid(B, 1_032_876.10, machine_code="3f2a-77c1-09bd"),
            bid(C, 1_077_001.00, machine_code="0B1D-2C3E-4F50"),
        )
    )
    [item] = found
    assert item.kind == "same_machine_code" and item.source == "red_flag"
    assert item.members == {A, B}
    assert item.tender_ref == "T1"
    assert item.weight >= 0.9
    assert "machine code" in item.detail and "2 bidders" in item.detail


def test_all_bidders_sharing_a_value_make_one_evidence():
    found = red_flags(
        tender(
            bid(A, 1_000_123.45, ip="36.110.12.7"),
            bid(B, 1_032_876.10, ip="36.110.12.7"),
            bid(C, 1_077_001.00, ip="36.110.12.7"),
            bid(D, 1_101_990.99, ip="117.8.9.10"),
        )
    )
    [item] = found
    assert item.kind == "same_ip" and item.members == {A, B, C}
    assert item.weight < 0.9  # an office building shares one address


def test_missing_and_meaningless_values_are_ignored():
    found = red_flags(
        tender(
            bid(A, 1_000_123.45, machine_code=None, mac="00:00:00:00:00:00", ip="192.168.1.10",
                author="Administrator", agent="", disk="0000000000", doc_hash=None),
            bid(B, 1_032_876.10, machine_code=None, mac="00-00-00-00-00-00", ip="192.168.1.10",
                author="administrator", agent=" ", disk="0000000000", doc_hash=None),
        )
    )  # fmt: skip
    assert found == []


def test_mac_addresses_match_whatever_the_notation():
    found = red_flags(
        tender(
            bid(A, 1_000_123.45, mac="0a:1b:2c:3d:4e:5f"),
            bid(B, 1_032_876.10, mac="0A1B-2C3D-4E5F"),
        )
    )
    assert kinds(found) == ["same_mac"]


def test_one_bidder_bidding_twice_is_not_a_group():
    assert red_flags(tender(bid(A, 100, agent="x"), bid(A, 200, agent="x"), bid(B, 150))) == []


def test_every_art_40_fingerprint_is_checked():
    shared = dict(
        machine_code="M1", mac="0A:1B:2C:3D:4E:5F", cpu="BFEBFBFF000906EA", disk="WD-123",
        ip="36.110.12.7", doc_hash="9f86d081884c7d65", author="zhang wei", agent="li na",
        project_manager="PM-42", deposit_account="6222 0000 1111 2222",
    )  # fmt: skip
    found = red_flags(tender(bid(A, 1_000_123.45, **shared), bid(B, 1_032_876.10, **shared)))
    assert kinds(found) == sorted(
        [
            "same_machine_code", "same_mac", "same_cpu", "same_disk", "same_ip",
            "same_doc_hash", "same_author", "same_agent", "same_project_manager",
            "same_deposit_account",
        ]
    )  # fmt: skip
    weights = {e.kind: e.weight for e in found}
    assert weights["same_doc_hash"] == 1.0
    assert weights["same_cpu"] < weights["same_ip"] < weights["same_machine_code"]


def test_values_common_across_the_market_are_ignored():
    tenders = [
        tender(*(bid(f"F{t}{i}", 1000 + i, author="Lenovo") for i in range(4)), ref=f"T{t}")
        for t in range(4)
    ]
    common = common_values(tenders, max_holders=10)
    assert common["author"] == {"LENOVO"}
    assert red_flags(tenders[0], common=common) == []
    assert kinds(red_flags(tenders[0])) == ["same_author"]


def test_identical_prices_weigh_by_how_unlikely_they_are():
    exact = red_flags(tender(bid(A, "1003456.78"), bid(B, "1003456.78"), bid(C, "1100000.00")))
    capped = red_flags(
        tender(bid(A, "1200000"), bid(B, "1200000"), bid(C, "1100000.00"), estimate="1200000")
    )
    assert kinds(exact) == ["identical_prices"] and exact[0].members == {A, B}
    assert exact[0].weight >= 0.85
    assert kinds(capped) == ["identical_prices"] and capped[0].weight <= 0.2


def test_constant_difference_is_found():
    start, step = Decimal("1234567.89"), Decimal("12345.67")
    found = red_flags(
        tender(
            bid(A, start),
            bid(B, start + step),
            bid(C, start + 2 * step),
            bid(D, "1401234.56"),
        )
    )
    [item] = found
    assert item.kind == "price_constant_difference"
    assert item.members == {A, B, C}
    assert "12,345.67" in item.detail
    assert item.weight >= 0.6


def test_constant_ratio_is_found():
    start, ratio = Decimal("987654.32"), Decimal("1.015")
    prices = [(start * ratio**i).quantize(Decimal("0.01")) for i in range(4)]
    found = red_flags(tender(*(bid(b, p) for b, p in zip((A, B, C, D), prices, strict=True))))
    assert kinds(found) == ["price_constant_ratio"]
    assert found[0].members == {A, B, C, D}
    assert found[0].weight >= 0.9  # four prices in step are far from chance


def test_round_prices_in_step_are_not_a_pattern():
    # Round figures line up all the time: 1.00, 1.01 and 1.02 million prove nothing.
    found = red_flags(tender(bid(A, "1000000"), bid(B, "1010000"), bid(C, "1020000")))
    assert kinds(found) == []


def test_a_near_miss_is_not_a_pattern():
    assert (
        find_progressions([Decimal("1000000.00"), Decimal("1012345.67"), Decimal("1024000.01")])
        == []
    )


def honest_prices(rng: random.Random, n: int) -> list[Decimal]:
    estimate = rng.lognormvariate(14.5, 1.0)
    common = rng.lognormvariate(0.0, 0.05)
    unit = rng.choice((Decimal("0.01"), Decimal("1"), Decimal("100")))
    return [
        (Decimal(estimate * common * rng.lognormvariate(0.0, 0.07)) / unit).quantize(1) * unit
        for _ in range(n)
    ]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 12))
def test_random_prices_do_not_trigger_a_pattern(seed, n):
    rng = random.Random(seed)
    prices = honest_prices(rng, n)
    found = red_flags(tender(*(bid(f"F{i}", p) for i, p in enumerate(prices))))
    assert not [e for e in found if e.kind.startswith("price_constant")]


def test_random_prices_trigger_a_pattern_less_often_than_alpha():
    rng = random.Random(20240501)
    hits = sum(bool(find_progressions(honest_prices(rng, rng.randint(3, 12)))) for _ in range(5000))
    assert hits / 5000 <= 1e-4 * 5  # alpha 1e-4; at most a couple of hits by bad luck


def test_project_manager_busy_on_a_won_project():
    day = date(2024, 3, 1)
    won = tender(bid(A, 100, project_manager="PM-7", winner=True), bid(B, 110), ref="T1", on=day)
    later = tender(
        bid(C, 200, project_manager="PM-7"), bid(D, 210), ref="T2", on=day + timedelta(days=30)
    )
    much_later = tender(
        bid(C, 300, project_manager="PM-7"), bid(D, 310), ref="T3", on=day + timedelta(days=400)
    )
    [item] = busy_project_managers([won, later, much_later], live_days=180)
    assert item.kind == "pm_busy_elsewhere"
    assert item.members == {A, C} and item.tender_ref == "T2"
    assert item.weight == 0.8  # the certificate is used by two firms
    assert "PM-7" in item.detail


def test_project_manager_windows_without_awards():
    day = date(2024, 3, 1)
    first = tender(bid(A, 100, project_manager="PM-7"), ref="T1", on=day)
    second = tender(bid(A, 100, project_manager="PM-7"), ref="T2", on=day + timedelta(days=10))
    assert busy_project_managers([first, second]) == []
    [item] = busy_project_managers([first, second], won_only=False)
    assert item.members == {A} and item.weight == 0.4
