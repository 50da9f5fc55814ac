"""Which pages each role is offered, in menu order (the pages check roles themselves)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from trading.auth import Principal


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: str  # message key
    roles: frozenset[str]  # empty: everyone, signed in or not


_EVERYONE: frozenset[str] = frozenset()
MENU = (
    MenuItem("console.public_lookup", "nav.public", _EVERYONE),
    MenuItem("console.tenders", "nav.tenders", frozenset({"centre", "regulator", "auditor"})),
    MenuItem("console.draws", "nav.draws", frozenset({"centre", "regulator", "auditor"})),
    MenuItem("console.subjects", "nav.subjects", frozenset({"centre", "regulator", "auditor"})),
    MenuItem("console.blacklist", "nav.blacklist", frozenset({"centre", "regulator", "auditor"})),
    MenuItem("console.alerts", "nav.alerts", frozenset({"regulator", "auditor"})),
    MenuItem("console.audit", "nav.audit", frozenset({"auditor"})),
    MenuItem("console.jobs", "nav.jobs", frozenset({"regulator", "auditor"})),
)


def menu_for(user: Principal | None) -> list[MenuItem]:
    """The items this visitor may open; pages not (yet) registered are left out."""
    views = current_app.view_functions
    return [
        item
        for item in MENU
        if item.endpoint in views
        and (
            not item.roles
            or (user is not None and (user.role == "admin" or user.role in item.roles))
        )
    ]
