"""Tender commands: ``flask --app wsgi trading import-bids FILE``."""

from __future__ import annotations

import io
import sys

import click
from flask.cli import AppGroup

from trading.bids_import import ImportReport, Rejected, import_bids
from trading.cli import cli_actor, fail
from trading.db import database
from trading.errors import ServiceError

trading_cli = AppGroup("trading", help="Tenders and bids.")


@trading_cli.command("import-bids")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def import_bids_command(path: str, batch_size: int) -> None:
    """Import historical bids from a CSV file (see trading/bids_import.py for the columns).

    Each batch is committed once applied, so an interrupted import keeps what it has done
    and a re-run reports those rows as duplicates. Rejected rows are printed with their
    line number; the exit status is 1 when any row was rejected.
    """
    db = database()

    def progress(report: ImportReport, rejected: list[Rejected]) -> None:
        session.commit()
        for item in rejected:
            reasons = "; ".join(f"{k}: {', '.join(v)}" for k, v in item.errors.items())
            click.echo(f"line {item.line}: {reasons}", err=True)
        click.echo(
            f"... {report.lines} rows: {report.accepted} accepted, "
            f"{report.duplicates} duplicates, {report.rejected_total} rejected",
            err=True,
        )

    # newline="" lets the csv module see quoted line breaks; utf-8-sig drops a BOM.
    if path == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    else:
        stream = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    try:
        with stream, db.transaction(cli_actor()) as session:
            report = import_bids(session, stream, batch_size=batch_size, on_batch=progress)
    except ServiceError as error:
        fail(error)
    click.echo(
        f"imported {report.accepted} bids ({report.duplicates} duplicates, "
        f"{report.rejected_total} rejected); created {report.tenders_created} tenders and "
        f"{report.bidders_created} bidders"
    )
    if report.rejected_total:
        sys.exit(1)
