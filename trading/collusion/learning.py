"""A tender score learned from auditors' reviews: fit, score, explain.

The model is a random forest (scikit-learn) over the tender features of
:mod:`trading.collusion.features`, after imputing missing values by the training median.
Trees are chosen for what real markets show: the screens matter in opposite directions in
different markets and interact with the number of bidders and the network ties, which a
linear score cannot follow (on the two real cartel markets of the benchmark the forest
ranks unreviewed tenders better than a logistic regression; see ``bench/README.md``).

Explained per tender the way trees allow exactly: following each tree from its root to the
tender's leaf, every split moves the probability by the difference between the child's and
the parent's share of collusive reviews; summed per feature and averaged over the trees
these *contributions* add up, with the forest's base rate, to the tender's score (Saabas's
decomposition). An explanation names the features that moved the score most.

Stored as plain numbers (canonical JSON: the medians and, per tree, the split features,
thresholds, children and leaf shares), so every host scores with the same model without
unpickling code, and scores a whole market with a few numpy operations per tree level.
Trees are kept small (:data:`MAX_LEAVES` leaves) so the parameters stay a few hundred
kilobytes whatever the number of reviews.

Reproducible: the rows are sorted by tender before fitting and the forest and the
cross-validation folds draw from a fixed seed, so the same reviews over the same bids give
the same parameters, byte for byte (:meth:`LearnedModel.to_json`).

Classes are balanced (``class_weight='balanced'``): auditors confirm and dismiss in any
proportion, and the score should not follow that proportion. Rows carry a weight, so that
one review counts once however many tenders it names.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trading.collusion.features import FEATURES, NAMES

SEED = 20_261_204
TREES = 100
MAX_LEAVES = 32
MIN_LEAF = 2
FOLDS = 5
ALGORITHM = "random_forest"

Row = Mapping[str, float | None]


@dataclass(frozen=True)
class Tree:
    """One tree: per node its split feature (-1 at a leaf), threshold, children, share."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    share: tuple[float, ...]  # weighted share of collusive rows reaching the node

    def as_dict(self) -> dict:
        return {
            "feature": list(self.feature),
            "threshold": list(self.threshold),
            "left": list(self.left),
            "right": list(self.right),
            "share": list(self.share),
        }


@dataclass(frozen=True)
class LearnedModel:
    """The fitted parameters, enough to score and explain without scikit-learn."""

    features: tuple[str, ...]
    median: tuple[float, ...]
    trees: tuple[Tree, ...]
    importance: tuple[float, ...]  # the forest's impurity importance of each feature

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, shortest round-trip floats): the stored bytes."""
        return json.dumps(
            {
                "algorithm": ALGORITHM,
                "features": list(self.features),
                "median": list(self.median),
                "importance": list(self.importance),
                "trees": [tree.as_dict() for tree in self.trees],
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> LearnedModel:
        data = json.loads(text)
        if data.get("algorithm") != ALGORITHM:
            raise ValueError(f"unknown model algorithm {data.get('algorithm')!r}")
        trees = tuple(
            Tree(
                feature=tuple(t["feature"]),
                threshold=tuple(float(v) for v in t["threshold"]),
                left=tuple(t["left"]),
                right=tuple(t["right"]),
                share=tuple(float(v) for v in t["share"]),
            )
            for t in data["trees"]
        )
        return cls(tuple(data["features"]), tuple(data["median"]), trees, tuple(data["importance"]))

    @property
    def base(self) -> float:
        """The score of a tender about which the trees know nothing: the mean root share."""
        return math.fsum(tree.share[0] for tree in self.trees) / len(self.trees)

    def _matrix(self, rows: Sequence[Row]):
        import numpy as np

        x = _matrix(rows, self.features)
        x = np.where(np.isnan(x), np.array(self.median), x)
        # The trees compared single-precision values when they were grown.
        return x.astype(np.float32).astype(np.float64)

    def score_many(self, rows: Sequence[Row]):
        """Scores of ``rows`` (an array) and each feature's contribution (rows x features)."""
        import numpy as np

        x = self._matrix(rows)
        n = len(rows)
        scores = np.zeros(n)
        contributions = np.zeros((n, len(self.features)))
        every = np.arange(n)
        for tree in self.trees:
            feature = np.array(tree.feature)
            threshold = np.array(tree.threshold)
            left, right = np.array(tree.left), np.array(tree.right)
            share = np.array(tree.share)
            node = np.zeros(n, dtype=np.int64)
            while True:
                inner = feature[node] >= 0
                if not inner.any():
                    break
                rows_in = every[inner]
                at = node[inner]
                split = feature[at]
                go_left = x[rows_in, split] <= threshold[at]
                child = np.where(go_left, left[at], right[at])
                # Each row is at one node per level: no index repeats, so += is exact.
                contributions[rows_in, split] += share[child] - share[at]
                node[inner] = child
            scores += share[node]
        scale = len(self.trees)
        return scores / scale, contributions / scale

    def score(self, row: Row) -> float:
        """Probability in [0, 1] that the tender is collusive, as the reviews teach."""
        return float(self.score_many([row])[0][0])

    def explanations(self, rows: Sequence[Row], top: int = 5) -> tuple[list[float], list]:
        """Scores and explanations of ``rows`` at once (see :meth:`explain`)."""
        import numpy as np

        scores, contributions = self.score_many(rows)
        # Strongest first; equal ones in the order of the features (a stable sort).
        order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
        out = []
        for row, contribution, best in zip(rows, contributions, order, strict=True):
            items = []
            for i in best:
                c = float(contribution[i])
                if c == 0.0:
                    break
                name = self.features[i]
                value = row.get(name)
                items.append(
                    {
                        "feature": name,
                        "meaning": FEATURES.get(name, name),
                        "value": None if value is None else round(float(value), 6),
                        "contribution": round(c, 6),
                    }
                )
            out.append(items)
        return [float(s) for s in scores], out

    def explain(self, row: Row, top: int = 5) -> list[dict]:
        """The features that moved this tender's score most, strongest first.

        ``contribution`` is in score units: positive pushes towards collusive, negative
        towards competitive, from the base rate :attr:`base`; all of them add up to the
        score.
        """
        return self.explanations([row], top)[1][0]


@dataclass(frozen=True)
class Fit:
    model: LearnedModel
    cv_auc: float | None  # out-of-fold AUC, grouped by review; None when too few groups
    rows: int


def _matrix(rows: Sequence[Row], names: Sequence[str]):
    import numpy as np

    return np.array(
        [[math.nan if r.get(n) is None else float(r[n]) for n in names] for r in rows],
        dtype=float,
    )


def _pipeline(seed: int):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        RandomForestClassifier(
            n_estimators=TREES,
            min_samples_leaf=MIN_LEAF,
            max_leaf_nodes=MAX_LEAVES,
            class_weight="balanced",
            random_state=seed,
            n_jobs=1,
        ),
    )


def _tree(estimator) -> Tree:
    tree = estimator.tree_
    value = tree.value[:, 0, :]
    totals = value.sum(axis=1)
    share = [float(v[1] / t) if t > 0 else 0.0 for v, t in zip(value, totals, strict=True)]
    feature = [
        int(f) if left >= 0 else -1
        for f, left in zip(tree.feature, tree.children_left, strict=True)
    ]
    return Tree(
        feature=tuple(feature),
        threshold=tuple(
            float(t) if f >= 0 else 0.0 for t, f in zip(tree.threshold, feature, strict=True)
        ),
        left=tuple(int(v) for v in tree.children_left),
        right=tuple(int(v) for v in tree.children_right),
        share=tuple(share),
    )


def fit(
    rows: Sequence[Row],
    labels: Sequence[int],
    *,
    weights: Sequence[float] | None = None,
    groups: Sequence[str] | None = None,
    seed: int = SEED,
    names: Sequence[str] = NAMES,
) -> Fit:
    """Fit the model on labelled rows (1 collusive, 0 competitive), in the order given.

    ``groups`` name the review behind each row: cross-validation keeps a review's rows in
    one fold, so a network alert's many tenders do not vouch for each other.
    """
    import numpy as np

    x = _matrix(rows, names)
    y = np.array(labels, dtype=int)
    w = np.ones(len(y)) if weights is None else np.array(weights, dtype=float)
    if len(set(y.tolist())) < 2:
        raise ValueError("both classes are needed to fit")
    pipeline = _pipeline(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(x, y, randomforestclassifier__sample_weight=w)
    imputer, forest = pipeline[0], pipeline[1]
    model = LearnedModel(
        features=tuple(names),
        median=tuple(float(v) for v in imputer.statistics_),
        trees=tuple(_tree(e) for e in forest.estimators_),
        importance=tuple(float(v) for v in forest.feature_importances_),
    )
    return Fit(model, _cv_auc(x, y, w, groups, seed), len(y))


def _cv_auc(x, y, w, groups: Sequence[str] | None, seed: int) -> float | None:
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    group_ids = np.array(list(groups) if groups is not None else [str(i) for i in range(len(y))])
    per_class = [len(set(group_ids[y == k].tolist())) for k in (0, 1)]
    folds = min(FOLDS, *per_class)
    if folds < 2:
        return None
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = np.zeros(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in splitter.split(x, y, group_ids):
            if len(set(y[train].tolist())) < 2:
                return None
            pipeline = _pipeline(seed)
            pipeline.fit(x[train], y[train], randomforestclassifier__sample_weight=w[train])
            predicted[test] = pipeline.predict_proba(x[test])[:, 1]
    if len(set(y.tolist())) < 2:
        return None
    return float(roc_auc_score(y, predicted, sample_weight=w))
