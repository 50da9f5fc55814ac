"""Command line: ``flask --app wsgi …`` (or the ``gongxin`` console script)."""

from __future__ import annotations

import getpass
import random
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import select

from trading import audit, migrate
from trading.auth import create_token, list_tokens, revoke_token
from trading.db import database
from trading.errors import ServiceError


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return f"cli:{user}"


def fail(error: ServiceError) -> None:
    click.echo(f"error: {error.message}", err=True)
    for field, messages in (error.errors or {}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            click.echo(f"  {field}: {message}", err=True)
    sys.exit(2)


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)


@db_cli.command("heads")
def db_heads() -> None:
    """Show the head revision(s) of the migration scripts."""
    for head in migrate.heads():
        click.echo(head)


tokens_cli = AppGroup("tokens", help="API tokens.")


@tokens_cli.command("create")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "centre", "regulator", "auditor"])
)
@click.option("--org", default=None, help="USCC of the organisation (required for centre)")
@click.option(
    "--authority",
    default=None,
    help="The authority a regulator acts for: only it lifts, revokes or repairs its decisions",
)
@click.option("--name", required=True)
def tokens_create(role: str, org: str | None, authority: str | None, name: str) -> None:
    """Create a token; the secret is printed once, alone on the last line."""
    try:
        with database().transaction(cli_actor()) as session:
            secret = create_token(session, name=name, role=role, org=org, authority=authority)
    except ServiceError as error:
        fail(error)
    click.echo(
        f"token {name!r} ({role}{', ' + org if org else ''}"
        f"{', ' + authority if authority else ''}) created; "
        "the secret below is shown only once:"
    )
    click.echo(secret)


@tokens_cli.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    with database().transaction(cli_actor()) as session:
        for token in list_tokens(session):
            state = "revoked" if token.revoked_at else "active"
            click.echo(f"{token.name}\t{token.role}\t{token.org_uscc or '-'}\t{state}")


@tokens_cli.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke the token called NAME."""
    try:
        with database().transaction(cli_actor()) as session:
            revoke_token(session, name)
    except ServiceError as error:
        fail(error)
    click.echo(f"token {name!r} revoked")


audit_cli = AppGroup("audit", help="The audit chain.")


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.File("r", encoding="utf-8"),
    help="Signed checkpoints (JSON lines) the chain must still hold",
)
@click.option("--public-key", help="The signer's public key to trust (default: this host's)")
def audit_verify(checkpoint_file, public_key: str | None) -> None:
    """Walk the chain; exit 1 and name the first bad entry if it is broken."""
    from trading import checkpoints

    app = current_app._get_current_object()
    found: dict[int, str] = {}
    if checkpoint_file is not None:
        trusted_key = public_key or checkpoints.public_key_text(
            checkpoints.signing_key(app).public_key()
        )
        try:
            found = checkpoints.read(checkpoint_file, trusted_key)
        except checkpoints.CheckpointError as error:
            click.echo(f"checkpoints refused: {error}", err=True)
            sys.exit(1)
    with database().transaction(cli_actor()) as session:
        result = audit.verify_chain(session, checkpoints=found)
    if result.ok:
        click.echo(
            f"audit chain ok: {result.entries} entries ({result.keyed} under a keyed hash), "
            f"{result.checkpoints} of {len(found)} signed checkpoints matched"
        )
        return
    bad = result.first_bad or {}
    click.echo(
        f"audit chain BROKEN after {result.entries} good entries: "
        f"seq {bad.get('seq')} (id {bad.get('id')}): {bad.get('reason')}",
        err=True,
    )
    sys.exit(1)


@audit_cli.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Append the checkpoint to this file (else print it)",
)
def audit_checkpoint(out: str | None) -> None:
    """Sign a checkpoint of the chain's head, for a second party to keep."""
    import json

    from trading import checkpoints

    key = checkpoints.signing_key(current_app._get_current_object())
    with database().transaction(cli_actor()) as session:
        line = json.dumps(checkpoints.take(session, key), ensure_ascii=False)
    if out:
        with open(out, "a", encoding="utf-8") as target:
            target.write(line + "\n")
        click.echo(f"checkpoint appended to {out}")
    else:
        click.echo(line)


demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("load")
@click.option("--seed", default=2018, show_default=True)
def demo_load(seed: int) -> None:
    """Load demo data once (a second run does nothing)."""
    from credit import demo as credit_demo
    from experts import demo as experts_demo
    from trading import demo as trading_demo

    with database().transaction(cli_actor()) as session:
        done = session.scalar(
            select(audit.AuditEntry.seq).where(audit.AuditEntry.action == "demo.load").limit(1)
        )
        if done:
            click.echo("demo data already loaded")
            return
        rng = random.Random(seed)
        for module in (credit_demo, experts_demo, trading_demo):
            summary = module.load(session, rng)
            click.echo(f"{module.__name__}: {summary}")
        audit.record(session, "demo.load", "demo", seed, after={"seed": seed})
    click.echo("demo data loaded")


DEMO_CENTRE_USCC = "91110000600037341L"


@demo_cli.command("tokens")
def demo_tokens() -> None:
    """Replace the demo tokens (one per role) and print them."""
    from trading.auth import ApiToken

    made = []
    with database().transaction(cli_actor()) as session:
        for role in ("admin", "centre", "regulator", "auditor"):
            name = f"demo-{role}"
            old = session.scalar(select(ApiToken).where(ApiToken.name == name))
            if old is not None:
                session.delete(old)
                session.flush()
                audit.record(session, "token.replace", "token", old.id, before={"name": name})
            org = DEMO_CENTRE_USCC if role == "centre" else None
            made.append((role, create_token(session, name=name, role=role, org=org)))
    for role, secret in made:
        click.echo(f"{role:<10} {secret}")


@click.command("worker")
@click.option("--name", default=None, help="Worker name in the queue (default host:pid)")
@click.option("--once", is_flag=True, help="Run what is queued, then stop")
def worker(name: str | None, once: bool) -> None:
    """Run queued jobs (imports, scans, verification, training) until stopped."""
    from trading import jobs, queue

    app = current_app._get_current_object()
    if jobs.runner_name(app) != "queue":
        click.echo(
            "Jobs run inside the web workers here (JOB_RUNNER=inprocess, or the embedded "
            "SQLite): no worker is needed."
        )
        return
    click.echo(f"Worker on queue '{jobs.QUEUE}' of {database(app).dialect}; Ctrl-C stops it.")
    queue.run_worker(app, name=name, wait=not once)


jobs_cli = AppGroup("jobs", help="Long work: how it runs, what is queued.")


@jobs_cli.command("runner")
def jobs_runner() -> None:
    """Print how jobs run here: queue (needs `worker`) or inprocess."""
    from trading import jobs

    click.echo(jobs.runner_name(current_app._get_current_object()))


def register(app: Flask) -> None:
    from credit.cli import exchange_cli
    from trading.collusion.cli import collusion_cli
    from trading.tender_cli import trading_cli

    for group in (
        db_cli,
        tokens_cli,
        audit_cli,
        demo_cli,
        exchange_cli,
        trading_cli,
        collusion_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(worker)
    app.cli.add_command(jobs_cli)


def main() -> None:
    """Console script ``gongxin``: the same commands as ``flask --app wsgi``."""
    from trading.app import create_app

    FlaskGroup(create_app=lambda: create_app())(prog_name="gongxin")
