"""The co-bidding network across tenders, and the clusters of bidders it reveals.

Bidders are nodes. Two bidders are joined when they meet in significantly more tenders
than chance predicts, take first and second place together too often, keep meeting in
tenders with abnormally tight prices, or when red-flag evidence ties them; the edge
weight combines these. Communities of the weighted graph are candidate cartels; each is
then examined as a group: members turning up together in more tenders than chance
allows, winning in turn (winner rotation), bidding with the group but never winning
(cover bidding), and mostly bidding against each other (insularity).

Scale: one pass over the tenders accumulates pair counts in a ``Counter`` keyed by one
integer per pair (no networkx call in the inner loop); only significant pairs become
edges, so the graph stays small whatever the number of bids.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from trading.collusion.model import Cluster, Evidence, TenderView
from trading.collusion.scoring import cluster_score, evidence_score, noisy_or, weight_from_p

LOUVAIN_SEED = 20_240_501  # any fixed value: Louvain is randomised, the output must not be
_PAIR_SHIFT = 32


# -------------------------------------------------------------------- probabilities


def poisson_tail(k: int, mean: float) -> float:
    """``P(X >= k)`` for ``X ~ Poisson(mean)``, summed from ``k`` upwards in log space."""
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if k <= mean:
        # Near or below the mean the tail is large; sum the complement instead.
        term = math.exp(-mean)
        head = term
        for i in range(1, k):
            term *= mean / i
            head += term
        return max(0.0, 1.0 - head)
    log_term = -mean + k * math.log(mean) - math.lgamma(k + 1)
    term = math.exp(log_term)
    total = term
    i = k
    while term > total * 1e-16:
        i += 1
        term *= mean / i
        total += term
    return min(1.0, total)


def binomial_tail(k: int, probabilities: Sequence[float]) -> float:
    """``P(S >= k)`` for ``S`` a sum of independent Bernoulli(p_i) (Poisson-binomial)."""
    if k <= 0:
        return 1.0
    if k > len(probabilities):
        return 0.0
    dist = [1.0]
    for p in probabilities:
        nxt = [0.0] * (len(dist) + 1)
        for j, mass in enumerate(dist):
            nxt[j] += mass * (1.0 - p)
            nxt[j + 1] += mass * p
        dist = nxt
    return min(1.0, math.fsum(dist[k:]))


# -------------------------------------------------------------------------- the graph


def _segment(
    tender: TenderView, period_days: int | None, size_bands: float | None
) -> tuple[str | None, str | None, int, int]:
    period = -1
    if period_days and tender.date is not None:
        period = tender.date.toordinal() // period_days
    # Size bands: qualification grades (资质等级) admit firms by project size, so firms
    # of one grade meet each other more than the whole market predicts.
    size = -1
    if size_bands and tender.estimate is not None and tender.estimate > 0:
        size = math.floor(math.log10(tender.estimate) / size_bands)
    return (tender.region, tender.sector, period, size)


def co_bidding_graph(
    tenders: Iterable[TenderView],
    evidence: Iterable[Evidence] = (),
    *,
    min_meetings: int = 3,
    alpha: float = 1e-3,
    min_lift: float = 1.5,
    podium_alpha: float = 1e-4,
    min_evidence: float = 0.6,
    period_days: int | None = None,
    size_bands: float | None = 0.5,
    max_shared: int = 50,
) -> nx.Graph:
    """The weighted co-bidding graph of ``tenders`` with ``evidence`` on its edges.

    Nodes are bidders (attributes ``bids``, ``wins``, ``tenders``: the refs of every
    tender they bid in, and ``evidence``: evidence naming that bidder alone).

    **Which pairs become edges.** Three tests, any of which suffices.

    *Meetings.* Firms in the same region and sector meet often without colluding, so
    meetings are compared with what independent bidding predicts *within each segment*:
    region, sector, size band of the estimate (``size_bands`` decades wide, as
    qualification grades admit firms by project size) and, if ``period_days`` is set, the
    period. In a segment with tenders of ``k_t`` bidders and ``B = sum(k_t)`` bids, a firm
    with ``n_a`` bids there sits in tender ``t`` with probability ``n_a k_t / B``; two
    firms meet there with probability about ``n_a n_b k_t (k_t - 1) / B^2``. Summed over
    tenders and segments this is the expected number of meetings ``E``. The pair passes
    when it met at least ``min_meetings`` times, ``meetings / E >= min_lift`` and the
    Poisson tail ``P(X >= meetings | E) <= alpha``. Segments must not be too fine: a
    cartel's own rigged tenders then dominate its segment and explain its meetings away
    (no period split by default). ``alpha`` is per pair, so about ``alpha`` times the
    pairs tested are chance edges (a few hundred in a market of a million bids); they
    carry little weight, and a community built on them needs group evidence to score.

    *Podium.* A cover bid sits just above the designated winner, so cartel pairs take
    first and second place together far more often than competitors (the rank idea of
    Porter & Zona 1993). In a tender of ``k >= 3`` bidders, with exchangeable ranks, a
    given pair holds the two lowest bids with probability ``2 / (k (k - 1))``; this is
    scaled by each firm's own rate of finishing in the top two relative to that baseline
    (an efficient firm is often there), smoothed and capped at 3x. The pair passes when
    it took the podium at least three times and the Poisson-binomial tail over its
    shared tenders is at most ``podium_alpha`` (far fewer pairs are tested).

    *Evidence.* Its red-flag evidence alone is strong
    (:func:`~trading.collusion.scoring.evidence_score` >= ``min_evidence``). Screen
    evidence names every bidder of a tight tender, so one tight tender makes no edge;
    a pair passes when it shares two or more tight tenders and the Poisson-binomial tail
    of that count over its meetings, each at the market's rate of tight tenders of that
    many bidders, is at most ``alpha``.

    **Edge attributes.** ``meetings``, ``expected``, ``p_value`` (meetings test),
    ``podium``, ``podium_expected``, ``podium_p``, ``tight``, ``tight_p``, ``tenders``
    (up to ``max_shared`` shared tender refs), ``evidence`` (list), ``co_bidding`` (the
    weight of the behaviour alone: 0.05 per factor of ten of the meetings p-value, 0.07
    of the podium one, the larger, at most 0.7, since firms in one niche also meet
    often), and ``weight`` = noisy-OR of ``co_bidding`` and the evidence score.
    """
    ids: dict[str, int] = {}
    names: list[str] = []
    tender_lists: list[list[int]] = []  # per bidder: indices into refs
    wins: list[int] = []
    top_two: list[int] = []  # per bidder: times among the two lowest (tenders of 3+)
    top_two_base: list[float] = []  # per bidder: sum of 2 / k over its tenders of 3+
    refs: list[str] = []
    sizes: list[int] = []  # bidders per tender
    segment_bids: list[Counter] = []  # per bidder: bids per segment
    seg_bids: Counter = Counter()  # B per segment
    seg_pairs: Counter = Counter()  # sum of k(k - 1) per segment
    seg_sizes: dict[tuple, list[int]] = defaultdict(list)  # k of each tender per segment
    pair_counts: Counter = Counter()
    podiums: Counter = Counter()
    pending: list[int] = []

    for tender in tenders:
        t_index = len(refs)
        refs.append(tender.ref)
        segment = _segment(tender, period_days, size_bands)
        lowest: dict[int, float] = {}
        for bid in tender.bids:
            node = ids.get(bid.bidder)
            if node is None:
                node = ids[bid.bidder] = len(names)
                names.append(bid.bidder)
                tender_lists.append([])
                wins.append(0)
                top_two.append(0)
                top_two_base.append(0.0)
                segment_bids.append(Counter())
            if bid.winner:
                wins[node] += 1
            price = float(bid.price)
            if price < lowest.get(node, math.inf):
                lowest[node] = price
        k = len(lowest)
        sizes.append(k)
        seg_bids[segment] += k
        seg_pairs[segment] += k * (k - 1)
        seg_sizes[segment].append(k)
        ordered = sorted(lowest)
        for i, a in enumerate(ordered):
            tender_lists[a].append(t_index)
            segment_bids[a][segment] += 1
            base = a << _PAIR_SHIFT
            pending.extend([base | b for b in ordered[i + 1 :]])
        if k >= 3:
            first, second = heapq.nsmallest(2, lowest, key=lambda n: (lowest[n], n))
            podiums[(min(first, second) << _PAIR_SHIFT) | max(first, second)] += 1
            top_two[first] += 1
            top_two[second] += 1
            for node in ordered:
                top_two_base[node] += 2.0 / k
        if len(pending) > 1_000_000:
            pair_counts.update(pending)
            pending.clear()
    pair_counts.update(pending)
    pending.clear()

    # Q per segment: expected meetings = sum over segments of n_a * n_b * Q.
    q = {s: seg_pairs[s] / seg_bids[s] ** 2 for s in seg_bids if seg_bids[s]}

    graph = nx.Graph(
        tenders=len(refs),
        bids=int(sum(seg_bids.values())),
        segment_sizes=dict(seg_sizes),
    )
    for node, name in enumerate(names):
        graph.add_node(
            name,
            bids=len(tender_lists[node]),
            wins=wins[node],
            tenders=tuple(refs[i] for i in tender_lists[node]),
            segments=dict(segment_bids[node]),
            evidence=[],
        )

    edge_evidence: dict[tuple[str, str], dict[tuple, Evidence]] = defaultdict(dict)
    for item in evidence:
        members = sorted(m for m in item.members if m in ids)
        if len(members) == 1:
            graph.nodes[members[0]]["evidence"].append(item)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                edge_evidence[(a, b)][item.identity()] = item

    def expected(a: int, b: int) -> float:
        small, large = sorted((segment_bids[a], segment_bids[b]), key=len)
        return sum(n * large[s] * q[s] for s, n in small.items() if s in large)

    def shared(a: int, b: int) -> list[int]:
        return sorted(set(tender_lists[a]).intersection(tender_lists[b]))

    def propensity(a: int) -> float:
        # Own top-two rate over the exchangeable baseline, smoothed by one sighting.
        return min(3.0, (top_two[a] + 1.0) / (top_two_base[a] + 1.0))

    def podium_test(a: int, b: int, count: int) -> tuple[float, float]:
        scale = propensity(a) * propensity(b)
        chances = [
            min(1.0, scale * 2.0 / (sizes[t] * (sizes[t] - 1)))
            for t in shared(a, b)
            if sizes[t] >= 3
        ]
        return sum(chances), binomial_tail(count, chances)

    def key_of(a: int, b: int) -> int:
        return (min(a, b) << _PAIR_SHIFT) | max(a, b)

    mask = (1 << _PAIR_SHIFT) - 1
    candidates: set[int] = set()
    for key, meetings in pair_counts.items():
        if meetings < min_meetings:
            continue
        a, b = key >> _PAIR_SHIFT, key & mask
        mean = expected(a, b)
        if mean > 0 and meetings / mean < min_lift:
            continue
        if poisson_tail(meetings, mean) <= alpha:
            candidates.add(key)
    for key, count in podiums.items():
        if count >= 3 and podium_test(key >> _PAIR_SHIFT, key & mask, count)[1] <= podium_alpha:
            candidates.add(key)
    tight_tenders = {
        e.tender_ref
        for items in edge_evidence.values()
        for e in items.values()
        if e.source == "screen"
    }
    # Few bids are tight by accident far more often than many: the rate is per size.
    position = {ref: i for i, ref in enumerate(refs)}
    tight_by_size = Counter(sizes[position[r]] for r in tight_tenders if r in position)
    all_by_size = Counter(sizes)
    tight_rate = {k: tight_by_size[k] / all_by_size[k] for k in all_by_size}
    graph.graph["tight_tenders"] = frozenset(tight_tenders)
    graph.graph["tight_rate"] = tight_rate

    def tight_test(a: int, b: int, items: Iterable[Evidence]) -> tuple[int, float]:
        count = len({e.tender_ref for e in items if e.source == "screen"})
        if count < 2:
            return count, 1.0
        return count, binomial_tail(count, [tight_rate[sizes[t]] for t in shared(a, b)])

    for (u, v), items in edge_evidence.items():
        a, b = ids[u], ids[v]
        # One tight tender names all its bidders, so screens alone make an edge only
        # when a pair keeps meeting in tight tenders, more than its meetings predict.
        red = evidence_score(e for e in items.values() if e.source != "screen")
        if red >= min_evidence or tight_test(a, b, items.values())[1] <= alpha:
            candidates.add(key_of(a, b))

    for key in candidates:
        a, b = key >> _PAIR_SHIFT, key & mask
        u, v = sorted((names[a], names[b]))
        meetings = pair_counts.get(key, 0)
        mean = expected(a, b)
        p_value = poisson_tail(meetings, mean)
        podium = podiums.get(key, 0)
        podium_expected, podium_p = podium_test(a, b, podium)
        co_bidding = 0.0
        if meetings >= min_meetings and p_value <= alpha:
            co_bidding = weight_from_p(p_value, cap=0.7, per_decade=0.05)
        if podium >= 3 and podium_p <= podium_alpha:
            co_bidding = max(co_bidding, weight_from_p(podium_p, cap=0.7, per_decade=0.07))
        items = list(edge_evidence.get((u, v), {}).values())
        tight, tight_p = tight_test(a, b, items)
        graph.add_edge(
            u,
            v,
            meetings=meetings,
            expected=mean,
            p_value=p_value,
            podium=podium,
            podium_expected=podium_expected,
            podium_p=podium_p,
            tight=tight,
            tight_p=tight_p,
            tenders=[refs[i] for i in shared(a, b)[:max_shared]],
            evidence=items,
            co_bidding=co_bidding,
            weight=noisy_or((co_bidding, evidence_score(items))),
        )
    return graph


# ----------------------------------------------------------------------- communities


def _communities(
    graph: nx.Graph, *, seed: int, max_size: int, resolution: float, depth: int = 0
) -> list[set[str]]:
    if graph.number_of_edges() == 0:
        return []
    found = []
    for community in nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    ):
        if len(community) <= max_size:
            found.append(set(community))
        elif depth < 4:
            # Too big to be one cartel: split it again at a finer resolution.
            found.extend(
                _communities(
                    graph.subgraph(community).copy(),
                    seed=seed,
                    max_size=max_size,
                    resolution=resolution * 2,
                    depth=depth + 1,
                )
            )
    return found


@dataclass
class _Group:
    """What the award record says about a set of members."""

    members: frozenset[str]
    tenders: list[TenderView]  # tenders where at least two members bid
    present: dict[str, list[str]]  # tender ref -> members in it
    # How much more often than 1 / k each member wins where the others are absent: an
    # efficient firm wins more than its share without anyone's help.
    propensity: dict[str, float]


def _group(members: frozenset[str], graph: nx.Graph, index: Mapping[str, TenderView]) -> _Group:
    seen: Counter = Counter()
    for member in members:
        seen.update(graph.nodes[member].get("tenders", ()))
    tenders, present = [], {}
    for ref, count in sorted(seen.items()):
        if count < 2 or ref not in index:
            continue
        tender = index[ref]
        tenders.append(tender)
        present[ref] = sorted({b.bidder for b in tender.bids if b.bidder in members})
    propensity = {}
    for member in members:
        won, base = 0, 0.0
        for ref in graph.nodes[member].get("tenders", ()):
            tender = index.get(ref)
            if ref in present or tender is None:
                continue
            base += 1.0 / max(_bidder_count(tender), 1)
            won += _winner(tender) == member
        propensity[member] = min(3.0, max(1.0 / 3.0, (won + 1.0) / (base + 1.0)))
    return _Group(members, tenders, present, propensity)


def _winner(tender: TenderView) -> str | None:
    for bid in tender.bids:
        if bid.winner:
            return bid.bidder
    return None


def _bidder_count(tender: TenderView) -> int:
    return len({b.bidder for b in tender.bids})


def winner_rotation(group: _Group, *, max_hhi: float = 0.6, alpha: float = 1e-3) -> Evidence | None:
    """Members take turns winning the tenders where they meet.

    Among the group's tenders (two or more members bidding), count those won by a
    member. Evidence when at least three are, by at least two different members, with a
    Herfindahl index of the members' win shares at most ``max_hhi`` (turns, not one
    dominant firm), and when so many member wins are unlikely under competition. Under
    competition member ``m`` wins a tender of ``k_t`` bidders with probability
    ``r_m / k_t``, where ``r_m`` is how much more often than ``1 / k`` it wins in the
    tenders *outside* the group (smoothed, between 1/3 and 3: efficient firms win more
    than their share without help); the group wins tender ``t`` with the sum over the
    members present, and the Poisson-binomial tail of the observed count must be at most
    ``alpha``. Weight: 0.1 per factor of ten, at most 0.6.

    (A test of the order of wins, turn by turn, was tried and dropped: with the dozen or
    two wins a group has, a permutation test cannot reach a useful significance.)
    """
    won: Counter = Counter()
    chances = []
    for tender in group.tenders:
        k = max(_bidder_count(tender), 1)
        rates = sum(group.propensity[m] for m in group.present[tender.ref])
        chances.append(min(1.0, rates / k))
        winner = _winner(tender)
        if winner in group.members:
            won[winner] += 1
    total = sum(won.values())
    if total < 3 or len(won) < 2:
        return None
    hhi = sum((c / total) ** 2 for c in won.values())
    if hhi > max_hhi:
        return None
    p_value = binomial_tail(total, chances)
    if p_value > alpha or weight_from_p(p_value, cap=0.6) <= 0.0:
        return None
    expected = sum(chances)
    shares = ", ".join(f"{m} {c}" for m, c in sorted(won.items(), key=lambda x: (-x[1], x[0])))
    return Evidence(
        kind="winner_rotation",
        source="network",
        members=frozenset(won),
        tender_ref=None,
        weight=weight_from_p(p_value, cap=0.6),
        detail=(
            f"Members won {total} of the {len(group.tenders)} tenders where they met "
            f"(competition predicts {expected:.1f}), taking turns: {len(won)} winners "
            f"({shares}), Herfindahl {hhi:.2f}."
        ),
    )


def cover_bidding(
    group: _Group, graph: nx.Graph, *, alpha: float = 1e-3, min_share: float = 0.5
) -> Evidence | None:
    """Members who bid mostly with the group and never win, while another member wins.

    A member ``f`` qualifies when it never won anything, bid at least three times in
    the group's tenders, and those are at least ``min_share`` of all its bids (an
    inefficient competitor also never wins, but it bids everywhere; a cover bidder or a
    shell turns up where the group does). Its chance under competition is
    ``prod(1 - 1/k_t)`` (``f`` never wins) times the Poisson-binomial tail of "another
    member wins" over the same tenders, each with probability ``sum(r_m) / (k_t - 1)``
    over the other members present given ``f`` lost (``r_m`` as in
    :func:`winner_rotation`). Members whose chance is at most ``alpha`` are covers; the
    evidence names them and the members they covered for. Weight: 0.1 per factor of
    ten of the smallest chance, at most 0.75.
    """
    covers: dict[str, tuple[int, int, float]] = {}
    beneficiaries: set[str] = set()
    for member in sorted(group.members):
        node = graph.nodes[member]
        if node.get("wins", 0) > 0:
            continue
        mine = [t for t in group.tenders if member in group.present[t.ref]]
        if len(mine) < 3 or len(mine) < min_share * node.get("bids", len(mine)):
            continue
        never = 1.0
        others: list[float] = []
        covered = 0
        helped: set[str] = set()
        for tender in mine:
            k = max(_bidder_count(tender), 2)
            never *= 1.0 - 1.0 / k
            rates = sum(group.propensity[m] for m in group.present[tender.ref] if m != member)
            others.append(min(1.0, rates / (k - 1)))
            winner = _winner(tender)
            if winner in group.members and winner != member:
                covered += 1
                helped.add(winner)
        if covered == 0:
            continue
        p_value = never * binomial_tail(covered, others)
        if p_value <= alpha:
            covers[member] = (len(mine), covered, p_value)
            beneficiaries |= helped
    best = min((p for _, _, p in covers.values()), default=1.0)
    if not covers or weight_from_p(best, cap=0.75) <= 0.0:
        return None
    parts = "; ".join(
        f"{m} bid in {n} of them and lost each time, {c} to a member"
        for m, (n, c, _) in sorted(covers.items())
    )
    return Evidence(
        kind="cover_bidding",
        source="network",
        members=frozenset(covers) | frozenset(beneficiaries),
        tender_ref=None,
        weight=weight_from_p(best, cap=0.75),
        detail=(
            f"{len(covers)} member(s) never won anything and bid mostly alongside the group "
            f"in its {len(group.tenders)} tenders: {parts}."
        ),
    )


def insular_group(
    group: _Group, graph: nx.Graph, index: Mapping[str, TenderView], *, min_share: float = 0.3
) -> Evidence | None:
    """Members who mostly bid against each other rather than against outsiders.

    Over every tender a member bid in, count its rival bids (``k_t - 1``) and how many
    of them came from other members; the share inside is the group's insularity.
    Competitors in an open market meet many rivals, so a share of ``min_share`` or more
    is evidence. A heuristic screen (no null model): weight equal to the share, at most 0.5.
    """
    inside = total = 0
    for member in group.members:
        for ref in graph.nodes[member].get("tenders", ()):
            tender = index.get(ref)
            if tender is None:
                continue
            rivals = _bidder_count(tender) - 1
            total += rivals
            if ref in group.present:
                inside += len(group.present[ref]) - 1
    if total == 0 or len(group.tenders) < 3:
        return None
    share = inside / total
    if share < min_share or share <= 0.0:
        return None
    return Evidence(
        kind="insular_group",
        source="network",
        members=group.members,
        tender_ref=None,
        weight=min(0.5, share),
        detail=(
            f"{share:.0%} of the rival bids the members faced ({inside} of {total}) came from "
            f"other members."
        ),
    )


def group_meetings(group: _Group, graph: nx.Graph) -> tuple[int, int, float, float]:
    """Tenders where ``j = min(3, size)`` or more members bid together, against chance.

    Returns ``(j, observed, expected, p_value)``. Under the segment model of
    :func:`co_bidding_graph` member ``m`` with ``n_m`` bids in a segment of ``B`` bids
    sits in a tender of ``k`` bidders with probability ``min(1, n_m k / B)``; the chance
    that ``j`` or more members sit in it follows from these, summed over the tenders of
    the segments where ``j`` members are active. A cartel's members turn up together
    in the tenders they rig; competitors do so about as often as chance, which for three
    firms is rarely, so this test has far more power than any pair's meetings.
    """
    j = min(3, len(group.members))
    observed = sum(len(p) >= j for p in group.present.values())
    sizes = graph.graph.get("segment_sizes", {})
    per_segment: dict[tuple, list[int]] = defaultdict(list)
    for member in group.members:
        for segment, count in graph.nodes[member].get("segments", {}).items():
            per_segment[segment].append(count)
    expected = 0.0
    for segment, counts in per_segment.items():
        if len(counts) < j or segment not in sizes:
            continue
        total_bids = sum(sizes[segment])
        for k in sizes[segment]:
            # Probabilities of 0, 1, ..., j - 1 members present; the rest is "j or more".
            dist = [1.0] + [0.0] * (j - 1)
            for n in counts:
                p = min(1.0, n * k / total_bids)
                for i in range(j - 1, -1, -1):
                    dist[i] = dist[i] * (1.0 - p) + (dist[i - 1] * p if i else 0.0)
            expected += max(0.0, 1.0 - sum(dist))
    return j, observed, expected, poisson_tail(observed, expected)


def tight_meetings(group: _Group, graph: nx.Graph) -> tuple[int, float, float]:
    """Group tenders with tight prices, against the market's rate for tenders of that size.

    Returns ``(observed, expected, p_value)``, the Poisson-binomial tail over the group's
    tenders, each tight with the market's rate for its number of bidders.
    """
    tight = graph.graph.get("tight_tenders", frozenset())
    rate = graph.graph.get("tight_rate", {})
    chances = [rate.get(_bidder_count(t), 0.0) for t in group.tenders]
    observed = sum(t.ref in tight for t in group.tenders)
    return observed, sum(chances), binomial_tail(observed, chances)


def _co_bidding(members: frozenset[str], graph: nx.Graph, group: _Group) -> Evidence | None:
    edges = [
        (u, v, d)
        for u, v, d in graph.subgraph(members).edges(data=True)
        if d.get("co_bidding", 0.0) > 0.0
    ]
    j, observed, expected, p_value = group_meetings(group, graph)
    together = weight_from_p(p_value, cap=0.7, per_decade=0.07) if observed >= 3 else 0.0
    tight, tight_expected, tight_p = tight_meetings(group, graph)
    tight_weight = weight_from_p(tight_p, cap=0.7, per_decade=0.07) if tight >= 2 else 0.0
    if not edges and max(together, tight_weight) < 0.2:
        return None
    sentences = []
    weight = max(together, tight_weight)
    if together >= 0.2:
        sentences.append(
            f"{j} or more members bid together in {observed} tenders where chance predicts "
            f"{expected:.1f}."
        )
    if tight_weight >= 0.2:
        sentences.append(
            f"{tight} of the tenders where members met had abnormally tight prices where "
            f"chance predicts {tight_expected:.1f}."
        )
    if edges:
        u, v, strongest = max(
            edges, key=lambda e: (e[2]["co_bidding"], e[2]["meetings"], e[0], e[1])
        )
        weight = max(weight, strongest["co_bidding"])
        sentences.append(
            f"The closest pair, {u} and {v}, met {strongest['meetings']} times where chance "
            f"predicts {strongest['expected']:.1f}, and took first and second place together "
            f"{strongest['podium']} times where chance predicts "
            f"{strongest['podium_expected']:.1f}."
        )
    return Evidence(
        kind="co_bidding",
        source="network",
        members=members,
        tender_ref=None,
        weight=weight,
        detail=" ".join(sentences),
    )


def _dedupe(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    unique: dict[tuple, Evidence] = {}
    for item in evidence:
        current = unique.get(item.identity())
        if current is None or item.weight > current.weight:
            unique[item.identity()] = item
    return tuple(sorted(unique.values(), key=lambda e: (-e.weight, e.kind, e.tender_ref or "")))


_KIND_PHRASES = {
    "same_machine_code": "the same machine code",
    "same_mac": "the same MAC address",
    "same_cpu": "the same CPU id",
    "same_disk": "the same disk serial",
    "same_ip": "the same IP address",
    "same_doc_hash": "identical documents",
    "same_author": "the same document author",
    "same_agent": "the same agent",
    "same_project_manager": "the same project manager",
    "same_deposit_account": "deposits from the same account",
    "identical_prices": "identical prices",
    "price_constant_difference": "prices with a constant difference",
    "price_constant_ratio": "prices with a constant ratio",
    "tight_prices": "abnormally tight prices",
    "pm_busy_elsewhere": "a project manager committed elsewhere",
}


def explain(
    members: frozenset[str], tenders: Sequence[str], evidence: Sequence[Evidence], score: float
) -> str:
    """A short English paragraph: who, how many tenders, and each kind of evidence counted."""
    sentences = [f"{len(members)} bidders, {len(tenders)} tenders, score {score:.2f}."]
    for item in evidence:
        if item.source == "network":
            sentences.append(item.detail)
    per_kind: dict[str, set[str]] = defaultdict(set)
    for item in evidence:
        if item.source != "network":
            per_kind[item.kind].add(item.tender_ref or "")
    for kind, refs in sorted(per_kind.items(), key=lambda x: (-len(x[1]), x[0])):
        phrase = _KIND_PHRASES.get(kind, kind.replace("_", " "))
        count = len(refs)
        sentences.append(f"{phrase[0].upper()}{phrase[1:]} in {count} tender{'s' * (count != 1)}.")
    return " ".join(sentences)


def make_cluster(
    members: frozenset[str], tenders: Iterable[str], evidence: Iterable[Evidence]
) -> Cluster:
    """A :class:`Cluster` scored by :func:`~trading.collusion.scoring.cluster_score`."""
    items = _dedupe(evidence)
    refs = tuple(sorted(set(tenders) | {e.tender_ref for e in items if e.tender_ref}))
    score = cluster_score(members, items)
    return Cluster(
        members=frozenset(members),
        tenders=refs,
        evidence=items,
        score=score,
        explanation=explain(members, refs, items, score),
    )


def _communities_by_name(
    graph: nx.Graph, *, seed: int, max_size: int, resolution: float
) -> list[set[str]]:
    """Louvain communities of the connected bidders, the same for the same graph in any process.

    Louvain walks nodes and communities in the order it holds them, in sets; sets of
    strings iterate in an order that changes with each process's string hashing, so the
    same graph gave different communities from run to run. The bidders are numbered in
    sorted order (integers hash to themselves) and the edges added in sorted order first.
    """
    names = sorted(n for n, d in graph.degree() if d > 0)
    number = {name: i for i, name in enumerate(names)}
    numbered = nx.Graph()
    numbered.add_nodes_from(range(len(names)))
    numbered.add_weighted_edges_from(
        sorted(
            (min(number[u], number[v]), max(number[u], number[v]), data["weight"])
            for u, v, data in graph.edges(data=True)
            if u in number and v in number
        )
    )
    found = _communities(numbered, seed=seed, max_size=max_size, resolution=resolution)
    return [{names[i] for i in community} for community in found]


def clusters(
    graph: nx.Graph,
    tenders_index: Mapping[str, TenderView],
    *,
    seed: int = LOUVAIN_SEED,
    min_size: int = 2,
    max_size: int = 15,
    resolution: float = 1.0,
) -> list[Cluster]:
    """Communities of the co-bidding graph, each examined and scored, best first.

    Communities come from ``networkx`` Louvain (``louvain_communities(weight='weight',
    seed=seed)``): it maximises weighted modularity in near-linear time, so it scales to
    the whole market, and with a fixed seed the same graph gives the same communities on
    every run, which alerts need. Communities larger than ``max_size`` are split again at
    twice the resolution (up to four times); those still too large, and those under
    ``min_size``, are dropped. For each community the network evidence
    (:func:`winner_rotation`, :func:`cover_bidding`, :func:`insular_group`, and a
    ``co_bidding`` summary of the significant pairs) joins the evidence on the edges
    inside it. The score (:func:`~trading.collusion.scoring.cluster_score`) is the
    noisy-OR of the strongest pairwise tie from tender evidence and the group's network
    evidence; evidence repeated across tenders raises a family's strength (the support),
    and facts about different pairs are not pooled. ``tenders_index`` maps a tender ref
    to its view.
    """
    found = []
    for community in _communities_by_name(
        graph, seed=seed, max_size=max_size, resolution=resolution
    ):
        if not min_size <= len(community) <= max_size:
            continue
        members = frozenset(community)
        group = _group(members, graph, tenders_index)
        found_here = (
            _co_bidding(members, graph, group),
            winner_rotation(group),
            cover_bidding(group, graph),
            insular_group(group, graph, tenders_index),
        )
        evidence = [item for item in found_here if item is not None]
        for _, _, data in graph.subgraph(members).edges(data=True):
            evidence.extend(data.get("evidence", ()))
        found.append(make_cluster(members, (t.ref for t in group.tenders), evidence))
    found.sort(key=lambda c: (-c.score, sorted(c.members)))
    return found


def tender_clusters(tender: TenderView, evidence: Iterable[Evidence]) -> list[Cluster]:
    """Groups of bidders in one tender tied together by red-flag evidence.

    Bidders named together in a red-flag evidence item of this tender are joined
    (union-find); every group of two or more becomes a :class:`Cluster`, with every
    evidence item of the tender naming at least two of its members (screen evidence
    included as support). Screen evidence alone, which names every bidder, forms no group.
    """
    items = [e for e in evidence if e.tender_ref == tender.ref]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item in items:
        if item.source != "red_flag" or len(item.members) < 2:
            continue
        first, *rest = sorted(item.members)
        for other in rest:
            parent[find(other)] = find(first)
    groups: dict[str, set[str]] = defaultdict(set)
    for member in parent:
        groups[find(member)].add(member)
    result = []
    for members in groups.values():
        if len(members) < 2:
            continue
        group_items = [e for e in items if len(e.members & members) >= 2]
        result.append(make_cluster(frozenset(members), (tender.ref,), group_items))
    result.sort(key=lambda c: (-c.score, sorted(c.members)))
    return result
