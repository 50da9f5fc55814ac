"""Collusion scan command: ``flask --app wsgi collusion scan``."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from trading.cli import cli_actor, fail
from trading.collusion import services, training
from trading.db import database
from trading.errors import ServiceError

collusion_cli = AppGroup("collusion", help="Collusion scans.")

_STAGES = {
    "tenders indexed": "tenders indexed (who bid, who won)",
    "common values": "fingerprint values common to many bidders",
    "tenders": "tenders read (red flags and screens)",
    "edges": "co-bidding edges",
    "clusters": "clusters",
}


@collusion_cli.command("scan")
@click.option("--tender", "tender_ref", default=None, help="Scan this tender only")
@click.option(
    "--min-score",
    default=services.ALERT_MIN_SCORE,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Score from which a group becomes an alert",
)
def scan_command(tender_ref: str | None, min_score: float) -> None:
    """Scan the whole market (or one tender) and raise alerts; progress on stderr."""
    started = time.perf_counter()

    def progress(stage: str, count: int) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"[{elapsed:7.1f}s] {count:>10,} {_STAGES.get(stage, stage)}", err=True)

    try:
        with database().transaction(cli_actor()) as session:
            if tender_ref:
                result = services.scan_tender(session, tender_ref, min_score=min_score)
            else:
                result = services.scan_market(session, progress=progress, min_score=min_score)
    except ServiceError as error:
        fail(error)
    click.echo(
        f"scanned {result['tenders']} tenders, {result['bids']} bids: "
        f"{result['clusters']} clusters; alerts {result['alerts_created']} new, "
        f"{result['alerts_updated']} updated, {result['alerts_unchanged']} unchanged, "
        f"{result['alerts_suppressed']} suppressed (already reviewed) "
        f"in {result['seconds']:.1f}s"
    )


@collusion_cli.command("train")
def train_command() -> None:
    """Learn a score from the auditors' reviews and score every unreviewed tender and firm."""
    started = time.perf_counter()

    def report(stage: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"[{elapsed:7.1f}s] {stage}: {done:,} of {total:,}", err=True)

    try:
        with database().transaction(cli_actor()) as session:
            result = training.train(session, report)
    except ServiceError as error:
        fail(error)
    auc = "n/a" if result["cv_auc"] is None else f"{result['cv_auc']:.3f}"
    click.echo(
        f"model version {result['version']}: learned from {result['confirmed']} confirmed and "
        f"{result['dismissed']} dismissed reviews ({result['training_tenders']} tenders), "
        f"cross-validated AUC {auc}; scored {result['tenders_scored']} tenders and "
        f"{result['firms_scored']} firms in {result['seconds']:.1f}s"
    )
