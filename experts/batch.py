"""Filters on many ids at once, without one query per id.

PostgreSQL takes the whole list as one parameter, whatever its size: the text of an array
literal (the driver sends one string instead of adapting a thousand integers one by one),
unnested in a subquery, ``column IN (SELECT unnest(CAST(:ids AS INTEGER[])))``. The planner
then joins against it (index probes, or a hash) instead of testing each row against the
whole array as ``= ANY(:ids)`` does when it is only a filter. SQLite gets chunks of an
expanding ``IN``, below its limit on bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Integer, Text, and_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

SQLITE_CHUNK = 5000


def id_filters(session: Session, column: Any, ids: Iterable[int]) -> Iterator[Any]:
    """Conditions ``column in ids``, one per query to run (none for no ids)."""
    unique = sorted({int(i) for i in ids})
    if not unique:
        return
    if session.get_bind().dialect.name == "postgresql":
        literal = "{" + ",".join(map(str, unique)) + "}"
        yield column.in_(
            select(func.unnest(cast(bindparam(None, literal, type_=Text), ARRAY(Integer))))
        )
        return
    for start in range(0, len(unique), SQLITE_CHUNK):
        yield column.in_(unique[start : start + SQLITE_CHUNK])


def id_pair_filters(
    session: Session, first: tuple[Any, Iterable[int]], second: tuple[Any, Iterable[int]]
) -> Iterator[Any]:
    """Conditions ``first column in its ids and second column in its ids``, per query."""
    later = list(id_filters(session, *second))
    for condition in id_filters(session, *first):
        for other in later:
            yield and_(condition, other)


def fetch_rows(session: Session, statement: Any) -> list[Any]:
    """All rows of a column query, as plain rows fetched in one go.

    Bypasses the ORM's row processing and the driver's row-at-a-time fetching, which for
    a pool of a thousand candidates cost more than the queries themselves. Pending ORM
    changes are not flushed first: callers read what services have already flushed.
    """
    return session.connection().execute(statement).all()
