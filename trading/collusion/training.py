"""The learned score: labels from reviews, a model per training, scores for the rest.

Labels. A confirmed alert says its tenders were rigged (label 1), a dismissed one that
they were not (label 0); an auditor's verdict on a tender (:class:`TenderReview`, the
latest counts) says so directly and overrides what alerts say about that tender. A tender
in both a confirmed and a dismissed alert is taken as rigged: the confirmation found
collusion there. Each review counts once: the rows of an alert naming ``k`` tenders weigh
``1 / k`` each, a tender's own review weighs 1.

Threshold. With fewer than :data:`MIN_CONFIRMED` positive reviews (confirmed alerts and
tenders found collusive) or :data:`MIN_DISMISSED` negative ones, :func:`train` refuses and
no model exists: the unsupervised score stands.

Training (:func:`train`) scans the market in memory with the library's own scan, computes
the tender features (:mod:`trading.collusion.features`), fits the model
(:mod:`trading.collusion.learning`) on the labelled tenders, stores it as a new version
and replaces the stored scores: every tender without an auditor's verdict of its own gets
the model's score and its explanation (a tender named by a reviewed alert too: the review
judged the group, not each tender); every bidder not named in a reviewed alert gets the
mean score of the tenders it bid in (a tender with a verdict counting as its label). Same
reviews over the same bids, same model bytes and same scores. Each market scan then scores
the tenders again with the latest model (:func:`rescore`), so new tenders are scored too.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from credit.models import Subject
from trading import audit, clock
from trading.collusion import learning, store
from trading.collusion.features import tender_features
from trading.collusion.model import TenderView
from trading.collusion.models import (
    Alert,
    LearnedFirmScore,
    LearnedTenderScore,
    ScoreModel,
    TenderReview,
)
from trading.collusion.scan import ScanResult, scan
from trading.db import storable_id
from trading.errors import Conflict, NotFound
from trading.models import Tender
from trading.pagination import paginate

MIN_CONFIRMED = 20
MIN_DISMISSED = 20
#: Features named in each tender's explanation.
EXPLAIN_TOP = 5
#: Tenders scored per batch (one pass of numpy operations per tree level).
SCORE_CHUNK = 20_000

Report = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Label:
    value: int  # 1 collusive, 0 competitive
    weight: float
    group: str  # the review behind it: 'tender:<ref>' or 'alert:<id>'


@dataclass(frozen=True)
class Labels:
    by_ref: dict[str, Label]
    confirmed: int  # positive reviews
    dismissed: int  # negative reviews
    reviewed_members: frozenset[str]  # USCCs named in reviewed alerts

    def digest(self) -> str:
        lines = [
            f"{ref}|{label.value}|{label.weight!r}|{label.group}"
            for ref, label in sorted(self.by_ref.items())
        ]
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()

    @property
    def enough(self) -> bool:
        return self.confirmed >= MIN_CONFIRMED and self.dismissed >= MIN_DISMISSED


def latest_tender_reviews(session: Session) -> dict[int, TenderReview]:
    """Tender id -> its latest review."""
    latest = (
        select(TenderReview.tender_id, func.max(TenderReview.id).label("id"))
        .group_by(TenderReview.tender_id)
        .subquery()
    )
    rows = session.scalars(select(TenderReview).join(latest, latest.c.id == TenderReview.id))
    return {row.tender_id: row for row in rows}


def review_labels(session: Session) -> Labels:
    """The labels the reviews give, per tender ref (see the module docstring)."""
    by_ref: dict[str, Label] = {}
    confirmed = dismissed = 0
    members: set[str] = set()
    alerts = session.scalars(
        select(Alert).where(Alert.status.in_(("confirmed", "dismissed"))).order_by(Alert.id)
    ).all()
    for alert in alerts:
        value = 1 if alert.status == "confirmed" else 0
        confirmed += value
        dismissed += 1 - value
        members.update(alert.members)
        refs = list(alert.tenders)
        for ref in refs:
            label = Label(value, 1.0 / len(refs), f"alert:{alert.id}")
            held = by_ref.get(ref)
            if held is None or (label.value, label.weight) > (held.value, held.weight):
                by_ref[ref] = label
    reviews = latest_tender_reviews(session)
    if reviews:
        refs_of = dict(
            session.execute(select(Tender.id, Tender.ref).where(Tender.id.in_(list(reviews)))).all()
        )
        for tender_id, review in reviews.items():
            value = 1 if review.verdict == "collusive" else 0
            confirmed += value
            dismissed += 1 - value
            ref = refs_of[tender_id]
            by_ref[ref] = Label(value, 1.0, f"tender:{ref}")
    return Labels(by_ref, confirmed, dismissed, frozenset(members))


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def train(session: Session, report: Report | None = None, *, now: datetime | None = None) -> dict:
    """Fit a new model version from the reviews and score every unreviewed tender and firm.

    ``report(stage, done, total)`` is told how far each stage is. Refused (409
    ``collusion.model_needs_reviews``) below the review threshold: no model is stored.
    """
    report = report or _quiet
    now = now or clock.now()
    started = time.perf_counter()
    report("labels", 0, 1)
    labels = review_labels(session)
    report("labels", 1, 1)
    if not labels.enough:
        raise Conflict(
            f"A learned score needs at least {MIN_CONFIRMED} confirmed and {MIN_DISMISSED} "
            f"dismissed reviews (alerts or tenders); there are {labels.confirmed} and "
            f"{labels.dismissed}. Until then the unsupervised score stands.",
            errors={
                "reviews": [
                    f"confirmed {labels.confirmed} of {MIN_CONFIRMED}",
                    f"dismissed {labels.dismissed} of {MIN_DISMISSED}",
                ]
            },
            rule="collusion.model_needs_reviews",
        )
    metas = store.tender_metas(session)
    ids_by_ref = {meta.ref: tender_id for tender_id, meta in metas.items()}
    index = {}
    for count, (_, view) in enumerate(store.tender_views(session, metas=metas), 1):
        index[view.ref] = view
        if count % 10_000 == 0:
            report("tenders read", count, len(metas))
    report("tenders read", len(index), len(metas))
    result = scan(index.values())
    report("scanned", 1, 1)
    features = tender_features(result, index)
    report("features", len(features), len(index))

    training = sorted(ref for ref in labels.by_ref if ref in features)
    rows = [features[ref] for ref in training]
    targets = [labels.by_ref[ref].value for ref in training]
    if len(set(targets)) < 2:
        raise Conflict(
            "The reviewed tenders have no bids to learn from on one side (all collusive or "
            "all competitive); review tenders with bids.",
            errors={"reviews": ["both verdicts needed on tenders with bids"]},
            rule="collusion.model_needs_reviews",
        )
    fitted = learning.fit(
        rows,
        targets,
        weights=[labels.by_ref[ref].weight for ref in training],
        groups=[labels.by_ref[ref].group for ref in training],
    )
    report("fitted", 1, 1)
    model = fitted.model
    version = ScoreModel(
        algorithm=learning.ALGORITHM,
        seed=learning.SEED,
        params=model.to_json(),
        params_digest=model.digest(),
        labels_digest=labels.digest(),
        confirmed=labels.confirmed,
        dismissed=labels.dismissed,
        training_tenders=fitted.rows,
        cv_auc=fitted.cv_auc,
        tenders_scored=0,
        firms_scored=0,
        created_by=session.info.get("actor", "system"),
        created_at=now,
    )
    session.add(version)
    session.flush()

    tenders_scored, firms_scored = store_scores(
        session, model, version.id, features, labels, index, ids_by_ref, report
    )
    version.tenders_scored = tenders_scored
    version.firms_scored = firms_scored
    summary = model_out(version)
    audit.record(
        session,
        "collusion.model.train",
        "collusion_model",
        version.id,
        after={k: v for k, v in summary.items() if k != "created_at"},
    )
    return {**summary, "seconds": round(time.perf_counter() - started, 3)}


def store_scores(
    session: Session,
    model: learning.LearnedModel,
    model_id: int,
    features: dict[str, dict],
    labels: Labels,
    index: dict[str, TenderView],
    ids_by_ref: dict[str, int],
    report: Report = _quiet,
) -> tuple[int, int]:
    """Replace the stored tender and firm scores with ``model``'s; how many of each.

    Trainings and scans finishing at once would each delete the scores the other has not
    yet committed and then insert the same tenders twice: the second waits here for the
    first to commit, then replaces its scores.
    """
    store.one_writer_at_a_time(session, store.SCORE_WRITER_LOCK)
    tender_scores: dict[str, float] = {}
    scored = []
    for ref in sorted(features):
        label = labels.by_ref.get(ref)
        if label is not None and label.group.startswith("tender:"):
            tender_scores[ref] = float(label.value)
        else:
            scored.append(ref)
    tender_rows = []
    for chunk in store._chunks(scored, SCORE_CHUNK):
        scores, explanations = model.explanations([features[r] for r in chunk], EXPLAIN_TOP)
        for ref, score, explanation in zip(chunk, scores, explanations, strict=True):
            tender_scores[ref] = score
            tender_rows.append(
                {
                    "tender_id": ids_by_ref[ref],
                    "model_id": model_id,
                    "score": score,
                    "explanation": explanation,
                }
            )
    session.execute(delete(LearnedTenderScore))
    for chunk in store._chunks(tender_rows, store.WRITE_CHUNK):
        session.execute(LearnedTenderScore.__table__.insert(), list(chunk))
    report("tenders scored", len(tender_rows), len(tender_rows))
    firm_rows = _firm_rows(session, index.values(), tender_scores, labels, model_id)
    session.execute(delete(LearnedFirmScore))
    for chunk in store._chunks(firm_rows, store.WRITE_CHUNK):
        session.execute(LearnedFirmScore.__table__.insert(), list(chunk))
    report("firms scored", len(firm_rows), len(firm_rows))
    return len(tender_rows), len(firm_rows)


def rescore(
    session: Session, result: ScanResult, index: dict[str, TenderView], ids_by_ref: dict
) -> int | None:
    """After a market scan: score every tender again with the latest model, if there is one.

    New tenders get a learned score at once, and every score follows the new bids; the
    model itself changes only when it is trained again. Returns the version used.
    """
    latest = session.scalar(select(ScoreModel).order_by(ScoreModel.id.desc()).limit(1))
    if latest is None:
        return None
    model = learning.LearnedModel.from_json(latest.params)
    features = tender_features(result, index)
    store_scores(session, model, latest.id, features, review_labels(session), index, ids_by_ref)
    return latest.id


def firm_scores(
    views: Iterable, tender_scores: dict[str, float], reviewed: dict[str, bool]
) -> dict[str, tuple[float, int, list[dict]]]:
    """USCC -> (mean score of its tenders, how many, its three highest tenders)."""
    per_firm: dict[str, dict[str, float]] = defaultdict(dict)
    for view in views:
        score = tender_scores.get(view.ref)
        if score is None:
            continue
        for bid in view.bids:
            per_firm[bid.bidder][view.ref] = score
    found = {}
    for firm, scores in per_firm.items():
        highest = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:3]
        found[firm] = (
            sum(scores.values()) / len(scores),
            len(scores),
            [
                {"tender": ref, "score": round(s, 6), "reviewed": reviewed.get(ref, False)}
                for ref, s in highest
            ],
        )
    return found


def _firm_rows(
    session: Session, views: Iterable, tender_scores: dict[str, float], labels: Labels, model_id
) -> list[dict]:
    reviewed = {
        ref: True for ref, label in labels.by_ref.items() if label.group.startswith("tender:")
    }
    scores = firm_scores(views, tender_scores, reviewed)
    usccs = sorted(u for u in scores if u not in labels.reviewed_members)
    ids: dict[str, int] = {}
    for chunk in store._chunks(usccs, 5000):
        ids.update(
            session.execute(select(Subject.uscc, Subject.id).where(Subject.uscc.in_(chunk))).all()
        )
    rows = []
    for uscc in usccs:
        if uscc not in ids:
            continue
        score, count, highest = scores[uscc]
        rows.append(
            {
                "subject_id": ids[uscc],
                "model_id": model_id,
                "score": score,
                "tenders": count,
                "explanation": {"mean_of_tenders": count, "highest": highest},
            }
        )
    return rows


# --- reading -------------------------------------------------------------------------


def model_out(model: ScoreModel, *, features: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": model.id,
        "algorithm": model.algorithm,
        "seed": model.seed,
        "cv_auc": model.cv_auc,
        "confirmed": model.confirmed,
        "dismissed": model.dismissed,
        "training_tenders": model.training_tenders,
        "tenders_scored": model.tenders_scored,
        "firms_scored": model.firms_scored,
        "params_digest": model.params_digest,
        "labels_digest": model.labels_digest,
        "created_by": model.created_by,
        "created_at": model.created_at,
    }
    if features:
        params = learning.LearnedModel.from_json(model.params)
        out["base"] = params.base
        out["trees"] = len(params.trees)
        out["features"] = sorted(
            (
                {"feature": name, "meaning": learning.FEATURES.get(name, name), "importance": v}
                for name, v in zip(params.features, params.importance, strict=True)
            ),
            key=lambda item: (-item["importance"], item["feature"]),
        )
    return out


def models_page(session: Session, args: dict) -> dict:
    stmt = select(ScoreModel).order_by(ScoreModel.id.desc())
    page = paginate(session, stmt, args["page"], args["page_size"])
    return {**page, "items": [model_out(m) for m in page["items"]]}


def get_model(session: Session, version: int) -> ScoreModel:
    model = session.get(ScoreModel, version) if storable_id(version) else None
    if model is None:
        raise NotFound(f"No collusion model version {version}.", rule="collusion.model_exists")
    return model


def tender_score(session: Session, tender: Tender, suspicion: float) -> dict[str, Any]:
    """What scores a tender now: an auditor's verdict, the latest model, or the screens."""
    review = latest_tender_reviews_of(session, [tender.id]).get(tender.id)
    if review is not None:
        return {
            "source": "review",
            "score": 1.0 if review.verdict == "collusive" else 0.0,
            "model_version": None,
            "verdict": review.verdict,
            "explanation": [],
        }
    learned = session.get(LearnedTenderScore, tender.id)
    if learned is not None:
        return {
            "source": "model",
            "score": learned.score,
            "model_version": learned.model_id,
            "verdict": None,
            "explanation": list(learned.explanation),
        }
    return {
        "source": "unsupervised",
        "score": suspicion,
        "model_version": None,
        "verdict": None,
        "explanation": [],
    }


def latest_tender_reviews_of(session: Session, tender_ids: list[int]) -> dict[int, TenderReview]:
    if not tender_ids:
        return {}
    latest = (
        select(func.max(TenderReview.id))
        .where(TenderReview.tender_id.in_(tender_ids))
        .group_by(TenderReview.tender_id)
    )
    rows = session.scalars(select(TenderReview).where(TenderReview.id.in_(latest)))
    return {row.tender_id: row for row in rows}


def learned_alert_scores(session: Session, alerts: Iterable[Alert]) -> dict[int, tuple]:
    """Alert id -> (mean learned score of its scored tenders, model version), where scored."""
    alerts = list(alerts)
    refs = sorted({ref for a in alerts for ref in a.tenders})
    if not refs:
        return {}
    found: dict[str, tuple[float, int]] = {}
    for chunk in store._chunks(refs, 5000):
        rows = session.execute(
            select(Tender.ref, LearnedTenderScore.score, LearnedTenderScore.model_id)
            .join(LearnedTenderScore, LearnedTenderScore.tender_id == Tender.id)
            .where(Tender.ref.in_(chunk))
        )
        found.update({ref: (score, model_id) for ref, score, model_id in rows})
    out = {}
    for alert in alerts:
        scored = [found[r] for r in alert.tenders if r in found]
        if scored:
            out[alert.id] = (sum(s for s, _ in scored) / len(scored), max(m for _, m in scored))
    return out


def review_tender(
    session: Session, ref: str, data: dict, *, reviewer: str, now: datetime | None = None
) -> dict:
    """Record an auditor's verdict on a tender (a label for the next training)."""
    from trading.services import get_tender

    tender = get_tender(session, ref)
    review = TenderReview(
        tender_id=tender.id,
        verdict=data["verdict"],
        note=data["note"].strip(),
        reviewer=reviewer,
        reviewed_at=now or clock.now(),
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        "collusion.tender.review",
        "tender",
        tender.ref,
        after={"verdict": review.verdict, "note": review.note, "review_id": review.id},
    )
    return tender_review_out(tender.ref, review)


def tender_review_out(ref: str, review: TenderReview) -> dict:
    return {
        "id": review.id,
        "tender": ref,
        "verdict": review.verdict,
        "note": review.note,
        "reviewer": review.reviewer,
        "reviewed_at": review.reviewed_at,
    }
