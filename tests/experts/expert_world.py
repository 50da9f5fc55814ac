"""Factories for the expert story: organisations, experts, relations, draw requests."""

from __future__ import annotations

import random
from datetime import date, timedelta

from credit import services as credit
from credit.identifiers import make_resident_id, make_uscc
from experts import services
from experts.models import Expert
from trading import clock

CENTRE_USCC = "91110000600037341L"


class World:
    """Arranges subjects, experts and relations directly through the services."""

    def __init__(self, session, seed: int = 316) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self.count = 0

    def uscc(self, region: str = "110105") -> str:
        return make_uscc(self.rng, region)

    def org(self, kind: str = "bidder", region: str = "110105", name: str | None = None):
        self.count += 1
        return credit.create_subject(
            self.session,
            {
                "kind": kind,
                "name": name or f"{kind} company {self.count}",
                "uscc": self.uscc(region),
                "region": region,
            },
        )

    def person(self, region: str = "110105", name: str | None = None):
        self.count += 1
        return credit.create_subject(
            self.session,
            {
                "kind": "practitioner",
                "name": name or f"person {self.count}",
                "id_number": make_resident_id(self.rng, region),
                "region": region,
            },
        )

    def expert(
        self,
        specialties=("A0101",),
        region: str = "110105",
        employer: str | None = None,
        name: str | None = None,
        **extra,
    ) -> Expert:
        self.count += 1
        return services.create_expert(
            self.session,
            {
                "name": name or f"expert {self.count}",
                "id_number": make_resident_id(self.rng, region),
                "region": region,
                "specialties": list(specialties),
                "employer": employer or self.uscc(region),
                "contact": f"1380000{self.count:04d}",
                **extra,
            },
        )

    def experts(self, n: int, **kw) -> list[Expert]:
        return [self.expert(**kw) for _ in range(n)]

    def relate(self, subject, kind: str, other, **fields):
        """``subject`` *is* ``kind`` of ``other`` (subjects or experts)."""
        subject = self._subject(subject)
        other = self._subject(other)
        return credit.add_relation(
            self.session, subject, {"kind": kind, "other": other.id, **fields}
        )

    def _subject(self, thing):
        if isinstance(thing, Expert):
            return self.session.get(credit.Subject, thing.subject_id)
        return thing

    def commit(self) -> None:
        self.session.commit()


def window(days: int = 10, hours: int = 8) -> dict[str, str]:
    start = (clock.now() + timedelta(days=days)).replace(microsecond=0)
    return {
        "start": start.isoformat() + "Z",
        "end": (start + timedelta(hours=hours)).isoformat() + "Z",
    }


#: Draws in these tests are for projects outside the tender register unless a test
#: registers the tender (see test_experts_draw_tender).
EXTERNAL = {"name": "project outside the register (test)"}


def draw_body(tenderee, bidders=(), seats=(("A0101", 2),), backups: int = 1, **extra) -> dict:
    extra.setdefault("external_project", EXTERNAL)
    return {
        "tender_ref": extra.pop("tender_ref", "JG2026-001"),
        "tenderee": tenderee.uscc if hasattr(tenderee, "uscc") else tenderee,
        "bidders": [b.uscc if hasattr(b, "uscc") else b for b in bidders],
        "window": extra.pop("window", None) or window(),
        "seats": [{"specialty": code, "count": count} for code, count in seats],
        "backups": backups,
        **extra,
    }


def drawn_ids(view: dict) -> set[int]:
    return {e["id"] for e in view["experts"]} | {b["id"] for b in view["backups"]}


def today() -> date:
    return clock.today()
