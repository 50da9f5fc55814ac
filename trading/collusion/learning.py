"""A tender score learned from auditors' reviews: fit, score, explain.

The model is a logistic regression (scikit-learn) over the tender features of
:mod:`trading.collusion.features`, after imputing missing values by the training median
and standardising each feature. It is chosen over boosted trees for what an auditor
needs: each tender's score is ``logistic(intercept + sum(coef_i * z_i))`` with ``z_i`` the
standardised feature, so ``coef_i * z_i`` says exactly how far each feature moved this
tender's score from the typical tender's, and the parameters fit in a few hundred bytes
of JSON that any host can read back.

Reproducible: the rows are sorted by tender before fitting, the solver is deterministic
and the cross-validation folds come from a fixed seed, so the same reviews over the same
bids give the same parameters, byte for byte (:meth:`LearnedModel.to_json`).

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
#: Inverse regularisation strength: mild, as reviews are few.
C = 0.5
FOLDS = 5
ALGORITHM = "logistic_regression"

Row = Mapping[str, float | None]


@dataclass(frozen=True)
class LearnedModel:
    """The fitted parameters, enough to score and explain without scikit-learn."""

    features: tuple[str, ...]
    median: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, shortest round-trip floats): the stored bytes."""
        return json.dumps(
            {
                "algorithm": ALGORITHM,
                "features": list(self.features),
                "median": list(self.median),
                "mean": list(self.mean),
                "scale": list(self.scale),
                "coef": list(self.coef),
                "intercept": self.intercept,
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
        return cls(
            features=tuple(data["features"]),
            median=tuple(data["median"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
        )

    def _standardised(self, row: Row) -> list[float]:
        out = []
        for name, median, mean, scale in zip(
            self.features, self.median, self.mean, self.scale, strict=True
        ):
            value = row.get(name)
            x = median if value is None or not math.isfinite(value) else float(value)
            out.append((x - mean) / scale)
        return out

    def score(self, row: Row) -> float:
        """Probability in [0, 1] that the tender is collusive, as the reviews teach."""
        z = self.intercept + math.fsum(
            c * v for c, v in zip(self.coef, self._standardised(row), strict=True)
        )
        return _logistic(z)

    def explain(self, row: Row, top: int = 5) -> list[dict]:
        """The features that moved this tender's score most, strongest first.

        ``contribution`` is ``coef * z`` on the log-odds scale: positive pushes towards
        collusive, negative towards competitive, relative to a tender at the training mean.
        """
        items = []
        for name, c, z in zip(self.features, self.coef, self._standardised(row), strict=True):
            value = row.get(name)
            items.append(
                {
                    "feature": name,
                    "meaning": FEATURES.get(name, name),
                    "value": None if value is None else round(float(value), 6),
                    "contribution": round(c * z, 6),
                }
            )
        items.sort(key=lambda item: (-abs(item["contribution"]), item["feature"]))
        return [item for item in items[:top] if item["contribution"] != 0.0]


def _logistic(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


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
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed),
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
        pipeline.fit(x, y, logisticregression__sample_weight=w)
    imputer, scaler, logistic = (pipeline[i] for i in range(3))
    model = LearnedModel(
        features=tuple(names),
        median=tuple(float(v) for v in imputer.statistics_),
        mean=tuple(float(v) for v in scaler.mean_),
        scale=tuple(float(v) for v in scaler.scale_),
        coef=tuple(float(v) for v in logistic.coef_[0]),
        intercept=float(logistic.intercept_[0]),
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
            pipeline.fit(x[train], y[train], logisticregression__sample_weight=w[train])
            predicted[test] = pipeline.predict_proba(x[test])[:, 1]
    if len(set(y.tolist())) < 2:
        return None
    return float(roc_auc_score(y, predicted, sample_weight=w))
