"""The learned score as a library: what reviews teach it, and that it is the same every time."""

from __future__ import annotations

import random

import pytest

from trading.collusion import learning
from trading.collusion.features import NAMES, tender_features
from trading.collusion.scan import scan
from trading.collusion.synthetic import generate_market


@pytest.fixture(scope="module")
def market():
    views, truth = generate_market(5, firms=150, tenders=300)
    index = {v.ref: v for v in views}
    return index, truth, tender_features(scan(views), index)


def _reviews(features, truth, seed=3, per_class=20):
    rng = random.Random(seed)
    refs = sorted(features)
    positives = rng.sample([r for r in refs if r in truth.collusive_tenders], per_class)
    negatives = rng.sample([r for r in refs if r not in truth.collusive_tenders], per_class)
    return sorted(positives + negatives)


def test_every_tender_has_every_feature(market):
    index, _, features = market
    assert set(features) == set(index)
    for row in features.values():
        assert tuple(row) == NAMES
        assert row["no_screens"] in (0.0, 1.0) and 0.0 <= row["suspicion"] <= 1.0


def test_a_confirmed_look_alike_raises_the_score_and_a_dismissed_one_lowers_it(market):
    index, truth, features = market
    # One planted cartel's tenders look alike (same firms, same ties, same prices): ten
    # are reviewed, five are not. The other reviews are the same in both trainings.
    kind, members = max(
        truth.groups(),
        key=lambda g: sum(1 for r in truth.collusive_tenders if _bidders(index[r]) & g[1]),
    )
    cartel = sorted(r for r in truth.collusive_tenders if len(_bidders(index[r]) & members) >= 2)
    group, probe = cartel[:10], cartel[10:15]
    assert len(probe) == 5
    others = [r for r in _reviews(features, truth) if r not in cartel]
    labels = [int(r in truth.collusive_tenders) for r in others]
    rows = [features[r] for r in others + group]

    def fitted(label: int) -> learning.LearnedModel:
        return learning.fit(rows, labels + [label] * len(group)).model

    confirmed, dismissed = fitted(1), fitted(0)
    for ref in probe:
        assert confirmed.score(features[ref]) > dismissed.score(features[ref]) + 0.2, kind


def _bidders(view) -> frozenset[str]:
    return frozenset(b.bidder for b in view.bids)


def test_the_score_is_the_forests_probability_and_its_explanation_adds_up(market):
    import numpy as np

    _, truth, features = market
    refs = _reviews(features, truth)
    labels = [int(r in truth.collusive_tenders) for r in refs]
    fit = learning.fit([features[r] for r in refs], labels)
    pipeline = learning._pipeline(learning.SEED)
    pipeline.fit(learning._matrix([features[r] for r in refs], NAMES), np.array(labels))
    others = sorted(set(features) - set(refs))
    expected = pipeline.predict_proba(learning._matrix([features[r] for r in others], NAMES))
    scores, contributions = fit.model.score_many([features[r] for r in others])
    assert scores == pytest.approx(expected[:, 1], abs=1e-12)
    assert scores == pytest.approx(fit.model.base + contributions.sum(axis=1), abs=1e-12)
    for ref, p in zip(others[:10], expected[:10, 1], strict=True):
        assert fit.model.score(features[ref]) == pytest.approx(p, abs=1e-12)
        every = fit.model.explain(features[ref], top=len(NAMES))
        assert fit.model.base + sum(i["contribution"] for i in every) == pytest.approx(p, abs=1e-4)
        top = fit.model.explain(features[ref])
        assert top == every[:5] and all(item["meaning"] for item in top)


def test_the_same_reviews_give_the_same_bytes_and_json_round_trips(market):
    _, truth, features = market
    refs = _reviews(features, truth)
    labels = [int(r in truth.collusive_tenders) for r in refs]
    first = learning.fit([features[r] for r in refs], labels, groups=refs)
    second = learning.fit([features[r] for r in refs], labels, groups=refs)
    assert first.model.to_json() == second.model.to_json() and first.cv_auc == second.cv_auc
    assert learning.LearnedModel.from_json(first.model.to_json()) == first.model
    other = learning.fit([features[r] for r in refs], labels, groups=refs, seed=1)
    assert other.model != first.model  # the seed is part of the model: it is stored with it
    with pytest.raises(ValueError):
        learning.fit([features[r] for r in refs[:3]], [1, 1, 1])
