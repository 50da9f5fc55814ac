"""Price screens (Imhof/Huber) and the tender suspicion built on them."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.collusion.model import BidView, Evidence, TenderView
from trading.collusion.screens import (
    COLLUSIVE,
    COMPETITIVE,
    RD_CAP,
    SCREEN_CAP,
    screen_evidence,
    screens,
    suspicion,
    tightness,
)


def tender(prices, ref="T1"):
    bids = tuple(BidView(f"B{i}", Decimal(str(p))) for i, p in enumerate(prices))
    return TenderView(ref, None, None, bids)


def test_screens_match_values_computed_by_hand():
    # Bids 100, 110, 130, 160: mean 125, deviations -25, -15, 5, 35, sum of squares 2100.
    values = screens([Decimal("160"), Decimal("100"), Decimal("130"), Decimal("110")])
    s = math.sqrt(2100 / 3)
    assert values["cv"] == pytest.approx(s / 125)
    assert values["spd"] == pytest.approx(0.6)  # (160 - 100) / 100
    assert values["diffp"] == pytest.approx(0.1)  # (110 - 100) / 100
    # Losing bids 110, 130, 160: mean 400/3, sum of squares 3800/3, sample sd sqrt(1900/3).
    assert values["rd"] == pytest.approx(10 / math.sqrt(1900 / 3))
    # Sum of cubed deviations 24000, of fourth powers 1942500.
    assert values["skew"] == pytest.approx(4 / (3 * 2) * 24000 / s**3)
    assert values["kurt"] == pytest.approx(20 / 6 * 1942500 / 700**2 - 27 / 2)
    assert values["kurt"] == pytest.approx(-2 / 7)
    assert values["n"] == 4


@pytest.mark.parametrize("prices", [[], [100], [100, 120], [100, 0, -5]])
def test_no_screens_under_three_bids(prices):
    assert screens(prices) is None


def test_three_bids_have_no_kurtosis():
    values = screens([100, 104, 111])
    assert "kurt" not in values
    assert {"cv", "spd", "diffp", "rd", "skew", "n"} <= values.keys()


def test_zero_variance_is_handled():
    values = screens([Decimal("1234567.89")] * 5)
    assert values == {"cv": 0, "spd": 0, "diffp": 0, "rd": 0, "skew": 0, "kurt": 0, "n": 5}
    # Nothing is tighter than identical bids.
    assert tightness(values) > tightness(screens([100, 101, 102, 103, 104]))


def test_equal_losing_bids_give_the_capped_relative_distance():
    assert screens([90, 100, 100, 100])["rd"] == RD_CAP


def test_decimal_and_float_prices_agree():
    as_decimal = screens([Decimal("1000.10"), Decimal("1100.20"), Decimal("1250.30")])
    as_float = screens([1000.10, 1100.20, 1250.30])
    assert as_decimal == pytest.approx(as_float)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1_000, 10_000_000), min_size=3, max_size=15),
    st.randoms(use_true_random=False),
    st.sampled_from([1, 7, 100]),
)
def test_screens_ignore_order_and_currency_unit(prices, rng, factor):
    shuffled = list(prices)
    rng.shuffle(shuffled)
    original, scaled = screens(prices), screens([p * factor for p in shuffled])
    assert scaled.keys() == original.keys()
    for key, value in original.items():
        assert scaled[key] == pytest.approx(value, rel=1e-9, abs=1e-9)


def test_tightness_follows_the_reference_points():
    competitive = tightness({**COMPETITIVE, "n": 1e9})
    collusive = tightness({**COLLUSIVE, "n": 1e9})
    assert competitive == pytest.approx(0.05, abs=1e-6)
    assert collusive == pytest.approx(0.75, abs=1e-6)


@given(st.floats(0.001, 0.3), st.floats(0.001, 0.3), st.integers(3, 20))
def test_tightness_rises_as_the_coefficient_of_variation_falls(cv_a, cv_b, n):
    low, high = sorted((cv_a, cv_b))
    base = {"spd": 0.1, "rd": 1.0, "n": float(n)}
    assert tightness({**base, "cv": low}) >= tightness({**base, "cv": high})


def test_few_bids_count_for_less():
    values = {**COLLUSIVE}
    assert tightness({**values, "n": 3}) < tightness({**values, "n": 12})


def flag(weight, kind="same_machine_code", source="red_flag"):
    return Evidence(kind, source, frozenset({"A", "B"}), "T1", weight, "test")


def test_suspicion_combines_screens_and_red_flags():
    tight = screens([100, 100.5, 101, 101.2, 102])
    loose = screens([100, 108, 117, 125, 140])
    assert 0 <= suspicion(loose, []) < suspicion(tight, []) <= SCREEN_CAP
    assert suspicion(loose, [flag(0.9)]) >= 0.9
    assert suspicion(None, []) == 0.0
    assert suspicion(None, [flag(0.5), flag(0.5, "same_agent")]) == pytest.approx(0.75)


def test_suspicion_does_not_count_screen_evidence_twice():
    values = screens([100, 100.5, 101, 101.2, 102])
    tight = flag(SCREEN_CAP * tightness(values), "tight_prices", "screen")
    assert suspicion(values, [tight]) == suspicion(values, [])


def test_screen_evidence_for_abnormally_tight_bids_only():
    rigged = tender([1_000_000, 1_004_000, 1_006_500, 1_009_000, 1_012_000, 1_015_000])
    rng = random.Random(3)
    honest = tender([round(1_000_000 * rng.lognormvariate(0, 0.08), 2) for _ in range(6)], "T2")
    [item] = screen_evidence(rigged)
    assert item.kind == "tight_prices" and item.source == "screen"
    assert item.members == {f"B{i}" for i in range(6)}
    assert 0 < item.weight <= SCREEN_CAP
    assert "coefficient of variation" in item.detail
    assert screen_evidence(honest) == []
    assert screen_evidence(tender([100, 101])) == []
