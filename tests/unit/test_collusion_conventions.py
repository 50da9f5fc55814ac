"""Price patterns a whole market shows are its convention, not evidence."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from trading.collusion.model import BidView, TenderView
from trading.collusion.red_flags import (
    CONVENTION_FIELD,
    price_conventions,
    red_flags,
)
from trading.collusion.scan import scan


def market(tenders: int, patterned: int, seed: int = 3) -> list[TenderView]:
    """Tenders of six firms with prices to the fen; in ``patterned`` of them two firms bid
    one identical price (as a market bidding round discounts off one estimate would)."""
    rng = random.Random(seed)
    firms = [f"F{i:02d}" for i in range(30)]
    views = []
    for t in range(tenders):
        bidders = rng.sample(firms, 6)
        prices = [Decimal(f"{rng.uniform(900_000, 1_100_000):.2f}") for _ in bidders]
        if t < patterned:
            prices[1] = prices[0]
        low = min(range(6), key=lambda i: (prices[i], i))
        views.append(
            TenderView(
                ref=f"T{t:03d}",
                date=date(2025, 1, 1) + timedelta(days=t),
                estimate=Decimal("1000000"),
                bids=tuple(
                    BidView(bidder=b, price=p, winner=i == low)
                    for i, (b, p) in enumerate(zip(bidders, prices, strict=True))
                ),
            )
        )
    return views


def kinds(views):
    return [{e.kind for e in red_flags(v)} for v in views]


def test_a_pattern_in_most_tenders_is_the_markets_convention():
    assert price_conventions(kinds(market(60, 50))) == {"identical_prices"}
    assert price_conventions(kinds(market(60, 5))) == frozenset()
    # Too few tenders to know the market's habits.
    assert price_conventions(kinds(market(40, 40))) == frozenset()


def test_red_flags_ignore_the_convention_and_the_scan_finds_it_itself():
    views = market(60, 50)
    assert any(e.kind == "identical_prices" for e in red_flags(views[0]))
    common = {CONVENTION_FIELD: frozenset({"identical_prices"})}
    assert not any(e.kind == "identical_prices" for e in red_flags(views[0], common=common))
    result = scan(views)
    assert not any(e.kind == "identical_prices" for e in result.evidence)
    patterned = result.tenders["T000"]
    plain = scan(views[:1]).tenders["T000"]  # one tender alone: no market to learn from
    assert any(e.kind == "identical_prices" for e in plain.evidence)
    assert patterned.suspicion < plain.suspicion
    # Where few tenders show it, it stays evidence.
    rare = scan(market(60, 5))
    assert any(e.kind == "identical_prices" for e in rare.evidence)
