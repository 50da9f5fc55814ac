"""The score that learns from auditors' reviews: too few reviews, a model, its versions."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from bench.collusion_quality import auc
from tests.trading.conftest import Market, load_market
from trading.audit import verify_chain
from trading.collusion import training
from trading.collusion.models import LearnedFirmScore, LearnedTenderScore, ScoreModel
from trading.collusion.synthetic import generate_market

MODELS = "/api/v1/collusion/models"
SCANS = "/api/v1/collusion/scans"


class Reviewed:
    """A small synthetic market in the database and the truth to review it with."""

    def __init__(self, session, seed: int = 5):
        self.views, self.truth = generate_market(seed, firms=150, tenders=300)
        load_market(session, self.views)
        self.refs = sorted(v.ref for v in self.views)
        self.collusive = [r for r in self.refs if r in self.truth.collusive_tenders]
        self.competitive = [r for r in self.refs if r not in self.truth.collusive_tenders]
        rng = random.Random(seed)
        self.pick_collusive = rng.sample(self.collusive, 25)
        self.pick_competitive = rng.sample(self.competitive, 25)


@pytest.fixture
def reviewed(session) -> Reviewed:
    return Reviewed(session)


def review_tender(client, tokens, ref, verdict, expect=201, role="auditor"):
    response = client.post(
        f"/api/v1/collusion/tenders/{ref}/reviews",
        json={"verdict": verdict, "note": "checked the files"},
        headers=tokens[role],
    )
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def review_many(client, tokens, market: Reviewed, collusive: int, competitive: int) -> None:
    for ref in market.pick_collusive[:collusive]:
        review_tender(client, tokens, ref, "collusive")
    for ref in market.pick_competitive[:competitive]:
        review_tender(client, tokens, ref, "competitive")


def train(client, tokens, expect=201, role="auditor"):
    response = client.post(MODELS, headers=tokens[role])
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def tender(client, tokens, ref):
    response = client.get(f"/api/v1/tenders/{ref}", headers=tokens["auditor"])
    assert response.status_code == 200
    return response.get_json()


def stored_scores(session) -> dict[int, float]:
    return dict(
        session.execute(select(LearnedTenderScore.tender_id, LearnedTenderScore.score)).all()
    )


def test_too_few_reviews_keep_the_unsupervised_score(client, tokens, reviewed, session):
    review_many(client, tokens, reviewed, collusive=19, competitive=25)
    refused = train(client, tokens, expect=409)
    assert refused["rule"] == "collusion.model_needs_reviews"
    assert "19" in refused["message"] and refused["errors"]["reviews"]
    assert session.scalar(select(func.count(ScoreModel.id))) == 0
    listed = client.get(MODELS, headers=tokens["auditor"]).get_json()
    assert listed["items"] == [] and listed["total"] == 0
    shown = tender(client, tokens, reviewed.collusive[-1])
    assert shown["collusion_score"]["source"] == "unsupervised"
    assert shown["collusion_score"]["score"] == shown["suspicion"]
    assert shown["collusion_score"]["model_version"] is None


def test_enough_reviews_store_a_model_that_scores_every_unreviewed_tender(
    client, tokens, reviewed, session
):
    review_many(client, tokens, reviewed, collusive=20, competitive=20)
    made = train(client, tokens)
    assert made["version"] >= 1 and made["confirmed"] == 20 and made["dismissed"] == 20
    assert made["training_tenders"] == 40 and made["tenders_scored"] == 300 - 40
    assert made["cv_auc"] is not None and 0.5 < made["cv_auc"] <= 1.0
    assert made["firms_scored"] > 100 and made["created_by"] == "auditor:test-auditor"
    listed = client.get(MODELS, headers=tokens["regulator"]).get_json()["items"]
    assert [m["version"] for m in listed] == [made["version"]]
    assert listed[0]["cv_auc"] == made["cv_auc"] and listed[0]["created_at"].endswith("+00:00")
    detail = client.get(f"{MODELS}/{made['version']}", headers=tokens["auditor"]).get_json()
    assert {f["feature"] for f in detail["features"]} >= {"cv_log", "suspicion"}
    assert detail["trees"] == 100 and 0 < detail["base"] < 1
    importance = [f["importance"] for f in detail["features"]]
    assert importance == sorted(importance, reverse=True) and sum(importance) == pytest.approx(1)

    # The unreviewed tenders carry the model's score, its version and what moved it.
    reviewed_refs = set(reviewed.pick_collusive[:20] + reviewed.pick_competitive[:20])
    unreviewed = [r for r in reviewed.refs if r not in reviewed_refs]
    shown = tender(client, tokens, unreviewed[0])["collusion_score"]
    assert shown["source"] == "model" and shown["model_version"] == made["version"]
    assert 1 <= len(shown["explanation"]) <= 5
    first = shown["explanation"][0]
    assert first["feature"] and first["meaning"] and first["contribution"] != 0
    magnitudes = [abs(item["contribution"]) for item in shown["explanation"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    own = tender(client, tokens, reviewed.pick_collusive[0])["collusion_score"]
    assert own == {
        "source": "review",
        "score": 1.0,
        "model_version": None,
        "verdict": "collusive",
        "explanation": [],
    }

    # The scores changed from the screens', and rank the planted cartels' tenders well.
    learned = {
        ref: tender(client, tokens, ref)["collusion_score"]["score"] for ref in unreviewed[:5]
    }
    assert any(learned[r] != tender(client, tokens, r)["suspicion"] for r in learned)
    scores = stored_scores(session)
    assert len(scores) == len(unreviewed)
    assert session.scalar(select(func.count(LearnedFirmScore.subject_id))) == made["firms_scored"]
    assert verify_chain(session).ok


def test_learned_scores_rank_collusive_tenders(client, tokens, reviewed, session):
    review_many(client, tokens, reviewed, collusive=20, competitive=20)
    train(client, tokens)
    from trading.models import Tender

    refs = dict(session.execute(select(Tender.id, Tender.ref)).all())
    scores = {refs[i]: s for i, s in stored_scores(session).items()}
    labels = [ref in reviewed.truth.collusive_tenders for ref in scores]
    assert auc(list(scores.values()), labels) > 0.85


def test_the_same_reviews_give_the_same_model(client, tokens, reviewed, session):
    review_many(client, tokens, reviewed, collusive=20, competitive=20)
    first = train(client, tokens)
    scores = stored_scores(session)
    params = session.get(ScoreModel, first["version"]).params
    second = train(client, tokens, role="admin")
    assert second["version"] == first["version"] + 1
    assert second["params_digest"] == first["params_digest"]
    assert second["labels_digest"] == first["labels_digest"]
    session.expire_all()
    assert session.get(ScoreModel, second["version"]).params == params
    assert stored_scores(session) == scores
    # A new review is a new model.
    review_tender(client, tokens, reviewed.pick_competitive[21], "competitive")
    third = train(client, tokens)
    assert third["labels_digest"] != first["labels_digest"]
    assert third["params_digest"] != first["params_digest"]
    session.expire_all()
    assert {m for (m,) in session.execute(select(LearnedTenderScore.model_id))} == {
        third["version"]
    }


def test_alert_reviews_are_labels_one_review_counting_once(client, tokens, session):
    market = Market(session)
    assert client.post(SCANS, json={}, headers=tokens["auditor"]).status_code == 200
    alerts = client.get("/api/v1/collusion/alerts", headers=tokens["auditor"]).get_json()["items"]
    ring = next(a for a in alerts if len(a["tenders"]) > 1)
    trio = next(a for a in alerts if a["tenders"] == [market.trio_ref])
    for alert, decision in ((ring, "confirm"), (trio, "dismiss")):
        response = client.post(
            f"/api/v1/collusion/alerts/{alert['id']}/reviews",
            json={"decision": decision, "note": "reviewed"},
            headers=tokens["auditor"],
        )
        assert response.status_code == 201
    labels = training.review_labels(session)
    assert (labels.confirmed, labels.dismissed) == (1, 1)
    assert {labels.by_ref[r].value for r in ring["tenders"]} == {1}
    assert labels.by_ref[ring["tenders"][0]].weight == pytest.approx(1 / len(ring["tenders"]))
    assert labels.by_ref[market.trio_ref].value == 0
    assert labels.reviewed_members == set(ring["members"]) | set(trio["members"])
    # A tender's own verdict overrides what an alert says of it.
    review_tender(client, tokens, ring["tenders"][0], "competitive")
    labels = training.review_labels(session)
    assert labels.by_ref[ring["tenders"][0]].value == 0
    assert labels.by_ref[ring["tenders"][0]].weight == 1.0
    assert (labels.confirmed, labels.dismissed) == (1, 2) and not labels.enough


def test_alerts_show_the_learned_score_of_their_tenders(client, tokens, session):
    market = Market(session)
    client.post(SCANS, json={}, headers=tokens["auditor"])
    honest_refs = [f"MKT-{i:03d}" for i in range(1, 41)]
    for ref in honest_refs[:20]:
        review_tender(client, tokens, ref, "competitive")
    ring_refs = [f"MKT-{i:03d}" for i in range(41, 57)]
    for ref in ring_refs[:12] + [market.trio_ref]:
        review_tender(client, tokens, ref, "collusive")
    for ref in honest_refs[20:28]:
        review_tender(client, tokens, ref, "collusive")  # mistaken, but labels all the same
    made = train(client, tokens)
    listed = client.get("/api/v1/collusion/alerts", headers=tokens["auditor"]).get_json()
    ring = next(a for a in listed["items"] if len(a["tenders"]) > 1)
    assert ring["model_version"] == made["version"] and 0 <= ring["learned_score"] <= 1
    detail = client.get(f"/api/v1/collusion/alerts/{ring['id']}", headers=tokens["auditor"])
    assert detail.get_json()["learned_score"] == ring["learned_score"]
    # The ring's members were named in no reviewed alert: each has a firm score.
    assert all(b["learned_score"] is not None for b in ring["bidders"])


def test_roles_who_may_train_review_tenders_and_read_models(client, tokens, reviewed):
    for role in ("centre", "regulator"):
        assert client.post(MODELS, headers=tokens[role]).status_code == 403
        review_tender(client, tokens, reviewed.refs[0], "collusive", expect=403, role=role)
    assert client.get(MODELS, headers=tokens["centre"]).status_code == 403
    assert client.get(MODELS).status_code == 401
    assert client.get(MODELS, headers=tokens["regulator"]).status_code == 200
    assert client.post(MODELS, headers=tokens["admin"]).status_code == 409  # no reviews yet
    assert client.get(f"{MODELS}/99", headers=tokens["auditor"]).status_code == 404
    bad = client.post(
        f"/api/v1/collusion/tenders/{reviewed.refs[0]}/reviews",
        json={"verdict": "maybe", "note": ""},
        headers=tokens["auditor"],
    )
    assert bad.status_code == 422 and {"verdict", "note"} <= set(bad.get_json()["errors"])
    missing = client.post(
        "/api/v1/collusion/tenders/NOPE-1/reviews",
        json={"verdict": "collusive", "note": "x"},
        headers=tokens["auditor"],
    )
    assert missing.status_code == 404


def test_the_cli_trains_with_progress(app, client, tokens, reviewed):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["collusion", "train"])
    assert refused.exit_code == 2 and "needs at least 20 confirmed" in refused.stderr
    review_many(client, tokens, reviewed, collusive=20, competitive=20)
    done = runner.invoke(args=["collusion", "train"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "model version" in done.output and "260 tenders" in done.output
    assert "features" in done.stderr


def test_a_market_scan_scores_new_tenders_with_the_latest_model(client, tokens, reviewed, session):
    from trading import clock
    from trading.models import Bid, Tender

    review_many(client, tokens, reviewed, collusive=20, competitive=20)
    made = train(client, tokens)
    # A tender arrives after the training: the bids of a rigged tender, once more.
    source = session.scalar(select(Tender).where(Tender.ref == reviewed.collusive[-1]))
    copy = Tender(
        ref="NEW-0001",
        title="new",
        sector=source.sector,
        region=source.region,
        estimate=source.estimate,
        tender_date=source.tender_date,
        origin="import",
        created_at=clock.now(),
    )
    session.add(copy)
    session.flush()
    bids = session.scalars(select(Bid).where(Bid.tender_id == source.id)).all()
    session.execute(
        Bid.__table__.insert(),
        [
            {
                "tender_id": copy.id,
                "bidder_id": b.bidder_id,
                "price": b.price,
                "winner": b.winner,
                "origin": "import",
                "created_at": clock.now(),
            }
            for b in bids
        ],
    )
    session.commit()
    assert tender(client, tokens, "NEW-0001")["collusion_score"]["source"] == "unsupervised"
    scanned = client.post(SCANS, json={}, headers=tokens["auditor"]).get_json()
    assert scanned["model_version"] == made["version"]
    shown = tender(client, tokens, "NEW-0001")["collusion_score"]
    assert shown["source"] == "model" and shown["model_version"] == made["version"]
    assert shown["explanation"]
    # The model itself is unchanged: a scan scores, only a training learns.
    assert session.scalar(select(func.count(ScoreModel.id))) == 1


def test_concurrent_trainings_each_store_a_version_and_one_set_of_scores(
    committed_url, backend, monkeypatch
):
    import threading

    from tests.conftest import make_app
    from trading.db import database

    app = make_app(committed_url)
    db = database(app)
    with db.transaction("test:arrange") as session:
        market = Reviewed(session)
        for ref in market.pick_collusive[:20] + market.pick_competitive[:20]:
            verdict = "collusive" if ref in market.truth.collusive_tenders else "competitive"
            training.review_tender(session, ref, {"verdict": verdict, "note": "x"}, reviewer="t")
    if backend == "postgresql":
        # Both write their scores at the same moment (SQLite runs one writer at a time).
        together = threading.Barrier(2, timeout=60)
        write = training.store_scores

        def store_together(*args, **kwargs):
            together.wait()
            return write(*args, **kwargs)

        monkeypatch.setattr(training, "store_scores", store_together)
    errors: list[BaseException] = []
    versions: list[int] = []

    def trainer() -> None:
        try:
            with db.transaction("test:auditor") as session:
                versions.append(training.train(session)["version"])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=trainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with db.transaction("test") as session:
        models = session.scalars(select(ScoreModel).order_by(ScoreModel.id)).all()
        assert sorted(versions) == [m.id for m in models] and len(models) == 2
        assert models[0].params_digest == models[1].params_digest
        owners = set(session.scalars(select(LearnedTenderScore.model_id)))
        assert len(owners) == 1 and owners <= set(versions)
        assert session.scalar(select(func.count(LearnedTenderScore.tender_id))) == 260
    db.dispose()


def test_training_runs_as_a_job_when_asked(client, tokens, reviewed):
    review_many(client, tokens, reviewed, collusive=20, competitive=20)
    started = client.post(MODELS, headers={**tokens["auditor"], "Prefer": "respond-async"})
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["kind"] == "collusion_train"
    job = client.get(started.headers["Location"], headers=tokens["auditor"]).get_json()
    assert job["state"] == "done", job
    listed = client.get(MODELS, headers=tokens["auditor"]).get_json()["items"]
    assert [m["version"] for m in listed] == [job["result"]["version"]]
    assert listed[0]["tenders_scored"] == 260
