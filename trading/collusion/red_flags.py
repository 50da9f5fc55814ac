"""Deemed collusion inside one tender (招标投标法实施条例 art. 40) and busy project managers.

Article 40 of the Regulation on the Implementation of the Tendering and Bidding Law
deems bidders to collude when their bid documents were made by the same unit or person,
when they entrusted the same unit or person with the bid, when the same person is named
as project manager, when the documents are abnormally identical or the prices differ
in a regular way, when the documents are mixed up (not visible in these data), or when
the deposits come from the same account. Electronic bidding systems record the
fingerprints that show the first of these (文件制作机器码, MAC, CPU and disk serials,
upload IP, document hash, author).

Each shared value becomes one :class:`Evidence` holding every bidder that shares it.
Weights say how strongly the shared value alone betrays coordination; the comments on
:data:`FINGERPRINT_WEIGHTS` give the reason for each.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from trading.collusion.model import Evidence, TenderView

FEN = Decimal("0.01")

# field -> (evidence kind, weight, what the sentence calls it)
FINGERPRINT_WEIGHTS: dict[str, tuple[str, float, str]] = {
    # A hash collision between two real files is impossible in practice: the files are
    # the same file (art. 40(4), documents abnormally identical).
    "doc_hash": ("same_doc_hash", 1.0, "document hash"),
    # The bid tool derives the machine code from the hardware of the computer that
    # compiled the file (art. 40(1), made by the same person). Not 1.0: a print shop or a
    # terminal provided at the centre can compile files for unrelated bidders.
    "machine_code": ("same_machine_code", 0.95, "machine code"),
    # Statutory (art. 40(6)): deposits paid from the same account.
    "deposit_account": ("same_deposit_account", 0.95, "deposit account"),
    # Statutory (art. 40(3)): the same person named as project manager.
    "project_manager": ("same_project_manager", 0.9, "project manager"),
    # Statutory (art. 40(2)): the same person entrusted with the bid.
    "agent": ("same_agent", 0.9, "agent"),
    # Serial numbers are per unit, but cloned virtual machines and disk images repeat them.
    "disk": ("same_disk", 0.85, "disk serial"),
    # Unique per network card, but can be spoofed and virtual adapters repeat defaults.
    "mac": ("same_mac", 0.8, "MAC address"),
    # The author field is an account name: templates and common names repeat it.
    "author": ("same_author", 0.5, "document author"),
    # One public address is shared by everyone behind an office-building or carrier NAT,
    # so it is a clue to follow, not proof.
    "ip": ("same_ip", 0.5, "IP address"),
    # A CPU ProcessorId names a model and stepping, not a unit: thousands of machines
    # share one. It only corroborates other device evidence.
    "cpu": ("same_cpu", 0.1, "CPU id"),
}

# Placeholders that many unrelated machines or forms carry; sharing them means nothing.
_PLACEHOLDERS = frozenset(
    {
        "",
        "-",
        "--",
        "/",
        "0",
        "NA",
        "N/A",
        "NULL",
        "NONE",
        "NIL",
        "UNKNOWN",
        "DEFAULT",
        "DEFAULT STRING",
        "TO BE FILLED BY O.E.M.",
        "SYSTEM SERIAL NUMBER",
        "NOT APPLICABLE",
        "无",
        "空",
        "未知",
    }
)
# Default Windows and Office account names that end up as the document author.
_DEFAULT_AUTHORS = frozenset(
    {
        "ADMINISTRATOR",
        "ADMIN",
        "USER",
        "OWNER",
        "AUTHOR",
        "MICROSOFT",
        "MICROSOFT OFFICE USER",
        "WPS",
        "微软用户",
        "微软中国",
        "用户",
        "作者",
        "管理员",
    }
)
# Digests of an empty file: every empty upload shares them.
_EMPTY_DIGESTS = frozenset(
    {
        "d41d8cd98f00b204e9800998ecf8427e",  # MD5
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # SHA-1
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # SHA-256
        "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",  # SM3
    }
)
_SEPARATORS = re.compile(r"[\s:\-.]")


# The costly normalisers (address parsing) are memoised: a firm's office IP and MAC
# recur on every bid. The cache is bounded (some tens of MiB at most) so a long-running
# service does not grow.
_memo = functools.lru_cache(maxsize=1 << 18)


def _normal_text(value: str | None) -> str | None:
    if not value:
        return None
    text = str(value).strip().upper()
    if "  " in text or "\t" in text or "\n" in text:
        text = " ".join(text.split())
    if not text or text in _PLACEHOLDERS:
        return None
    if text[0] in "0F-X*" and text.count(text[0]) == len(text):
        return None  # 0000…, FFFF…, XXXX…: an unset field
    return text


@_memo
def _normal_mac(value: str | None) -> str | None:
    if value is None:
        return None
    text = _SEPARATORS.sub("", str(value)).upper()
    if len(text) != 12 or any(c not in "0123456789ABCDEF" for c in text):
        return None
    if text in {"000000000000", "FFFFFFFFFFFF"}:
        return None
    return ":".join(text[i : i + 2] for i in range(0, 12, 2))


@_memo
def _normal_ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None
    # Private, loopback and similar addresses repeat across unrelated networks.
    if not address.is_global:
        return None
    return str(address)


def _normal_digest(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip().upper()
    if not text or text.lower() in _EMPTY_DIGESTS or text in _PLACEHOLDERS or not text.strip("0"):
        return None
    return text


def _normal_author(value: str | None) -> str | None:
    text = _normal_text(value)
    if text is None or text in _DEFAULT_AUTHORS:
        return None
    return text


def _normal_account(value: str | None) -> str | None:
    text = _normal_text(value)
    return None if text is None else text.replace(" ", "")


NORMALISERS: dict[str, Callable[[str | None], str | None]] = {
    "doc_hash": _normal_digest,
    "machine_code": _normal_text,
    "deposit_account": _normal_account,
    "project_manager": _normal_text,
    "agent": _normal_text,
    "disk": _normal_text,
    "mac": _normal_mac,
    "author": _normal_author,
    "ip": _normal_ip,
    "cpu": _normal_text,
}


def _shown(field: str, value: str) -> str:
    # Bank accounts are masked (the sentence reaches auditors' screens and exports);
    # digests and long serials are cut so the sentence stays readable.
    if field == "deposit_account":
        return "ending " + value[-4:]
    if field in {"doc_hash", "machine_code", "disk"} and len(value) > 16:
        return value[:12] + "…"
    return value


# Fields whose values, when many unrelated bidders hold them, are defaults or shared
# facilities (an OEM's preset author name, a CPU model, a carrier NAT) rather than links.
COMMON_FIELDS = ("author", "cpu", "ip")


def common_values(
    tenders: Iterable[TenderView],
    *,
    max_holders: int = 10,
    fields: Sequence[str] = COMMON_FIELDS,
) -> dict[str, frozenset[str]]:
    """Normalised values of ``fields`` held by more than ``max_holders`` distinct bidders.

    Pass the result to :func:`red_flags` as ``common``: sharing such a value says nothing
    about two bidders. Machine codes, MACs, disk serials and document hashes are never
    treated as common: a machine that compiles bids for many bidders is a bid-writing
    shop, which is exactly what art. 40(1) is about.
    """
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tender in tenders:
        for bid in tender.bids:
            for field in fields:
                value = NORMALISERS[field](getattr(bid, field))
                if value is not None:
                    holders[(field, value)].add(bid.bidder)
    common: dict[str, set[str]] = {field: set() for field in fields}
    for (field, value), bidders in holders.items():
        if len(bidders) > max_holders:
            common[field].add(value)
    return {field: frozenset(values) for field, values in common.items()}


def _fingerprint_evidence(
    tender: TenderView, common: Mapping[str, Collection[str]] | None
) -> list[Evidence]:
    evidence = []
    bids = tender.bids
    for field, (kind, weight, label) in FINGERPRINT_WEIGHTS.items():
        normalise = NORMALISERS[field]
        values = [normalise(getattr(bid, field)) for bid in bids]
        present = [v for v in values if v is not None]
        if len(set(present)) == len(present):
            continue  # nothing repeats: the usual case, settled without grouping
        ignored = common.get(field, ()) if common else ()
        holders: dict[str, set[str]] = defaultdict(set)
        for bid, value in zip(bids, values, strict=True):
            if value is not None and value not in ignored:
                holders[value].add(bid.bidder)
        for value, bidders in sorted(holders.items()):
            if len(bidders) < 2:
                continue
            evidence.append(
                Evidence(
                    kind=kind,
                    source="red_flag",
                    members=frozenset(bidders),
                    tender_ref=tender.ref,
                    weight=weight,
                    detail=(
                        f"{len(bidders)} bidders in tender {tender.ref} share the same "
                        f"{label} {_shown(field, value)}."
                    ),
                )
            )
    return evidence


# ---------------------------------------------------------------------------- prices


def _fen(price: Decimal | float | int) -> int:
    if not isinstance(price, Decimal):
        price = Decimal(str(price))
    return int(price.quantize(FEN) * 100)


def _grid_fen(values_fen: Iterable[int]) -> int:
    """The coarsest power of ten (in fen) that every value is a multiple of."""
    zeros = [len(t) - len(t.rstrip("0")) for t in (str(abs(v)) for v in values_fen if v)]
    return 10 ** min(zeros) if zeros else 1


def _identical_prices(tender: TenderView) -> list[Evidence]:
    """Bidders who bid the same price, weighted by how likely that is by accident.

    Two honest bidders land on the same figure when they round coarsely or bid the
    estimate (often the ceiling); to the fen they practically never do. The chance is
    ``C(m, 2) * g / S``: ``m`` bidders, ``g`` the price's rounding grid (the largest power
    of ten dividing it), ``S`` the spread of the tender's prices (at least 5 % of the
    price). Weight ``0.85 + 0.15 * log10(1e-5 / chance)`` within [0.2, 0.9]: equal to
    the fen among a dozen bids spread over 10 % scores about 0.9, equal to the hundred
    yuan about 0.4; bids equal to the estimate score 0.2.
    """
    by_price: dict[int, set[str]] = defaultdict(set)
    for bid in tender.bids:
        by_price[_fen(bid.price)].add(bid.bidder)
    estimate = _fen(tender.estimate) if tender.estimate is not None else None
    bidders_total = len({b.bidder for b in tender.bids})
    positive = [p for p in by_price if p > 0]
    evidence = []
    for price, bidders in sorted(by_price.items()):
        if len(bidders) < 2 or price <= 0:
            continue
        at_estimate = price == estimate
        if at_estimate:
            weight = 0.2
        else:
            spread = max(max(positive) - min(positive), 0.05 * price)
            pairs = bidders_total * (bidders_total - 1) / 2
            chance = min(1.0, pairs * _grid_fen([price]) / spread)
            weight = min(0.9, max(0.2, 0.85 + 0.15 * math.log10(1e-5 / chance)))
        evidence.append(
            Evidence(
                kind="identical_prices",
                source="red_flag",
                members=frozenset(bidders),
                tender_ref=tender.ref,
                weight=weight,
                detail=(
                    f"{len(bidders)} bidders in tender {tender.ref} bid the identical price "
                    f"{Decimal(price) / 100:,.2f}" + (", the estimate." if at_estimate else ".")
                ),
            )
        )
    return evidence


@dataclass(frozen=True)
class Progression:
    """A run of consecutive prices (in sorted order) with a constant difference or ratio."""

    kind: str  # 'difference' | 'ratio'
    prices_fen: tuple[int, ...]
    step: float  # yuan for a difference, the factor for a ratio
    chance: float  # how often honest prices would line up this well, at most


def find_progressions(
    prices: Sequence[Decimal | float | int],
    *,
    rtol: float = 1e-4,
    alpha: float = 1e-4,
) -> list[Progression]:
    """Runs of three or more sorted distinct prices forming an arithmetic or geometric progression.

    A step matches the run's first step when they differ by at most ``rtol`` of the step,
    or by two units of the run's rounding grid (the largest power of ten dividing all its
    prices; rounding moves a step by up to one unit at each end). Matching alone is not
    enough: with a dozen bids some three prices line up by accident, and prices rounded
    to whole thousands line up all the time. So each run gets a chance probability: for
    ``k`` prices spanning ``S``, with the interior prices within ``w`` of the exact
    pattern (``w`` the larger of the interior prices' coarsest grid, which limits how
    close they can land, and twice the largest deviation),

        chance = 2 * (m - k + 1) * (k - 2)! * (w / S) ** (k - 2)

    (``m`` distinct prices, ``m - k + 1`` places the run could start, two kinds of
    pattern tested), and only runs with ``chance <= alpha`` are reported. Under honest
    bidding ``chance`` behaves like a conservative p-value, so ordinary random prices
    trigger in fewer than ``alpha`` of tenders.
    """
    points = sorted({f for f in (_fen(p) for p in prices) if f > 0})
    m = len(points)
    if m < 3:
        return []
    grids = [_grid_fen([p]) for p in points]
    found: list[Progression] = []
    seen: set[tuple[int, ...]] = set()
    for kind in ("difference", "ratio"):
        steps = [
            float(b - a) if kind == "difference" else math.log(b / a)
            for a, b in zip(points, points[1:], strict=False)
        ]
        start = 0
        while start < len(steps) - 1:
            end = start + 1  # steps[start:end] belong to the run
            grid = min(grids[start], grids[start + 1])
            while end < len(steps):
                next_grid = min(grid, grids[end + 1])
                if kind == "difference":
                    tol = max(rtol * steps[start], 2.0 * next_grid)
                else:
                    tol = max(rtol * steps[start], 2.0 * next_grid / points[end + 1])
                if abs(steps[end] - steps[start]) > tol:
                    break
                grid = next_grid
                end += 1
            if end - start < 2:
                start += 1
                continue
            run = tuple(points[start : end + 1])
            interior_grid = max(grids[start + 1 : end])
            chance = _chance(kind, run, steps[start:end], interior_grid, m)
            if chance <= alpha and run not in seen:
                seen.add(run)
                step = steps[start] / 100 if kind == "difference" else math.exp(steps[start])
                found.append(Progression(kind, run, step, chance))
            start = end
    return found


def _chance(kind: str, run: tuple[int, ...], steps: Sequence[float], grid: int, m: int) -> float:
    k = len(run)
    deviation = max(abs(s - steps[0]) for s in steps)
    if kind == "ratio":
        deviation *= run[k // 2]  # a log deviation, back in fen near the middle price
    width = max(float(grid), 2.0 * deviation)
    span = float(run[-1] - run[0])
    chance = 2 * (m - k + 1) * math.factorial(k - 2) * (width / span) ** (k - 2)
    return min(1.0, chance)


def _pattern_weight(progression: Progression, alpha: float) -> float:
    # 0.5 at the reporting threshold, +0.1 per further factor of ten, at most 0.95.
    return min(0.95, 0.5 + 0.1 * math.log10(alpha / max(progression.chance, 1e-300)))


def _price_patterns(tender: TenderView, *, rtol: float, alpha: float) -> list[Evidence]:
    bidders_at: dict[int, set[str]] = defaultdict(set)
    for bid in tender.bids:
        bidders_at[_fen(bid.price)].add(bid.bidder)
    evidence = []
    for progression in find_progressions([b.price for b in tender.bids], rtol=rtol, alpha=alpha):
        members = frozenset().union(*(bidders_at[p] for p in progression.prices_fen))
        if len(members) < 2:
            continue
        if progression.kind == "difference":
            kind = "price_constant_difference"
            pattern = f"a constant difference of {progression.step:,.2f}"
        else:
            kind = "price_constant_ratio"
            pattern = f"a constant ratio of {progression.step:.6f}"
        evidence.append(
            Evidence(
                kind=kind,
                source="red_flag",
                members=members,
                tender_ref=tender.ref,
                weight=_pattern_weight(progression, alpha),
                detail=(
                    f"{len(progression.prices_fen)} prices in tender {tender.ref} step by "
                    f"{pattern} (chance under honest bidding at most {progression.chance:.1e})."
                ),
            )
        )
    return evidence


# ------------------------------------------------------------- the market's conventions

PRICE_PATTERN_KINDS = ("identical_prices", "price_constant_difference", "price_constant_ratio")
#: Where the market-wide conventions are kept among the common values (``common``).
CONVENTION_FIELD = "price_convention"
#: A price pattern seen in more than this share of a market's tenders is how that market
#: prices, not a signal: the tests promise fewer than ``alpha`` (1 in 10,000) honest
#: tenders, so one in five means their chance model does not hold there (prices bid as
#: discounts on a coarse grid line up all the time), not that a fifth of the market is
#: rigged the same way.
CONVENTION_RATE = 0.2
#: Too few tenders say nothing about a market's conventions.
CONVENTION_MIN_TENDERS = 50


def price_conventions(
    kinds_per_tender: Iterable[Collection[str]],
    *,
    rate: float = CONVENTION_RATE,
    min_tenders: int = CONVENTION_MIN_TENDERS,
) -> frozenset[str]:
    """The price-pattern kinds that fire in more than ``rate`` of the market's tenders.

    ``kinds_per_tender`` gives, for every tender of the market, the evidence kinds found in
    it. Pass the result to :func:`red_flags` within ``common`` (under
    :data:`CONVENTION_FIELD`): those patterns then say nothing, like a value every bidder
    shares.
    """
    tenders = 0
    firing: dict[str, int] = defaultdict(int)
    for kinds in kinds_per_tender:
        tenders += 1
        for kind in set(kinds) & set(PRICE_PATTERN_KINDS):
            firing[kind] += 1
    if tenders < min_tenders:
        return frozenset()
    return frozenset(kind for kind, count in firing.items() if count > rate * tenders)


# ------------------------------------------------------------------------ entry points


def red_flags(
    tender: TenderView,
    *,
    common: Mapping[str, Collection[str]] | None = None,
    rtol: float = 1e-4,
    alpha: float = 1e-4,
) -> list[Evidence]:
    """Every art. 40 red flag inside ``tender``: shared fingerprints, people, accounts, prices.

    Empty, ``None`` and placeholder values (all-zero MACs, private IPs, default author
    names, digests of empty files) are ignored: sharing them proves nothing; so are the
    market-wide ``common`` values from :func:`common_values`, and the price patterns that
    are the market's convention (``common[CONVENTION_FIELD]``, :func:`price_conventions`).
    ``rtol`` and ``alpha`` tune the price-pattern test (see :func:`find_progressions`).
    """
    found = (
        _fingerprint_evidence(tender, common)
        + _identical_prices(tender)
        + _price_patterns(tender, rtol=rtol, alpha=alpha)
    )
    return without_conventions(found, (common or {}).get(CONVENTION_FIELD, ()))


def without_conventions(evidence: Iterable[Evidence], conventions: Collection[str]) -> list:
    """``evidence`` less the price patterns that are the market's convention."""
    return [e for e in evidence if e.kind not in conventions]


def busy_project_managers(
    tenders: Iterable[TenderView],
    *,
    live_days: int = 180,
    won_only: bool = True,
) -> list[Evidence]:
    """Project managers named on a bid while already committed to another live project.

    A project manager is *live* on a tender from its date for ``live_days`` days; by
    default only on tenders their bidder won (the project they must then manage), with
    ``won_only=False`` on every tender they are named in (overlapping opening windows).
    Being named on a bid in another tender dated inside that window is evidence
    (``pm_busy_elsewhere``): weight 0.8 when the other bid is from a different bidder
    (one certificate used by two firms, 挂证), 0.4 when it is the same bidder (the firm
    offers someone it cannot field, but may withdraw one bid). Two bidders naming the
    same person in one tender is :func:`red_flags`' ``same_project_manager``.
    """
    window = timedelta(days=live_days)
    # manager -> (date, tender ref, bidder, won), plain tuples: there is one per bid.
    appearances: dict[str, list[tuple[date, str, str, bool]]] = defaultdict(list)
    for tender in tenders:
        if tender.date is None:
            continue
        for bid in tender.bids:
            manager = _normal_text(bid.project_manager)
            if manager is not None:
                appearances[manager].append((tender.date, tender.ref, bid.bidder, bid.winner))
    evidence: dict[tuple[str, str, frozenset[str]], Evidence] = {}
    for manager, rows in appearances.items():
        if len(rows) < 2 or (won_only and not any(row[3] for row in rows)):
            continue
        rows.sort()
        dates = [row[0] for row in rows]
        for live_on, live_ref, live_bidder, live_won in rows:
            if won_only and not live_won:
                continue
            # Bids dated from the live tender's date up to the end of its window.
            lo = bisect.bisect_left(dates, live_on)
            hi = bisect.bisect_left(dates, live_on + window)
            for other_on, other_ref, other_bidder, _ in rows[lo:hi]:
                if other_ref == live_ref:
                    continue
                members = frozenset({live_bidder, other_bidder})
                key = (manager, other_ref, members)
                if key in evidence:
                    continue
                lent = len(members) > 1
                evidence[key] = Evidence(
                    kind="pm_busy_elsewhere",
                    source="red_flag",
                    members=members,
                    tender_ref=other_ref,
                    weight=0.8 if lent else 0.4,
                    detail=(
                        f"Project manager {manager} is named by {other_bidder} in tender "
                        f"{other_ref} on {other_on.isoformat()} while live on tender "
                        f"{live_ref} (from {live_on.isoformat()}, {live_days} days)"
                        + (f" for {live_bidder}." if lent else ".")
                    ),
                )
    return list(evidence.values())
