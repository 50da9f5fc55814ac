"""Credit exchange commands: ``flask --app wsgi exchange import FILE`` and ``export FILE``."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from credit.exchange import BATCH_SIZE, ImportResult, detect_format, import_rows, read_rows
from trading.db import database

exchange_cli = AppGroup("exchange", help="Credit exchange files from other platforms.")


@exchange_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default=None,
    help="Default: from the file name (.csv, .jsonl/.ndjson).",
)
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, help="Rows per transaction.")
@click.option(
    "--show-rejected", default=20, show_default=True, help="How many rejected rows to print."
)
def import_file(file: str, fmt: str | None, batch_size: int, show_rejected: int) -> None:
    """Import an exchange FILE (JSON Lines or CSV), streamed, committing per batch.

    Exit status 0 when every row was accepted or a duplicate, 1 when some were rejected.
    """
    from trading.cli import cli_actor

    fmt = fmt or detect_format(file)
    if fmt is None:
        raise click.UsageError("cannot tell the format from the name; pass --format jsonl|csv")
    started = time.monotonic()
    interactive = sys.stderr.isatty()

    def progress(result: ImportResult) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        message = (
            f"line {result.lines:,}: {result.accepted:,} accepted, {result.duplicates:,} "
            f"duplicates, {result.rejected_total:,} rejected ({result.lines / elapsed:,.0f} "
            "lines/s)"
        )
        click.echo(("\r" + message) if interactive else message, err=True, nl=not interactive)

    stream = click.open_file(file, "rb")
    with stream, database().transaction(cli_actor()) as session:
        result = import_rows(
            session, read_rows(stream, fmt), batch_size=batch_size, progress=progress
        )
    if interactive:
        click.echo("", err=True)
    for rejected in result.rejected[:show_rejected]:
        reasons = "; ".join(
            f"{field}: {', '.join(map(str, messages))}"
            for field, messages in rejected["errors"].items()
        )
        click.echo(f"line {rejected['line']}: {reasons}")
    if result.rejected_total > show_rejected:
        click.echo(f"... and {result.rejected_total - show_rejected:,} more rejected rows")
    click.echo(
        f"{result.accepted} accepted, {result.duplicates} duplicates, "
        f"{result.rejected_total} rejected, in {time.monotonic() - started:.1f} s"
    )
    if result.rejected_total:
        sys.exit(1)


@exchange_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--after", default=0, show_default=True, help="Cursor: export changes after it")
@click.option("--masked", is_flag=True, help="Mask ID numbers (a file for the public side)")
def export_file(file: str, after: int, masked: bool) -> None:
    """Export the register as exchange rows (JSON Lines): everything, or the changes after
    a cursor. The file imports back unchanged (``exchange import``); the last line printed
    is the cursor to pass as ``--after`` next time."""
    import json

    from credit.exchange import read_feed
    from trading.cli import cli_actor

    cursor, count = after, 0
    with click.open_file(file, "w", encoding="utf-8") as out:
        while True:
            with database().transaction(cli_actor()) as session:
                page = read_feed(session, cursor, 1000, unmask=not masked)
            for item in page["items"]:
                out.write(json.dumps(item["data"], ensure_ascii=False) + "\n")
            count += len(page["items"])
            cursor = page["next"]
            if not page["more"]:
                break
    click.echo(f"{count} rows exported; next cursor {cursor}", err=True)
    click.echo(str(cursor))
