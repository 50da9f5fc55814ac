"""Collusive bidding (围标串标) detection: a pure analysis library.

No Flask and no database here: the service layer feeds plain dataclasses
(:mod:`trading.collusion.model`) and stores what comes back.

- :mod:`~trading.collusion.red_flags`: deemed collusion inside one tender
  (招标投标法实施条例 art. 40) and project managers busy elsewhere;
- :mod:`~trading.collusion.screens`: price screens per tender (Imhof/Huber) and a
  per-tender suspicion;
- :mod:`~trading.collusion.network`: the co-bidding network across tenders and its
  clusters;
- :mod:`~trading.collusion.scan`: the whole pipeline in one call;
- :mod:`~trading.collusion.features` and :mod:`~trading.collusion.learning`: the tender
  features and the score learned from auditors' reviews (fit, score, explain); the service
  side, labels, versions and stored scores, is :mod:`~trading.collusion.training`;
- :mod:`~trading.collusion.synthetic`: a synthetic market with planted cartels, for
  tests and the quality benchmark.
"""
