"""Price screens per tender and the tender's suspicion.

Screens are descriptive statistics of the bids of one tender that move when bidders
coordinate: a cartel designates a winner, the others submit cover bids a little above
it, so the bids bunch together (low dispersion) and the cover bids sit close to each
other while the winner stands apart (high relative distance, negative skew).

Sources: D. Imhof, Y. Karagök and S. Rutz, "Screening for bid rigging — does it
work?", Journal of Competition Law & Economics 14(2), 2018 (IKR 2018); M. Huber and
D. Imhof, "Machine learning with screens for detecting bid-rigging cartels",
International Journal of Industrial Organization 65, 2019 (HI 2019); D. Imhof,
"Detecting bid-rigging coalitions in different countries and auction formats",
International Review of Law and Economics 68, 2021 (relative distance as used there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from trading.collusion.model import Evidence, TenderView
from trading.collusion.scoring import evidence_score

# When the losing bids are all equal the relative distance is unbounded; it is reported
# as this value (far above anything competitive bidding produces, and finite for JSON).
RD_CAP = 100.0


def screens(prices: Sequence[Decimal | float | int]) -> dict[str, float] | None:
    """The Imhof/Huber screens of one tender's bids, or ``None`` under three bids.

    With the ``n`` positive bids sorted ``b1 <= b2 <= ... <= bn``, mean ``m`` and sample
    standard deviation ``s = sqrt(sum((b - m)^2) / (n - 1))``:

    - ``cv`` coefficient of variation ``s / m`` (IKR 2018, HI 2019);
    - ``spd`` spread ``(bn - b1) / b1`` (HI 2019);
    - ``diffp`` percentage difference of the two lowest ``(b2 - b1) / b1`` (IKR 2018);
    - ``rd`` relative distance ``(b2 - b1) / s_L`` where ``s_L`` is the sample standard
      deviation (``n - 2`` denominator) of the losing bids ``b2..bn`` (IKR 2018; Imhof
      2021 "RD"). If the losing bids are all equal, ``rd`` is 0 when ``b2 == b1`` and
      :data:`RD_CAP` otherwise; it is never above :data:`RD_CAP`;
    - ``skew`` adjusted Fisher-Pearson skewness
      ``n / ((n - 1)(n - 2)) * sum(((b - m) / s)^3)`` (IKR 2018);
    - ``kurt`` bias-corrected sample excess kurtosis
      ``n(n + 1) / ((n - 1)(n - 2)(n - 3)) * sum(((b - m) / s)^4)
      - 3(n - 1)^2 / ((n - 2)(n - 3))`` (IKR 2018, HI 2019); only from four bids, as
      the estimator is undefined for three;
    - ``n`` the number of bids used.

    With zero variance (all bids equal) ``cv``, ``spd``, ``diffp``, ``rd``, ``skew`` and
    ``kurt`` are all 0. Non-positive prices are data errors and are left out. The lowest
    price is taken as the winning bid, whatever the award says: the screens describe
    the price distribution.
    """
    bids = sorted(float(p) for p in prices if float(p) > 0.0)
    n = len(bids)
    if n < 3:
        return None
    mean = math.fsum(bids) / n
    deviations = [b - mean for b in bids]
    variance = math.fsum(d * d for d in deviations) / (n - 1)
    std = math.sqrt(variance)
    lowest, second = bids[0], bids[1]
    gap = second - lowest
    losing = bids[1:]
    losing_mean = math.fsum(losing) / len(losing)
    losing_std = math.sqrt(math.fsum((b - losing_mean) ** 2 for b in losing) / (len(losing) - 1))
    # Relative to the price level: a spread of a few fen on millions is no spread.
    if std <= 1e-12 * mean:
        result = {"cv": 0.0, "spd": 0.0, "diffp": 0.0, "rd": 0.0, "skew": 0.0}
        if n >= 4:
            result["kurt"] = 0.0
        result["n"] = float(n)
        return result
    if losing_std <= 1e-12 * mean:
        rd = 0.0 if gap <= 1e-12 * mean else RD_CAP
    else:
        rd = min(RD_CAP, gap / losing_std)
    z = [d / std for d in deviations]
    result = {
        "cv": std / mean,
        "spd": (bids[-1] - lowest) / lowest,
        "diffp": gap / lowest,
        "rd": rd,
        "skew": n / ((n - 1) * (n - 2)) * math.fsum(v**3 for v in z),
    }
    if n >= 4:
        result["kurt"] = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * math.fsum(
            v**4 for v in z
        ) - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))
    result["n"] = float(n)
    return result


# Reference points for the tightness score, of the order reported for the Swiss cartels
# in IKR 2018 and HI 2019 (and the ranges the procurement literature quotes): competitive
# tenders have a coefficient of variation around 0.05-0.10, spreads of 15-30 % and a
# relative distance near 1; rigged ones a coefficient of variation around 0.01-0.03,
# spreads under 8 % and a relative distance of 2 or more.
COMPETITIVE = {"cv": 0.07, "spd": 0.20, "rd": 1.0}
COLLUSIVE = {"cv": 0.02, "spd": 0.05, "rd": 3.0}
# The logit scale puts the collusive point at tightness 0.75 and the competitive one at
# 0.05, for many bids (see :func:`tightness`).
_AT_COLLUSIVE, _AT_COMPETITIVE = 0.75, 0.05
# Screens are statistics, not proof: alone they never push a tender above this.
SCREEN_CAP = 0.6
TIGHT_THRESHOLD = 0.6
_FLOORS = {"cv": 1e-4, "spd": 1e-4, "rd": 1e-2}


def _signal(values: dict[str, float]) -> float:
    """Tightness in "halvings": +1 each time cv or spd halves or rd doubles.

    Each screen is measured from the geometric midpoint of its competitive and collusive
    reference values (cv 0.037, spd 0.10, rd 1.73), where it counts 0. Dispersion (cv
    and spd, averaged: they measure the same thing) weighs 0.6 and the relative distance
    0.4.
    """
    centre = {k: math.sqrt(COMPETITIVE[k] * COLLUSIVE[k]) for k in COMPETITIVE}
    u_cv = math.log2(centre["cv"] / max(values["cv"], _FLOORS["cv"]))
    u_spd = math.log2(centre["spd"] / max(values["spd"], _FLOORS["spd"]))
    u_rd = math.log2(max(values["rd"], _FLOORS["rd"]) / centre["rd"])
    return 0.6 * (u_cv + u_spd) / 2 + 0.4 * u_rd


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


_HIGH, _LOW = _signal(COLLUSIVE), _signal(COMPETITIVE)
_SLOPE = (_logit(_AT_COLLUSIVE) - _logit(_AT_COMPETITIVE)) / (_HIGH - _LOW)
_INTERCEPT = _logit(_AT_COLLUSIVE) - _SLOPE * _HIGH


def tightness(values: dict[str, float] | None) -> float:
    """How abnormally tight the bids are, in [0, 1], by a monotone logistic transform.

    ``logistic(a + r(n) * b * u)`` where ``u`` is :func:`_signal` (lower cv and spd,
    higher rd raise it), ``a`` and ``b`` are set so the :data:`COLLUSIVE` reference
    point maps to 0.75 and the :data:`COMPETITIVE` one to 0.05, and
    ``r(n) = sqrt((n - 2) / n)`` shrinks the signal towards the prior when there are few
    bids (three bids give a very noisy cv). Zero dispersion is the tightest possible.
    """
    if values is None:
        return 0.0
    n = values.get("n", 10.0)
    reliability = math.sqrt(max(n - 2.0, 0.0) / n) if n > 0 else 0.0
    z = _INTERCEPT + reliability * _SLOPE * _signal(values)
    return 1.0 / (1.0 + math.exp(-z))


def suspicion(screens: dict[str, float] | None, flags: list[Evidence]) -> float:
    """A tender's suspicion in [0, 1]: price tightness combined with its red flags.

    ``1 - (1 - SCREEN_CAP * tightness(screens)) * (1 - red)`` where ``red`` is the
    noisy-OR of the red-flag weights, counting correlated kinds once
    (:func:`trading.collusion.scoring.evidence_score`). Evidence from the screens
    themselves (``source == 'screen'``) is skipped so prices are not counted twice.
    """
    screen_part = SCREEN_CAP * tightness(screens)
    red = evidence_score(e for e in flags if e.source != "screen")
    return 1.0 - (1.0 - screen_part) * (1.0 - red)


def screen_evidence(
    tender: TenderView,
    *,
    values: dict[str, float] | None = None,
    threshold: float = TIGHT_THRESHOLD,
) -> list[Evidence]:
    """A ``tight_prices`` evidence naming every bidder when the tender's bids are abnormally tight.

    Emitted when :func:`tightness` reaches ``threshold``; its weight is
    ``SCREEN_CAP * tightness``. Pass ``values`` when the screens are already computed.
    """
    if values is None:
        values = screens([b.price for b in tender.bids])
    if values is None:
        return []
    level = tightness(values)
    bidders = frozenset(b.bidder for b in tender.bids)
    if level < threshold or len(bidders) < 2:
        return []
    return [
        Evidence(
            kind="tight_prices",
            source="screen",
            members=bidders,
            tender_ref=tender.ref,
            weight=SCREEN_CAP * level,
            detail=(
                f"The {int(values['n'])} bids in tender {tender.ref} are abnormally tight: "
                f"coefficient of variation {values['cv']:.3f}, spread {values['spd']:.1%}, "
                f"relative distance {values['rd']:.2f}."
            ),
        )
    ]
