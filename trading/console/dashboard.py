"""What each role sees first on the home page: counts of its day's work, and small charts.

A handful of COUNT queries, each on indexed columns; dates are China dates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from credit.cases import CreditCase
from credit.models import Listing, ListingLift
from experts.models import Draw
from trading import clock
from trading.auth import Principal
from trading.collusion.models import Alert
from trading.models import Tender

#: Score bands of open alerts, highest first: (label key, lower bound).
SCORE_BANDS = (("dash.band_high", 0.8), ("dash.band_mid", 0.6), ("dash.band_low", 0.0))


def figures(session: Session, who: Principal) -> dict[str, Any]:
    role = who.role
    today = clock.today()
    now = clock.now()
    out: dict[str, Any] = {"tiles": [], "charts": []}
    if role in ("centre", "admin"):
        mine = Tender.centre_uscc == who.org if role == "centre" else True
        open_tenders = session.scalar(
            select(func.count(Tender.id)).where(
                mine, Tender.awarded_at.is_(None), Tender.deadline > now
            )
        )
        day_start, day_end = (
            clock.china_day_start(today),
            clock.china_day_start(today + timedelta(days=1)),
        )
        own_draw = Draw.centre_uscc == who.org if role == "centre" else True
        draws_today = session.scalar(
            select(func.count(Draw.id)).where(
                own_draw, Draw.window_start >= day_start, Draw.window_start < day_end
            )
        )
        out["tiles"] += [
            {"key": "dash.open_tenders", "value": open_tenders or 0, "href": "console.tenders"},
            {"key": "dash.draws_today", "value": draws_today or 0, "href": "console.draws"},
        ]
    if role in ("regulator", "admin"):
        lifted = select(ListingLift.listing_id)
        active = and_(
            Listing.starts_on <= today,
            or_(Listing.ends_on.is_(None), Listing.ends_on >= today),
            Listing.id.not_in(lifted),
        )
        in_force = session.scalar(
            select(func.count(Listing.id)).where(active, Listing.kind == "blacklist")
        )
        ending = session.scalar(
            select(func.count(Listing.id)).where(
                active, Listing.ends_on.is_not(None), Listing.ends_on <= today + timedelta(days=30)
            )
        )
        open_cases = session.scalar(
            select(func.count(CreditCase.id)).where(CreditCase.state.in_(("submitted", "accepted")))
        )
        overdue = session.scalar(
            select(func.count(CreditCase.id)).where(
                CreditCase.state == "accepted", CreditCase.decision_due < today
            )
        )
        out["tiles"] += [
            {"key": "dash.blacklisted", "value": in_force or 0, "href": "console.blacklist"},
            {"key": "dash.ending_soon", "value": ending or 0, "href": "console.blacklist"},
            {"key": "dash.open_cases", "value": open_cases or 0, "href": "console.subjects"},
            {"key": "dash.overdue_cases", "value": overdue or 0, "href": "console.subjects"},
        ]
    if role in ("auditor", "regulator", "admin"):
        band = case(
            *((Alert.score >= low, key) for key, low in SCORE_BANDS[:-1]),
            else_=SCORE_BANDS[-1][0],
        )
        counts = dict(
            session.execute(
                select(band, func.count(Alert.id)).where(Alert.status == "open").group_by(band)
            ).all()
        )
        bars = [{"key": key, "value": int(counts.get(key, 0))} for key, _ in SCORE_BANDS]
        out["tiles"].append(
            {
                "key": "dash.open_alerts",
                "value": sum(b["value"] for b in bars),
                "href": "console.alerts",
            }
        )
        out["charts"].append({"key": "dash.alerts_by_score", "bars": _scaled(bars)})
    if role in ("centre", "regulator", "auditor", "admin"):
        status = case(
            (Tender.awarded_at.is_not(None), "awarded"),
            (Tender.deadline > now, "open"),
            else_="closed",
        )
        where = Tender.centre_uscc == who.org if role == "centre" else True
        counts = dict(
            session.execute(
                select(status, func.count(Tender.id)).where(where).group_by(status)
            ).all()
        )
        bars = [
            {"key": f"tender_status.{s}", "value": int(counts.get(s, 0))}
            for s in ("open", "closed", "awarded")
        ]
        out["charts"].append({"key": "dash.tenders_by_status", "bars": _scaled(bars)})
    return out


def _scaled(bars: list[dict]) -> list[dict]:
    """Each bar with its width in percent of the longest (for an inline SVG)."""
    top = max((b["value"] for b in bars), default=0) or 1
    return [{**b, "width": round(100 * b["value"] / top, 1)} for b in bars]
