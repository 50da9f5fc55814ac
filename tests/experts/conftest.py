"""Fixtures of the expert story (helpers live in ``expert_world``)."""

from __future__ import annotations

from datetime import datetime

import pytest
from expert_world import World

from trading import clock


@pytest.fixture
def world(session) -> World:
    return World(session)


@pytest.fixture
def centre(client, tokens):
    """POST a draw as the centre; returns the response."""

    def post(body: dict, headers: dict | None = None):
        return client.post(
            "/api/v1/draws", json=body, headers={**tokens["centre"], **(headers or {})}
        )

    return post


@pytest.fixture
def at(monkeypatch):
    """Move the expert domain's clock: ``at(datetime)``."""

    def move(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return move
