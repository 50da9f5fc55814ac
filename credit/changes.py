"""The change feed: every credit write appends a row; other platforms poll it by cursor.

Writers queue their changes on the session (:func:`append`); they are written when the
session commits, after taking the audit head lock, so feed ids grow in commit order and a
poller that has read up to cursor N can never later find a committed row below N. Bulk
writers (the exchange import) insert theirs directly with :func:`write_now`, which takes
the same lock.

A change holds only ``(type, entity_id)``: the entities are append-only, so the payload is
rendered from them when the feed is read (:func:`read_feed`) and is the same at any time.
"""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from credit.models import CreditChange
from trading import clock
from trading.audit import AuditHead

_PENDING = "credit_changes_pending"
CHANGE_TYPES = ("subject", "relation", "record", "revocation", "listing", "lift")


def append(session: Session, type_: str, entity_id: int, subject_id: int | None) -> None:
    session.info.setdefault(_PENDING, []).append((type_, entity_id, subject_id))


def lock_feed(session: Session) -> None:
    """Serialise with every other writer of the feed (and of the audit chain)."""
    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())


def write_now(session: Session, rows: list[tuple[str, int, int | None]]) -> None:
    if not rows:
        return
    lock_feed(session)
    now = clock.now()
    session.execute(
        CreditChange.__table__.insert(),
        [{"at": now, "type": t, "entity_id": e, "subject_id": s} for t, e, s in rows],
    )


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        write_now(session, pending)


def _discard(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "before_commit", _write_pending)
        event.listen(Session, "after_rollback", _discard)
        _installed = True


install()
