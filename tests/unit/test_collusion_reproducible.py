"""The same market gives the same clusters in every process (alerts are keyed by members)."""

from __future__ import annotations

import os
import subprocess
import sys

# Firms bid mostly in overlapping neighbourhoods (as real firms bid near home), so the
# co-bidding graph is dense and its communities are not clear-cut: the order in which
# Louvain meets the nodes matters.
SCRIPT = """
import random
from decimal import Decimal
from trading.collusion.model import BidView, TenderView
from trading.collusion.scan import scan

rng = random.Random(3)
firms = [f"F{i:03d}" for i in range(300)]
market = []
for t in range(1500):
    start = rng.randrange(280)
    local = firms[start : start + 20]
    bidders = rng.sample(local, 10) + rng.sample(firms, 4)
    bids = tuple(
        BidView(bidder=b, price=Decimal(rng.randrange(9_000_000, 11_000_000)) / 100)
        for b in sorted(set(bidders))
    )
    market.append(TenderView(ref=f"T{t}", date=None, estimate=None, bids=bids))
for cluster in scan(market).clusters:
    print(round(cluster.score, 9), ",".join(sorted(cluster.members)))
"""


def clusters_in_a_process(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_clusters_do_not_depend_on_the_process_string_hashing():
    first = clusters_in_a_process("1")
    assert first.count("\n") > 5
    for seed in ("2", "3"):
        assert clusters_in_a_process(seed) == first
