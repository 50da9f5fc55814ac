"""How well the collusion pipeline finds planted cartels, and how fast.

Runs :func:`trading.collusion.synthetic.generate_market` for a few seeds, the full
pipeline (:func:`trading.collusion.scan.scan`: red flags, screens, network, clusters) on
each market, and prints:

- firm level: precision and recall of the firms named in alerts (clusters scoring at
  least the threshold) against the planted cartel members;
- cluster level: an alert is correct when most of its members belong to one cartel
  (and at least two do); precision over alerts, recall over cartels, per kind;
- tender level: the AUC of each tender's suspicion (screens and red flags only) against
  the rigged tenders, and of the same raised by the best alert among its bidders;
- timings of generation and scan, and peak memory.

    .venv/bin/python bench/collusion_quality.py                 # default size, 3 seeds
    .venv/bin/python bench/collusion_quality.py --scale         # also 100k tenders / ~1M bids
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trading.collusion.model import Cluster, TenderView  # noqa: E402
from trading.collusion.scan import ALERT_THRESHOLD, ScanResult, is_alert, scan  # noqa: E402
from trading.collusion.synthetic import Truth, generate_market  # noqa: E402


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve by the rank statistic (Mann-Whitney U), ties averaged."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # average 1-based rank of the tie block
        i = j + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def firm_scores(alerts: list[Cluster], truth: Truth) -> tuple[float, float, int]:
    named = frozenset().union(*(c.members for c in alerts)) if alerts else frozenset()
    members = truth.members()
    hits = len(named & members)
    return _ratio(hits, len(named)), _ratio(hits, len(members)), len(named)


def cluster_scores(alerts: list[Cluster], truth: Truth) -> tuple[float, float, dict[str, str]]:
    groups = truth.groups()

    def match(cluster: Cluster) -> int | None:
        for i, (_, members) in enumerate(groups):
            inside = len(cluster.members & members)
            if inside >= 2 and inside * 2 >= len(cluster.members):
                return i
        return None

    matched = [match(c) for c in alerts]
    found = {i for i in matched if i is not None}
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, (kind, _) in enumerate(groups):
        per_kind[kind][1] += 1
        per_kind[kind][0] += i in found
    kinds = {kind: f"{hit}/{total}" for kind, (hit, total) in per_kind.items()}
    correct = sum(m is not None for m in matched)
    return _ratio(correct, len(alerts)), _ratio(len(found), len(groups)), kinds


def tender_aucs(tenders: list[TenderView], result: ScanResult, truth: Truth) -> tuple[float, float]:
    clusters_of: dict[str, list[Cluster]] = defaultdict(list)
    for cluster in result.clusters:
        for member in cluster.members:
            clusters_of[member].append(cluster)
    own, combined, labels = [], [], []
    for tender in tenders:
        finding = result.tenders[tender.ref]
        own.append(finding.suspicion)
        # A tender inherits the best score of a cluster with two of its bidders in it.
        bidders = {b.bidder for b in tender.bids}
        candidates = {id(c): c for b in bidders for c in clusters_of.get(b, ())}
        best = max(
            (c.score for c in candidates.values() if len(c.members & bidders) >= 2), default=0.0
        )
        combined.append(max(finding.suspicion, best))
        labels.append(tender.ref in truth.collusive_tenders)
    return auc(own, labels), auc(combined, labels)


def run(
    seed: int,
    firms: int,
    tenders: int,
    threshold: float,
    bids_per_tender: tuple[int, int] = (3, 12),
) -> dict:
    started = time.perf_counter()
    market, truth = generate_market(
        seed, firms=firms, tenders=tenders, bids_per_tender=bids_per_tender
    )
    generated = time.perf_counter()
    stages: dict[str, float] = {}

    def progress(stage: str, _count: int) -> None:
        stages[stage] = time.perf_counter() - generated

    cpu = time.process_time()
    result = scan(market, progress=progress)
    scanned = time.perf_counter()
    cpu = time.process_time() - cpu
    row = {
        "seed": seed,
        "tenders": len(market),
        "bids": sum(len(t.bids) for t in market),
        "cartels": len(truth.groups()),
        "rigged": len(truth.collusive_tenders),
        "generate_s": generated - started,
        "scan_s": scanned - generated,
        "scan_cpu_s": cpu,
        "stages": stages,
        "edges": result.graph.number_of_edges(),
        "clusters": len(result.clusters),
    }
    alerts = [c for c in result.clusters if is_alert(c, threshold)]
    row["alerts"] = len(alerts)
    row["firm_p"], row["firm_r"], row["firms_named"] = firm_scores(alerts, truth)
    row["cluster_p"], row["cluster_r"], row["kinds"] = cluster_scores(alerts, truth)
    row["auc_tender"], row["auc_network"] = tender_aucs(market, result, truth)
    row["sweep"] = []
    for level in (0.5, 0.6, 0.7, 0.8, 0.9):
        chosen = [c for c in result.clusters if c.score >= level]
        fp, fr, _ = firm_scores(chosen, truth)
        cp, cr, _ = cluster_scores(chosen, truth)
        row["sweep"].append((level, len(chosen), fp, fr, cp, cr))
    return row


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(row: dict) -> None:
    print(
        f"\nseed {row['seed']}: {row['tenders']} tenders, {row['bids']} bids, {row['cartels']} "
        f"cartels rigging {row['rigged']} tenders; graph {row['edges']} edges, "
        f"{row['clusters']} clusters, {row['alerts']} alerts"
    )
    print(
        f"  firms     precision {row['firm_p']:.3f}  recall {row['firm_r']:.3f}  "
        f"({row['firms_named']} named)"
    )
    kinds = "  ".join(f"{k} {v}" for k, v in sorted(row["kinds"].items()))
    print(
        f"  clusters  precision {row['cluster_p']:.3f}  recall {row['cluster_r']:.3f}  "
        f"found by kind: {kinds}"
    )
    print(
        f"  tenders   AUC suspicion {row['auc_tender']:.3f}  "
        f"AUC with alerts {row['auc_network']:.3f}"
    )
    print(
        f"  time      generate {row['generate_s']:.1f} s  scan {row['scan_s']:.1f} s "
        f"(CPU {row['scan_cpu_s']:.1f} s; "
        + ", ".join(f"{k} done at {v:.1f} s" for k, v in row["stages"].items())
        + ")"
    )
    print("  threshold  alerts  firm P  firm R  cluster P  cluster R")
    for level, count, fp, fr, cp, cr in row["sweep"]:
        print(f"  {level:>9.1f}  {count:>6}  {fp:6.3f}  {fr:6.3f}  {cp:9.3f}  {cr:9.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--firms", type=int, default=2000)
    parser.add_argument("--tenders", type=int, default=10000)
    parser.add_argument("--threshold", type=float, default=ALERT_THRESHOLD)
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also 10k and 100k tenders of 5-15 bids (about 100k and 1M bids)",
    )
    args = parser.parse_args(argv)

    print(
        f"Collusion quality: {args.firms} firms, {args.tenders} tenders, "
        f"alert threshold {args.threshold}"
    )
    rows = [run(seed, args.firms, args.tenders, args.threshold) for seed in args.seeds]
    for row in rows:
        report(row)

    def mean(key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)

    print(
        f"\nmean over {len(rows)} seeds: firm precision {mean('firm_p'):.3f} recall "
        f"{mean('firm_r'):.3f}; cluster precision {mean('cluster_p'):.3f} recall "
        f"{mean('cluster_r'):.3f}; tender AUC {mean('auc_tender'):.3f} "
        f"(with alerts {mean('auc_network'):.3f}); generate {mean('generate_s'):.1f} s, "
        f"scan {mean('scan_s'):.1f} s (CPU {mean('scan_cpu_s'):.1f} s); "
        f"peak memory {_peak_mib():.0f} MiB"
    )

    if args.scale:
        print("\nScale: 10x the firms and tenders, 5-15 bids a tender")
        small = run(7, 2_000, 10_000, args.threshold, bids_per_tender=(5, 15))
        report(small)
        large = run(7, 20_000, 100_000, args.threshold, bids_per_tender=(5, 15))
        report(large)
        for clock in ("scan_s", "scan_cpu_s"):
            ratio = (large[clock] / large["bids"]) / (small[clock] / small["bids"])
            print(
                f"  {clock}: cost per bid at {large['bids']} over {small['bids']} bids {ratio:.2f}x"
            )
        print(f"  peak memory {_peak_mib():.0f} MiB (the market itself included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
