"""Demo data for `make run`."""

import random

from sqlalchemy.orm import Session


def load(session: Session, rng: random.Random) -> str:
    return "no demo data yet"
