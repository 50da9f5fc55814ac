"""A synthetic procurement market with planted cartels, for tests and the quality bench.

Honest firms bid competitively: each tender has a true cost (the estimate is off by a
few per cent), each firm has its own efficiency and draws an idiosyncratic cost, and
adds a markup that shrinks with the number of rivals; the lowest price wins. Firms bid
mostly in their home region and sector, within what their qualification grade allows
(big works only for top grades, which seldom bother with small ones); big firms bid
far more than small ones; some enter or leave during the period; each rounds prices in
its own way and mostly names a project manager who is not tied up on a won project.
Every tender has at least three bidders (招标投标法 art. 28).

Fingerprints are noisy the way real ones are: a firm uses one to three computers; CPU
ids repeat across thousands of machines; many documents carry a default author and
the others a person's name, which can repeat; firms in shared office buildings upload
from one public IP; some bids come from home or mobile addresses.

Four kinds of cartel are planted, each in its own region and sector and active for a
part of the period, rigging tenders where few outsiders turn up. Their members also bid
honestly elsewhere (phantom firms apart), the outsiders sometimes undercut the
designated winner, and their traces are noisy:

- ``rotation``: members take turns winning; the others cover a little above;
- ``cover``: a real firm brings shell firms that always bid above it and never win,
  sometimes with documents made on its computer;
- ``fingerprint``: one member prepares the bids on one computer (machine code, MAC,
  disk, author), not every time; the winner rotates;
- ``pattern``: cover prices step from the winner's by a constant difference or ratio,
  except when a member goes its own way.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from trading.collusion.model import BidView, TenderView

CARTEL_KINDS = ("rotation", "cover", "fingerprint", "pattern")
SECTORS = (("construction", 0.5), ("procurement", 0.35), ("other", 0.15))
# Provincial-capital prefixes (GB/T 2260); further regions number the cities below them.
_PROVINCES = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
    "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "61", "62", "63",
    "64", "65",
)  # fmt: skip
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_SURNAMES = (
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun",
    "ma", "zhu", "hu", "guo", "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song",
    "tang", "han", "feng", "deng", "cao", "peng", "zeng", "xiao", "tian", "dong", "yuan", "pan",
)  # fmt: skip
_GIVEN = (
    "wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan",
    "jie", "juan", "tao", "ming", "chao", "xiu", "xia", "ping", "gang", "gui", "hua", "hong",
    "jian", "hui", "bin", "bo", "peng", "fei", "dan", "rui", "kai", "xin", "yu", "hao", "lin",
)  # fmt: skip
_DEFAULT_AUTHORS = ("Administrator", "Administrator", "User", "微软用户", "Lenovo")


@dataclass(frozen=True)
class Truth:
    """What was planted: cartel member sets by kind, and the tenders they rigged."""

    cartels: dict[str, tuple[frozenset[str], ...]]
    collusive_tenders: frozenset[str]
    phantoms: frozenset[str] = field(default_factory=frozenset)

    def members(self) -> frozenset[str]:
        return frozenset().union(*(m for groups in self.cartels.values() for m in groups))

    def groups(self) -> list[tuple[str, frozenset[str]]]:
        return [(kind, m) for kind, groups in self.cartels.items() for m in groups]


def uscc(rng: random.Random, region: str) -> str:
    """A well-formed 统一社会信用代码 for an enterprise (registration code 9, type 1)."""
    digits = [rng.randrange(10) for _ in range(8)]
    check = 11 - sum(d * w for d, w in zip(digits, _ORG_WEIGHTS, strict=True)) % 11
    org = "".join(map(str, digits)) + {10: "X", 11: "0"}.get(check, str(check))
    body = "91" + region + org
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


@dataclass
class _Machine:
    machine_code: str
    mac: str
    cpu: str
    disk: str


@dataclass
class _Firm:
    uscc: str
    region: str
    sectors: tuple[str, ...]
    activity: float
    efficiency: float
    rounding: int  # fen
    start: int  # day offsets of activity
    end: int
    machines: list[_Machine]
    author: str
    office_ip: str
    account: str
    agents: list[str]
    managers: list[str]
    grade: int = 3  # qualification grade (资质等级): 1 may bid on anything, 3 on small works
    honest: bool = True  # takes part in ordinary tenders
    cartel: bool = False


@dataclass
class _Skeleton:
    ref: str
    day: int
    region: str
    sector: str
    estimate: Decimal
    bidders: int
    cost: float  # the true cost of the work
    bids: list[BidView] = field(default_factory=list)
    taken: bool = False


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(n))


def _public_ip(rng: random.Random) -> str:
    # 1.x to 223.x, avoiding the private 10/8, 172.16/12, 192.168/16 and loopback ranges.
    while True:
        a = rng.randint(1, 223)
        if a not in (10, 127, 172, 192, 100, 169):
            return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _machine(rng: random.Random, cpus: list[str]) -> _Machine:
    mac = ":".join(_hex(rng, 2) for _ in range(6))
    return _Machine(_hex(rng, 32), mac, rng.choice(cpus), "WD-" + _hex(rng, 12))


def _round(value: float, unit_fen: int) -> Decimal:
    fen = max(unit_fen, int(round(value * 100 / unit_fen)) * unit_fen)
    return Decimal(fen) / 100


class _Market:
    def __init__(
        self,
        seed: int,
        firms: int,
        tenders: int,
        bids_per_tender: tuple[int, int],
        start: date,
        days: int,
    ) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.bids_per_tender = bids_per_tender
        rng = self.rng
        n_regions = max(4, firms // 100)
        self.regions = [
            _PROVINCES[i % len(_PROVINCES)] + f"{i // len(_PROVINCES) + 1:02d}00"
            for i in range(n_regions)
        ]
        self.cpus = ["BFEBFBFF" + _hex(rng, 8) for _ in range(150)]
        self.firms: list[_Firm] = [self._firm() for _ in range(firms)]
        self._shared_buildings()
        self.tenders: list[_Skeleton] = [self._skeleton(i) for i in range(tenders)]
        self.tenders.sort(key=lambda t: t.day)
        self._by_segment: dict[tuple[str, str], list[_Skeleton]] = defaultdict(list)
        for tender in self.tenders:
            self._by_segment[(tender.region, tender.sector)].append(tender)
        self._pools: dict[tuple[str, str, int], tuple[list[_Firm], list[float]]] = {}
        self._index_pools()
        self.doc_counter = 0

    # -- firms ---------------------------------------------------------------------

    def _firm(self, *, region: str | None = None, sector: str | None = None) -> _Firm:
        rng = self.rng
        region = region or rng.choice(self.regions)
        primary = sector or rng.choices([s for s, _ in SECTORS], [w for _, w in SECTORS])[0]
        sectors = (primary,)
        if rng.random() < 0.2:
            other = rng.choice([s for s, _ in SECTORS if s != primary])
            sectors = (primary, other)
        start, end = 0, self.days
        if rng.random() < 0.15:
            if rng.random() < 0.5:
                start = rng.randrange(self.days // 2)
            else:
                end = rng.randrange(self.days // 2, self.days)
        n_machines = rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
        if rng.random() < 0.35:
            author = rng.choice(_DEFAULT_AUTHORS)
        else:
            author = f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}{rng.choice(_GIVEN)}"
        grade = rng.choices((1, 2, 3), (0.15, 0.35, 0.5))[0]
        activity = min(20.0, rng.paretovariate(1.5)) * {1: 2.0, 2: 1.3, 3: 1.0}[grade]
        # Busier firms employ more registered project managers (注册建造师).
        managers = rng.randint(2, 6) + int(3 * activity)
        return _Firm(
            uscc=uscc(rng, region),
            region=region,
            sectors=sectors,
            grade=grade,
            activity=activity,
            efficiency=rng.lognormvariate(0.0, 0.06),
            rounding=rng.choices((1, 100, 10_000, 100_000), (0.4, 0.4, 0.15, 0.05))[0],
            start=start,
            end=end,
            machines=[_machine(rng, self.cpus) for _ in range(n_machines)],
            author=author,
            office_ip=_public_ip(rng),
            account="6222" + "".join(str(rng.randrange(10)) for _ in range(15)),
            agents=["AG" + _hex(rng, 10) for _ in range(rng.randint(1, 2))],
            managers=["PM" + _hex(rng, 10) for _ in range(managers)],
        )

    def _shared_buildings(self) -> None:
        # About one firm in eight shares an office building, and so a public IP, with
        # two to five others of its region.
        rng = self.rng
        by_region: dict[str, list[_Firm]] = defaultdict(list)
        for firm in self.firms:
            by_region[firm.region].append(firm)
        for members in by_region.values():
            rng.shuffle(members)
            i, sharing = 0, int(len(members) * 0.12)
            while i < sharing:
                size = rng.randint(2, 5)
                ip = _public_ip(rng)
                for firm in members[i : i + size]:
                    firm.office_ip = ip
                i += size

    # -- tenders -------------------------------------------------------------------

    def _skeleton(self, i: int) -> _Skeleton:
        rng = self.rng
        day = rng.randrange(self.days)
        region = rng.choice(self.regions)
        sector = rng.choices([s for s, _ in SECTORS], [w for _, w in SECTORS])[0]
        estimate = Decimal(max(1000, round(rng.lognormvariate(math.log(3e6), 1.0), -3)))
        lo, hi = self.bids_per_tender
        # The estimate is off: the true cost differs from it by about 8 %.
        cost = float(estimate) * rng.lognormvariate(-0.05, 0.08)
        year = (self.start + timedelta(days=day)).year
        return _Skeleton(
            f"GX{year}-{i:07d}", day, region, sector, estimate, rng.randint(lo, hi), cost
        )

    def _index_pools(self) -> None:
        # A tender admits firms of its grade or better; top-grade firms seldom bother
        # with small works.
        def weight(firm: _Firm, required: int, away: bool) -> float:
            w = firm.activity**1.5 if away else firm.activity
            return w * (0.3 if firm.grade == 1 and required == 3 else 1.0)

        by_segment: dict[tuple[str, str], list[_Firm]] = defaultdict(list)
        for firm in self.firms:
            if firm.honest:
                for sector in firm.sectors:
                    by_segment[(firm.region, sector)].append(firm)
                    by_segment[("*", sector)].append(firm)
        for required in (1, 2, 3):
            for sector, _ in SECTORS:
                for region in [*self.regions, "*"]:
                    # Firms bid away from home far less often, the big ones more.
                    pool = [f for f in by_segment[(region, sector)] if f.grade <= required]
                    weights = [weight(f, required, region == "*") for f in pool]
                    self._pools[(region, sector, required)] = (pool, _cumulative(weights))

    def _draw(self, tender: _Skeleton, count: int, exclude: set[str]) -> list[_Firm]:
        rng = self.rng
        chosen: list[_Firm] = []
        seen = set(exclude)
        for _ in range(count * 6):
            if len(chosen) >= count:
                break
            region = tender.region if rng.random() < 0.85 else "*"
            pool, cumulative = self._pools[(region, tender.sector, _required(tender.estimate))]
            if not pool:
                continue
            firm = rng.choices(pool, cum_weights=cumulative)[0]
            if firm.uscc in seen or not firm.start <= tender.day < firm.end:
                continue
            seen.add(firm.uscc)
            chosen.append(firm)
        # A thin local market: the tender is advertised again, and firms from anywhere
        # come (the law wants three bidders at least, 招标投标法 art. 28).
        pool, cumulative = self._pools[("*", tender.sector, 3)]
        for _ in range(count * 20):
            if len(chosen) >= count or not pool:
                break
            firm = rng.choices(pool, cum_weights=cumulative)[0]
            if firm.uscc in seen or not firm.start <= tender.day < firm.end:
                continue
            seen.add(firm.uscc)
            chosen.append(firm)
        return chosen

    def honest_price(self, firm: _Firm, tender: _Skeleton, rivals: int) -> Decimal:
        rng = self.rng
        cost = tender.cost * firm.efficiency * rng.lognormvariate(0.0, 0.05)
        markup = 0.02 + 0.2 / max(rivals, 1) + rng.uniform(0.0, 0.03)
        return _round(cost * (1.0 + markup), firm.rounding)

    def bid(self, firm: _Firm, tender: _Skeleton, price: Decimal, **override) -> BidView:
        rng = self.rng
        machine = rng.choice(firm.machines)
        roll = rng.random()
        ip = firm.office_ip if roll < 0.75 else (_public_ip(rng) if roll < 0.95 else None)
        self.doc_counter += 1
        when = datetime.combine(
            self.start + timedelta(days=tender.day - rng.randint(1, 20)),
            time(rng.randint(8, 17), rng.randint(0, 59)),
        )
        values = {
            "bidder": firm.uscc,
            "price": price,
            "submitted_at": when,
            "project_manager": rng.choice(firm.managers),
            "deposit_account": firm.account if rng.random() < 0.9 else None,
            "agent": rng.choice(firm.agents),
            "machine_code": machine.machine_code,
            "mac": machine.mac if rng.random() < 0.95 else "00:00:00:00:00:00",
            "cpu": machine.cpu,
            "disk": machine.disk,
            "ip": ip,
            "doc_hash": f"{self.doc_counter:016X}{_hex(rng, 48)}",
            "author": firm.author,
        }
        values.update(override)
        return BidView(**values)

    def fill_honest(self, tender: _Skeleton, exclude: set[str], count: int) -> None:
        total = len(tender.bids) + count
        for firm in self._draw(tender, count, exclude):
            tender.bids.append(self.bid(firm, tender, self.honest_price(firm, tender, total)))

    # -- cartels -------------------------------------------------------------------

    def plant(self, kind: str) -> tuple[frozenset[str], list[str]]:
        rng = self.rng
        region = rng.choice(self.regions)
        sector = rng.choices([s for s, _ in SECTORS], [w for _, w in SECTORS])[0]
        size = {"rotation": (3, 6), "cover": (3, 4), "fingerprint": (2, 4), "pattern": (3, 4)}[kind]
        size = rng.randint(*size)
        if kind == "cover":
            lead = self._recruit(region, sector, 1)
            phantoms = [self._firm(region=region, sector=sector) for _ in range(size - 1)]
            for firm in phantoms:
                firm.grade = lead[0].grade
                firm.honest = False
                firm.activity = 0.0
                firm.start, firm.end = 0, self.days
            self.firms.extend(phantoms)
            members = lead + phantoms
        else:
            members = self._recruit(region, sector, size)
        span = rng.randint(self.days // 3, self.days)
        first = rng.randrange(self.days - span + 1)
        grade = max(f.grade for f in members)
        pool = [
            t
            for t in self._by_segment[(region, sector)]
            if not t.taken and first <= t.day < first + span and _required(t.estimate) >= grade
        ]
        wanted = {
            "rotation": 5 * size,
            "cover": rng.randint(12, 30),
            "fingerprint": 5 * size,
            "pattern": 4 * size,
        }[kind]
        rigged = sorted(rng.sample(pool, min(wanted, len(pool))), key=lambda t: t.day)
        state = {"wins": {f.uscc: 0 for f in members}, "kind": rng.choice(("difference", "ratio"))}
        if kind == "fingerprint":
            state["maker"] = rng.choice(members)
        for tender in rigged:
            tender.taken = True
            present = members if kind != "rotation" else self._attendance(members)
            getattr(self, f"_rig_{kind}")(tender, present, state)
            # Cartels pick tenders they can control: few outsiders turn up.
            outsiders = rng.choice((0, 1, 1, 2, 2, 3, 4))
            honest_count = min(max(tender.bidders - len(present), 0), outsiders)
            # A tender needs three bidders; a cartel brings them (that is what 陪标 is for).
            honest_count = max(honest_count, 3 - len(tender.bids))
            self.fill_honest(tender, {f.uscc for f in members}, honest_count)
        return frozenset(f.uscc for f in members), [t.ref for t in rigged]

    def _recruit(self, region: str, sector: str, size: int) -> list[_Firm]:
        rng = self.rng
        local = [
            f
            for f in self.firms
            if f.honest
            and not f.cartel
            and f.region == region
            and sector in f.sectors
            and (f.start, f.end) == (0, self.days)
        ]
        rng.shuffle(local)
        chosen = local[:size]
        while len(chosen) < size:
            firm = self._firm(region=region, sector=sector)
            firm.start, firm.end = 0, self.days
            self.firms.append(firm)
            chosen.append(firm)
        for firm in chosen:
            firm.cartel = True
        return chosen

    def _attendance(self, members: list[_Firm]) -> list[_Firm]:
        rng = self.rng
        present = [f for f in members if rng.random() < 0.8]
        if len(present) < 2:
            present = rng.sample(members, 2)
        return present

    def _designated(self, present: list[_Firm], state: dict) -> _Firm:
        # Turns: the member with fewest wins so far, ties broken at random.
        wins = state["wins"]
        low = min(wins[f.uscc] for f in present)
        winner = self.rng.choice([f for f in present if wins[f.uscc] == low])
        wins[winner.uscc] += 1
        return winner

    def _rigged_price(self, firm: _Firm, tender: _Skeleton) -> float:
        # The designated winner bids 2-7 % over its cost: above what its partners would
        # have forced in a fight, just under what the few outsiders usually ask.
        cost = tender.cost * firm.efficiency * self.rng.lognormvariate(0.0, 0.03)
        return cost * (1.0 + self.rng.uniform(0.02, 0.07))

    def _rig_rotation(self, tender: _Skeleton, present: list[_Firm], state: dict) -> None:
        rng = self.rng
        winner = self._designated(present, state)
        price = self._rigged_price(winner, tender)
        tender.bids.append(self.bid(winner, tender, _round(price, winner.rounding)))
        for firm in present:
            if firm is not winner:
                cover = price * (1.0 + rng.uniform(0.01, 0.06))
                tender.bids.append(self.bid(firm, tender, _round(cover, firm.rounding)))

    def _rig_cover(self, tender: _Skeleton, present: list[_Firm], state: dict) -> None:
        rng = self.rng
        lead, phantoms = present[0], present[1:]
        price = self._rigged_price(lead, tender)
        tender.bids.append(self.bid(lead, tender, _round(price, lead.rounding)))
        for firm in phantoms:
            if rng.random() < 0.15:
                continue  # a shell sits this one out
            cover = price * (1.0 + rng.uniform(0.02, 0.10))
            override = {}
            machine = rng.choice(lead.machines)
            for name in ("machine_code", "mac", "disk"):
                if rng.random() < 0.15:
                    override[name] = getattr(machine, name)
            tender.bids.append(self.bid(firm, tender, _round(cover, firm.rounding), **override))

    def _rig_fingerprint(self, tender: _Skeleton, present: list[_Firm], state: dict) -> None:
        rng = self.rng
        maker: _Firm = state["maker"]
        machine = rng.choice(maker.machines)
        winner = self._designated(present, state)
        price = self._rigged_price(winner, tender)
        for firm in present:
            value = price if firm is winner else price * (1.0 + rng.uniform(0.01, 0.07))
            override: dict[str, str] = {}
            if firm is maker or rng.random() < 0.7:
                override = {
                    "machine_code": machine.machine_code,
                    "mac": machine.mac,
                    "disk": machine.disk,
                    "cpu": machine.cpu,
                }
                if rng.random() < 0.6:
                    override["author"] = maker.author
                if rng.random() < 0.3:
                    override["ip"] = maker.office_ip
                if firm is not maker and rng.random() < 0.1:
                    # A lent certificate: the maker's project manager on a member's bid.
                    override["project_manager"] = rng.choice(maker.managers)
            tender.bids.append(self.bid(firm, tender, _round(value, firm.rounding), **override))

    def _rig_pattern(self, tender: _Skeleton, present: list[_Firm], state: dict) -> None:
        rng = self.rng
        winner = self._designated(present, state)
        price = _round(self._rigged_price(winner, tender), 1)
        covers = [f for f in present if f is not winner]
        rng.shuffle(covers)
        step = rng.uniform(0.005, 0.03)
        for j, firm in enumerate(covers, start=1):
            if rng.random() < 0.1:
                value = _round(float(price) * (1.0 + rng.uniform(0.01, 0.08)), firm.rounding)
            elif state["kind"] == "difference":
                difference = _round(float(price) * step, 10_000)  # a round hundred yuan
                value = price + difference * j
            else:
                ratio = Decimal(str(round(1.0 + step, 3)))
                value = (price * ratio**j).quantize(Decimal("0.01"))
            tender.bids.append(self.bid(firm, tender, value))
        tender.bids.append(self.bid(winner, tender, price))

    # -- output --------------------------------------------------------------------

    def finish(self) -> list[TenderView]:
        rng = self.rng
        for tender in self.tenders:
            if not tender.taken:
                self.fill_honest(tender, set(), tender.bidders)
            rng.shuffle(tender.bids)
            if tender.bids:
                lowest = min(range(len(tender.bids)), key=lambda i: (tender.bids[i].price, i))
                tender.bids[lowest] = replace(tender.bids[lowest], winner=True)
        self._free_project_managers()
        return [
            TenderView(
                ref=tender.ref,
                date=self.start + timedelta(days=tender.day),
                estimate=tender.estimate,
                bids=tuple(tender.bids),
                region=tender.region,
                sector=tender.sector,
            )
            for tender in self.tenders
            if tender.bids
        ]

    def _free_project_managers(self) -> None:
        # A project manager is tied up by a won project for four to twelve months; firms
        # mostly name someone free, when they have someone.
        rng = self.rng
        firms = {f.uscc: f for f in self.firms}
        rows: dict[str, list[tuple[int, str, _Skeleton, int]]] = defaultdict(list)
        for tender in self.tenders:
            for i, b in enumerate(tender.bids):
                rows[b.bidder].append((tender.day, tender.ref, tender, i))
        for uscc_, mine in rows.items():
            busy_until: dict[str, int] = {}
            managers = firms[uscc_].managers
            for day, _, tender, i in sorted(mine, key=lambda r: (r[0], r[1])):
                bid = tender.bids[i]
                manager = bid.project_manager or ""
                if busy_until.get(manager, -1) > day and rng.random() < 0.95:
                    free = [m for m in managers if busy_until.get(m, -1) <= day]
                    if free:
                        bid = tender.bids[i] = replace(bid, project_manager=rng.choice(free))
                if bid.winner and bid.project_manager:
                    busy_until[bid.project_manager] = day + rng.randint(120, 360)


def _required(estimate: Decimal) -> int:
    """The qualification grade a tender asks for, by its size."""
    if estimate >= 20_000_000:
        return 1
    if estimate >= 4_000_000:
        return 2
    return 3


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def default_cartels(firms: int) -> dict[str, int]:
    """Three to four cartels of each kind per 2,000 firms."""
    scale = max(firms / 2000, 0.25)
    counts = {"rotation": 4, "cover": 4, "fingerprint": 4, "pattern": 3}
    return {kind: max(1, round(n * scale)) for kind, n in counts.items()}


def generate_market(
    seed: int,
    firms: int = 2000,
    tenders: int = 10000,
    bids_per_tender: tuple[int, int] = (3, 12),
    cartels: Mapping[str, int] | None = None,
    *,
    start: date = date(2022, 1, 1),
    days: int = 3 * 365,
) -> tuple[list[TenderView], Truth]:
    """A market of ``firms`` bidding in ``tenders`` over ``days``, with planted cartels.

    ``cartels`` maps a kind (:data:`CARTEL_KINDS`) to how many to plant; by default
    :func:`default_cartels`. Same seed, same market.
    """
    market = _Market(seed, firms, tenders, bids_per_tender, start, days)
    wanted = dict(default_cartels(firms) if cartels is None else cartels)
    unknown = set(wanted) - set(CARTEL_KINDS)
    if unknown:
        raise ValueError(f"unknown cartel kinds: {sorted(unknown)}")
    planted: dict[str, list[frozenset[str]]] = {kind: [] for kind in CARTEL_KINDS}
    rigged: set[str] = set()
    for kind in CARTEL_KINDS:
        for _ in range(wanted.get(kind, 0)):
            members, refs = market.plant(kind)
            planted[kind].append(members)
            rigged.update(refs)
    # Recruits and shells join the pools only now: rigged tenders are filled already.
    market._index_pools()
    views = market.finish()
    phantoms = frozenset(f.uscc for f in market.firms if not f.honest)
    truth = Truth({k: tuple(v) for k, v in planted.items() if v}, frozenset(rigged), phantoms)
    return views, truth
