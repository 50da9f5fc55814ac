"""Draw dates are China dates: leave days and the monthly cap follow the calendar in Beijing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from expert_world import draw_body
from test_experts_exclusions import record_of

from experts import services


def _window(start: datetime, hours: int = 4) -> dict:
    return {
        "start": start.isoformat() + "Z",
        "end": (start + timedelta(hours=hours)).isoformat() + "Z",
    }


#: 10 August 2027, 07:30 in Beijing: still the 9th in UTC.
MORNING_OF_THE_10TH = datetime(2027, 8, 9, 23, 30)


def test_a_leave_ending_the_day_before_does_not_block_an_early_evaluation(
    world, centre, session, at
):
    at(datetime(2027, 7, 1, 2, 0))
    tenderee = world.org("tenderee")
    back = world.expert(["A0101"])
    away = world.expert(["A0101"])
    services.add_leave(session, back, {"start": date(2027, 8, 1), "end": date(2027, 8, 9)})
    services.add_leave(session, away, {"start": date(2027, 8, 10), "end": date(2027, 8, 12)})
    world.commit()
    response = centre(
        draw_body(tenderee, seats=(("A0101", 1),), backups=0, window=_window(MORNING_OF_THE_10TH))
    )
    assert response.status_code == 201, response.get_json()
    record = record_of(session, response.get_json()["id"])
    assert back.id in record["pool"]
    assert record["excluded"] == {away.id: {"draws.on_leave"}}


def test_the_monthly_cap_counts_the_china_month(world, centre, session, at, app):
    app.config["DRAW_MONTHLY_CAP"] = 1
    at(datetime(2027, 7, 1, 2, 0))
    tenderee = world.org("tenderee")
    busy = world.expert(["A0101"])
    world.commit()
    # 1 September 07:30 in Beijing (31 August in UTC): a September booking.
    first = centre(
        draw_body(
            tenderee,
            seats=(("A0101", 1),),
            backups=0,
            tender_ref="CAP-1",
            window=_window(datetime(2027, 8, 31, 23, 30)),
        )
    )
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["experts"][0]["id"] == busy.id
    world.experts(2, specialties=("A0101",))
    world.commit()

    def excluded_in(ref: str, start: datetime) -> dict:
        body = draw_body(
            tenderee, seats=(("A0101", 1),), backups=0, tender_ref=ref, window=_window(start)
        )
        response = centre(body)
        assert response.status_code == 201, response.get_json()
        return record_of(session, response.get_json()["id"])["excluded"]

    september = excluded_in("CAP-2", datetime(2027, 9, 20, 1, 0))
    assert september == {busy.id: {"draws.frequency_cap"}}
    august = excluded_in("CAP-3", datetime(2027, 8, 20, 1, 0))
    assert busy.id not in august
