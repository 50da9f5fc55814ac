"""Who may not sit, and why: every exclusion reason with a scenario, region rules and
specialty prefixes. Each excluded candidate is kept in the record with its reasons."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from expert_world import draw_body
from sqlalchemy import select

from credit import services as credit
from credit.categories import add_months
from experts import services
from experts.models import DrawGroup, DrawRound
from trading import clock


def record_of(session, draw_id: int) -> dict:
    """The stored pool and exclusions of a draw's first group: {pool, excluded}."""
    group = session.scalars(
        select(DrawGroup)
        .join(DrawRound, DrawRound.id == DrawGroup.round_id)
        .where(DrawRound.draw_id == draw_id, DrawRound.number == 0)
        .order_by(DrawGroup.position)
    ).first()
    return {
        "pool": {int(i) for i in group.pool},
        "excluded": {
            item["expert_id"]: {reason["rule"] for reason in item["reasons"]}
            for item in group.exclusions
        },
        "messages": {
            item["expert_id"]: [reason["message"] for reason in item["reasons"]]
            for item in group.exclusions
        },
    }


def month_window(day: int, hour: int = 9) -> dict:
    """A window in the month after next, so that several draws share one calendar month."""
    now = clock.now()
    month = add_months(date(now.year, now.month, 1), 2)
    start = datetime(month.year, month.month, day, hour)
    end = start + timedelta(hours=6)
    return {"start": start.isoformat() + "Z", "end": end.isoformat() + "Z"}


class Tender:
    def __init__(self, world):
        self.world = world
        self.tenderee = world.org("tenderee", region="110105")
        self.agency = world.org("agency", region="110105")
        self.bidders = [world.org("bidder") for _ in range(3)]
        self.regulator = world.org("tenderee", name="住建委", region="110000")

    def body(self, seats=None, backups=1, **extra):
        extra.setdefault("agency", self.agency.uscc)
        extra.setdefault("regulators", [self.regulator.uscc])
        extra.setdefault("window", month_window(20))
        extra.setdefault("bidders", self.bidders)
        body = draw_body(self.tenderee, seats=(("A0101", 1),), backups=backups, **extra)
        if seats is not None:
            body["seats"] = seats
        return body


def negative_record(session, subject, severity="minor", category="evaluation_misconduct"):
    today = clock.today()
    return credit.add_record(
        session,
        subject,
        {
            "polarity": "negative",
            "category": category,
            "severity": severity,
            "description": "迟到早退",
            "basis": {
                "authority": "市公管办",
                "document_no": "公管〔2026〕1号",
                "decided_on": today.isoformat(),
            },
            "effective_from": today.isoformat(),
        },
        today=today,
    )


def _years_ago(years: int) -> str:
    return add_months(clock.today(), -12 * years).isoformat()


# Each scenario arranges one target expert and names the rule that must exclude it
# (None: the target must stay in the pool).
def suspended(w, t, target):
    services.change_status(w.session, target, {"status": "suspended", "reason": "考核"})
    return "draws.not_active"


def retired(w, t, target):
    services.change_status(w.session, target, {"status": "retired", "reason": "退休"})
    return "draws.not_active"


def on_leave(w, t, target):
    start = date.fromisoformat(month_window(20)["start"][:10])
    services.add_leave(w.session, target, {"start": start - timedelta(days=1), "end": start})
    return "draws.on_leave"


def leave_another_week(w, t, target):
    start = date.fromisoformat(month_window(20)["start"][:10])
    services.add_leave(
        w.session, target, {"start": start + timedelta(days=2), "end": start + timedelta(days=5)}
    )
    return None


def penalised(w, t, target):
    negative_record(w.session, w._subject(target))
    return "draws.penalty"


def penalised_elsewhere_minor(w, t, target):
    # A minor record of a category that does not concern evaluation does not bar.
    negative_record(w.session, w._subject(target), category="contract_refusal")
    return None


def bribery_record(session, subject, years_ago: int = 2, severity: str = "general"):
    """A 行贿受贿 record decided ``years_ago`` years ago, its publicity long over."""
    decided = add_months(clock.today(), -12 * years_ago)
    return credit.add_record(
        session,
        subject,
        {
            "polarity": "negative",
            "category": "行贿受贿",
            "severity": severity,
            "description": "向评标委员会成员行贿",
            "basis": {
                "authority": "北京市住房和城乡建设委员会",
                "document_no": "京建罚〔2024〕17号",
                "decided_on": decided.isoformat(),
            },
            "effective_from": decided.isoformat(),
            "effective_to": add_months(decided, 6).isoformat(),
        },
    )


def bribed_long_ago(w, t, target):
    # 《评标委员会和评标方法暂行规定》art. 12: ever penalised for an illegal act in
    # tendering, whatever the severity and however long ago.
    bribery_record(w.session, w._subject(target))
    return "draws.prior_penalty"


def bribed_recently(w, t, target):
    bribery_record(w.session, w._subject(target), years_ago=0)
    return "draws.prior_penalty"


def bribery_revoked(w, t, target):
    record = bribery_record(w.session, w._subject(target))
    credit.revoke_record(
        w.session,
        record.id,
        {
            "basis": {
                "authority": "北京市住房和城乡建设委员会",
                "document_no": "京建复〔2025〕3号",
                "decided_on": clock.today().isoformat(),
            },
            "reason": "行政复议撤销",
        },
    )
    return None


def employed_by_bidder(w, t, target):
    services.update_expert(w.session, target, {"employer": t.bidders[1].uscc})
    return "conflict.employment"


def employed_by_unregistered_bidder(w, t, target):
    outsider = w.uscc()
    t.bidders.append(outsider)
    services.update_expert(w.session, target, {"employer": outsider})
    return "conflict.employment"


def employed_by_agency(w, t, target):
    services.update_expert(w.session, target, {"employer": t.agency.uscc})
    return "conflict.employment"


def formerly_employed_by_tenderee(w, t, target):
    w.relate(target, "employment", t.tenderee, start=_years_ago(8), end=_years_ago(2))
    return "conflict.employment"


def employed_by_tenderee_long_ago(w, t, target):
    w.relate(target, "employment", t.tenderee, start=_years_ago(9), end=_years_ago(4))
    return None


def legal_rep_of_bidder(w, t, target):
    w.relate(target, "legal_rep", t.bidders[0])
    return "conflict.employment"


def works_for_bidders_parent(w, t, target):
    parent = w.org("bidder", name="集团母公司")
    w.relate(parent, "shareholder", t.bidders[0], share=60)
    services.update_expert(w.session, target, {"employer": parent.uscc})
    return "conflict.ownership_link"


def works_for_bidders_subsidiary(w, t, target):
    child = w.org("bidder", name="子公司")
    w.relate(child, "subsidiary", t.bidders[2])
    w.relate(target, "employment", child, start=_years_ago(1))
    return "conflict.ownership_link"


def works_for_bidders_sister(w, t, target):
    parent = w.org("bidder", name="控股集团")
    sister = w.org("bidder", name="兄弟公司")
    w.relate(parent, "shareholder", t.bidders[0], share=51)
    w.relate(sister, "subsidiary", parent)
    services.update_expert(w.session, target, {"employer": sister.uscc})
    return "conflict.ownership_link"


def works_three_hops_away(w, t, target):
    parent, grandparent, uncle = (w.org("bidder") for _ in range(3))
    w.relate(parent, "shareholder", t.bidders[0], share=51)
    w.relate(grandparent, "shareholder", parent, share=51)
    w.relate(uncle, "subsidiary", grandparent)
    services.update_expert(w.session, target, {"employer": uncle.uscc})
    return None


def relative_of_bidders_principal(w, t, target):
    boss = w.person(name="法定代表人")
    w.relate(boss, "legal_rep", t.bidders[1])
    w.relate(target, "relative", boss)
    return "conflict.relative_of_principal"


def principal_is_relative_of_expert(w, t, target):
    boss = w.person()
    w.relate(boss, "legal_rep", t.bidders[2])
    w.relate(boss, "relative", target)  # the other direction of the same bond
    return "conflict.relative_of_principal"


def relative_of_someone_else(w, t, target):
    stranger = w.person()
    w.relate(target, "relative", stranger)
    return None


def declared_interest_in_bidder(w, t, target):
    w.relate(target, "interest", t.bidders[0], note="持有债权")
    return "conflict.declared_interest"


def shareholder_of_bidders_parent(w, t, target):
    parent = w.org("bidder")
    w.relate(parent, "shareholder", t.bidders[0], share=70)
    w.relate(target, "shareholder", parent, share=5)
    return "conflict.declared_interest"


def regulator_staff(w, t, target):
    services.update_expert(w.session, target, {"employer": t.regulator.uscc})
    return "conflict.regulator_staff"


SCENARIOS = [
    suspended,
    retired,
    on_leave,
    leave_another_week,
    penalised,
    penalised_elsewhere_minor,
    bribed_long_ago,
    bribed_recently,
    bribery_revoked,
    employed_by_bidder,
    employed_by_unregistered_bidder,
    employed_by_agency,
    formerly_employed_by_tenderee,
    employed_by_tenderee_long_ago,
    legal_rep_of_bidder,
    works_for_bidders_parent,
    works_for_bidders_subsidiary,
    works_for_bidders_sister,
    works_three_hops_away,
    relative_of_bidders_principal,
    principal_is_relative_of_expert,
    relative_of_someone_else,
    declared_interest_in_bidder,
    shareholder_of_bidders_parent,
    regulator_staff,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_each_reason_excludes_the_expert_and_is_recorded(scenario, world, centre, session):
    tender = Tender(world)
    others = world.experts(3)
    target = world.expert()
    rule = scenario(world, tender, target)
    world.commit()
    response = centre(tender.body())
    assert response.status_code == 201, response.get_json()
    view = response.get_json()
    record = record_of(session, view["id"])
    drawn = {e["id"] for e in view["experts"]} | {b["id"] for b in view["backups"]}
    assert {o.id for o in others} <= record["pool"]
    if rule is None:
        assert target.id in record["pool"] and target.id not in record["excluded"]
        return
    assert target.id not in record["pool"] and target.id not in drawn
    assert rule in record["excluded"][target.id], record["messages"][target.id]
    assert view["rounds"][0]["groups"][0]["excluded"] == {rule: 1}


def test_the_prior_penalty_reason_names_the_rule_and_the_record(world, centre, session):
    tender = Tender(world)
    world.experts(2)
    target = world.expert()
    record = bribery_record(session, world._subject(target), years_ago=2)
    world.commit()
    response = centre(tender.body())
    assert response.status_code == 201, response.get_json()
    [message] = record_of(session, response.get_json()["id"])["messages"][target.id]
    assert "《评标委员会和评标方法暂行规定》第十二条" in message
    assert f"record {record.id}" in message and "京建罚〔2024〕17号" in message
    assert "行贿受贿" in message


def test_booked_and_capped_experts_are_excluded(world, centre, session):
    tender = Tender(world)
    busy = world.expert(["A0101", "B01"])
    others = world.experts(3)
    world.commit()
    # busy is the only B01 expert: a draw for B01 books it on the 20th.
    first = centre(
        tender.body(seats=[{"specialty": "B01", "count": 1}], backups=0, tender_ref="B-1")
    )
    assert first.status_code == 201
    assert first.get_json()["experts"][0]["id"] == busy.id
    overlapping = centre(tender.body(tender_ref="A-1"))
    record = record_of(session, overlapping.get_json()["id"])
    assert record["excluded"] == {busy.id: {"draws.booked"}}
    assert record["pool"] == {o.id for o in others}

    # Five more B01 draws in the same month on other days reach the cap of six.
    for day in range(2, 7):
        response = centre(
            tender.body(
                seats=[{"specialty": "B01", "count": 1}],
                backups=0,
                tender_ref=f"B-{day}",
                window=month_window(day),
            )
        )
        assert response.status_code == 201, response.get_json()
    later = centre(tender.body(tender_ref="A-2", window=month_window(27)))
    record = record_of(session, later.get_json()["id"])
    assert record["excluded"] == {busy.id: {"draws.frequency_cap"}}
    assert "cap 6" in record["messages"][busy.id][0]


def test_a_requested_code_matches_holders_of_it_or_of_a_code_below(world, centre, session):
    tender = Tender(world)
    leaf = world.expert(["A010101"])
    middle = world.expert(["A0101"])
    above = world.expert(["A01"])  # holds the parent only: not qualified for A0101
    sideways = world.expert(["A0102"])
    world.commit()
    response = centre(tender.body(seats=[{"specialty": "A0101", "count": 1}], backups=5))
    assert response.status_code == 201
    assert record_of(session, response.get_json()["id"])["pool"] == {leaf.id, middle.id}
    broad = centre(
        tender.body(seats=[{"specialty": "A01", "count": 1}], backups=5, window=month_window(21))
    )
    assert record_of(session, broad.get_json()["id"])["pool"] == {
        leaf.id,
        middle.id,
        above.id,
        sideways.id,
    }


@pytest.mark.parametrize(
    "rule, expected",
    [
        ({"mode": "any"}, {"beijing", "chaoyang", "shanghai", "tianjin"}),
        ({"mode": "local"}, {"beijing", "chaoyang"}),
        ({"mode": "exclude_local"}, {"shanghai", "tianjin"}),
        ({"mode": "list", "regions": ["310000", "120101"]}, {"shanghai", "tianjin"}),
        ({"mode": "list", "regions": ["110105"]}, {"chaoyang"}),
    ],
)
def test_region_rules(rule, expected, world, centre, session):
    tender = Tender(world)  # the tenderee is in 110105 (北京市朝阳区)
    placed = {
        "beijing": world.expert(region="110108"),
        "chaoyang": world.expert(region="110105"),
        "shanghai": world.expert(region="310104"),
        "tianjin": world.expert(region="120101"),
    }
    world.commit()
    response = centre(tender.body(region_rule=rule))
    assert response.status_code == 201, response.get_json()
    pool = record_of(session, response.get_json()["id"])["pool"]
    assert pool == {placed[name].id for name in expected}


def test_local_rules_need_a_known_project_region(world, centre):
    world.experts(3)
    world.commit()
    unknown_tenderee = world.uscc()
    body = draw_body(unknown_tenderee, seats=(("A0101", 1),), region_rule={"mode": "local"})
    response = centre(body)
    assert response.status_code == 422 and "region" in response.get_json()["errors"]
    response = centre({**body, "region": "110105"})
    assert response.status_code == 201


def test_malformed_requests_are_refused_with_every_field(world, centre):
    tender = Tender(world)
    world.commit()
    body = tender.body(
        seats=[
            {"specialty": "A0101", "count": 1},
            {"specialty": "A0101", "count": 1},
            {"specialty": "Z1", "count": 1},
        ],
        bidders=["91110000600037341X"],
        window={"start": "2030-01-02T09:00:00Z", "end": "2030-01-01T09:00:00Z"},
    )
    response = centre(body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"seats", "bidders", "window"} <= errors.keys()
    assert response.get_json()["rule"] == "draws.request_valid"
