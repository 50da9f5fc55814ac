"""The domain pages through the Flask test client: roles, sealing, forms and their rules."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.console.conftest import CENTRE, seed_market, seed_world
from trading import clock
from trading.collusion.models import Alert
from trading.models import Tender


def _errors(html: str) -> dict[str, str]:
    return dict(re.findall(r"<li><code>([^<]*)</code> ([^<]*)</li>", html))


@pytest.fixture
def world(session):
    made = seed_world(session)
    session.commit()
    return made


@pytest.mark.parametrize(
    "path, allowed",
    [
        ("/tenders", {"centre", "regulator", "auditor"}),
        ("/draws", {"centre", "regulator", "auditor"}),
        ("/draws/new", {"centre"}),
        ("/tenders/new", {"centre", "regulator"}),
        ("/subjects", {"centre", "regulator"}),
        ("/blacklist", {"centre", "regulator"}),
        ("/alerts", {"regulator", "auditor"}),
        ("/audit", {"auditor"}),
    ],
)
def test_each_page_lets_in_the_api_s_roles_and_admin(signed_in, world, path, allowed):
    for role in ("admin", "centre", "regulator", "auditor"):
        response = signed_in(role).get(path)
        if role == "admin" or role in allowed:
            assert response.status_code == 200, (role, path, response.text[:400])
        else:
            assert response.status_code == 403, (role, path)
            assert "auth.role_allowed" in response.text


def test_the_menu_offers_only_what_the_role_may_open(signed_in, world):
    centre = signed_in("centre").get("/").text
    assert 'href="/draws"' in centre and 'href="/alerts"' not in centre
    auditor = signed_in("auditor").get("/").text
    assert 'href="/alerts"' in auditor and 'href="/audit"' in auditor


def test_a_regulator_s_record_form_insists_on_the_legal_basis(signed_in, world, session):
    regulator = signed_in("regulator")
    target = f"/subjects/{world['bidders'][0]}"
    regulator.get(target)
    refused = regulator.post(
        f"{target}/records",
        {"polarity": "negative", "category": "fraud", "severity": "serious", "description": "x"},
    )
    assert refused.status_code == 422
    assert "basis" in _errors(refused.text)
    accepted = regulator.post(
        f"{target}/records",
        {
            "polarity": "negative",
            "category": "fraud",
            "severity": "serious",
            "description": "投标文件弄虚作假",
            "basis.authority": "北京市住房和城乡建设委员会",
            "basis.document_no": "京建法罚〔2025〕9号",
            "basis.decided_on": clock.today().isoformat(),
        },
    )
    assert accepted.status_code == 303
    page = regulator.get(target).text
    assert "投标文件弄虚作假" in page and "京建法罚〔2025〕9号" in page
    assert 'id="grade">C<' in page  # 100 - 30 - 10


def test_listing_and_lifting_need_a_basis_and_keep_the_history(signed_in, world):
    regulator = signed_in("regulator")
    target = f"/subjects/{world['bidders'][1]}"
    regulator.get(target)
    refused = regulator.post(f"{target}/listings", {"list": "blacklist"})
    assert refused.status_code == 422 and "basis" in _errors(refused.text)
    basis = {
        "basis.authority": "北京市住房和城乡建设委员会",  # the test regulator acts for it
        "basis.document_no": "京发改〔2025〕3号",
        "basis.decided_on": "2025-01-10",
    }
    listed = regulator.post(
        f"{target}/listings",
        {"list": "abnormal", "sectors": ["construction"], "regions": "110000", **basis},
    )
    assert listed.status_code == 303
    page = regulator.get(target).text
    listing_id = re.search(r'id="listing-(\d+)"', page).group(1)
    no_basis = regulator.post(f"{target}/listings/{listing_id}/lift", {"_target": listing_id})
    assert no_basis.status_code == 422
    lifted = regulator.post(
        f"{target}/listings/{listing_id}/lift",
        {
            "_target": listing_id,
            "on": "2025-02-01",
            **basis,
            "basis.document_no": "京发改〔2025〕8号",
        },
    )
    assert lifted.status_code == 303
    page = regulator.get(target).text
    assert "京发改〔2025〕3号" in page and "京发改〔2025〕8号" in page  # both moves stay
    assert page.count('class="lift"') == 1


def test_only_regulators_write_credit(signed_in, world):
    auditor = signed_in("auditor")
    auditor.get("/")
    response = auditor.post(f"/subjects/{world['bidders'][0]}/records", {"polarity": "positive"})
    assert response.status_code == 403


def test_blacklist_filters_and_exports_csv_masking_ids_for_non_regulators(signed_in, world):
    regulator = signed_in("regulator").get("/blacklist?format=csv")
    assert regulator.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(regulator.text.lstrip("\ufeff"))))
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"北京失信建设有限公司", "李四光"}
    assert by_name["李四光"]["id_number"] == world["person_id_number"]
    centre_rows = list(
        csv.DictReader(
            io.StringIO(signed_in("centre").get("/blacklist?format=csv").text.lstrip("\ufeff"))
        )
    )
    assert world["person_id_number"] not in {row["id_number"] for row in centre_rows}
    filtered = signed_in("regulator").get("/blacklist?list=abnormal").text
    assert "北京失信建设有限公司" not in filtered
    bad = signed_in("regulator").get("/blacklist?region=abc&on=never")
    assert bad.status_code == 200 and "region" in _errors(bad.text)


def test_the_public_page_never_shows_a_person_in_full(client, world):
    listing = client.get("/public/blacklist").text
    number = world["person_id_number"]
    assert "李**" in listing and "李四光" not in listing and number not in listing
    assert client.get("/public/credit?q=李四光").text.count('href="/public/subjects/') == 0
    found = client.get("/public/credit?q=北京失信")
    assert f'href="/public/subjects/{world["debarred"]}"' in found.text
    assert client.get(f"/public/subjects/{world['debarred']}").status_code == 200
    assert client.get(f"/public/subjects/{number}").status_code == 404


def _draw(centre, world) -> str:
    form_page = centre.get(f"/draws/new?tender={world['tender']}")
    assert form_page.status_code == 200 and world["tenderee"] in form_page.text
    tomorrow = clock.now() + timedelta(days=1)
    response = centre.post(
        "/draws",
        {
            "tender_ref": world["tender"],
            "tenderee": world["tenderee"],
            "agency": world["agency"],
            "bidders": "\n".join(world["bidders"]),
            "window.start": tomorrow.strftime("%Y-%m-%dT09:00"),
            "window.end": tomorrow.strftime("%Y-%m-%dT17:00"),
            "seats.0.specialty": "A0101",
            "seats.0.count": "3",
            "backups": "2",
        },
    )
    assert response.status_code == 303, _errors(response.text)
    return response.headers["Location"]


def test_a_draw_is_sealed_to_its_centre(signed_in, world):
    centre = signed_in("centre")
    where = _draw(centre, world)
    own = centre.get(where)
    assert own.status_code == 200 and "13800000" in own.text  # names and contacts
    assert signed_in("other_centre").get(where).status_code == 404
    for reader in ("auditor", "regulator"):
        sealed = signed_in(reader).get(where)
        assert sealed.status_code == 403 and "draws.sealed" in sealed.text
        assert "13800000" not in sealed.text
    assert where not in signed_in("auditor").get("/draws").text


def test_a_draw_form_with_mistakes_comes_back_with_field_reasons(signed_in, world):
    centre = signed_in("centre")
    centre.get("/draws/new")
    response = centre.post(
        "/draws",
        {"tender_ref": "X", "tenderee": world["tenderee"], "window.start": "2020-01-01T09:00",
         "window.end": "2020-01-01T08:00", "seats.0.specialty": "Z99", "seats.0.count": "1"},
    )  # fmt: skip
    assert response.status_code == 422
    assert any(name.startswith("seats") for name in _errors(response.text))
    assert 'value="X"' in response.text  # what was typed stays


def test_a_draw_shows_its_commitment_and_is_voided_with_a_reason(signed_in, world):
    centre = signed_in("centre")
    where = _draw(centre, world)
    page = centre.get(where).text
    assert 'id="draw-commitment"' in page and 'id="void-form"' in page
    refused = centre.post(f"{where}/void", {"reason": "监督人未到场"})
    assert refused.status_code == 422
    voided = centre.post(f"{where}/void", {"reason": "监督人未到场", "basis": "公管办〔2026〕12号"})
    assert voided.status_code == 303
    page = centre.get(where).text
    assert "监督人未到场" in page and 'id="void-form"' not in page


def test_replacing_an_expert_follows_the_committed_backup_order(signed_in, world):
    centre = signed_in("centre")
    where = _draw(centre, world)
    page = centre.get(where).text
    leaving = re.search(r'name="expert_id" value="(\d+)"', page).group(1)
    first_backup = re.search(r'<td class="num">1</td><td>[^<]*<small class="hint">#(\d+)', page)
    replaced = centre.post(
        f"{where}/replacements", {"expert_id": leaving, "reason": "declined", "note": "出差"}
    )
    assert replaced.status_code == 303
    page = centre.get(where).text
    seated = re.findall(r'name="expert_id" value="(\d+)"', page)
    assert leaving not in seated and first_backup.group(1) in seated
    verification = centre.get(f"{where}/verification")
    assert 'class="status good"' in verification.text
    again = centre.post(f"{where}/replacements", {"expert_id": leaving, "reason": "declined"})
    assert again.status_code == 409 and "expert_id" in _errors(again.text)


def test_alerts_are_sorted_by_score_and_reviewed_with_a_basis_for_records(
    signed_in, session, world
):
    auditor = signed_in("auditor")
    listing = auditor.get("/alerts?status=all").text
    ids = [int(i) for i in re.findall(r'href="/alerts/(\d+)"', listing)]
    scores = [session.get(Alert, i).score for i in ids]
    assert ids and scores == sorted(scores, reverse=True)
    alert = session.get(Alert, ids[0])
    page = auditor.get(f"/alerts/{alert.id}")
    assert page.status_code == 200 and page.text.count('class="edge ') >= 3
    refused = auditor.post(
        f"/alerts/{alert.id}/review",
        {"decision": "confirm", "note": "同一台电脑制作", "record_members": alert.members[:1]},
    )
    assert refused.status_code == 422 and "basis" in _errors(refused.text)
    assert session.get(Alert, alert.id).status == "open"
    regulator = signed_in("regulator")
    regulator.get("/")
    refused = regulator.post(f"/alerts/{alert.id}/review", {"decision": "dismiss", "note": "x"})
    assert refused.status_code == 403 and "auth.role_allowed" in refused.text
    done = auditor.post(
        f"/alerts/{alert.id}/review",
        {
            "decision": "confirm",
            "note": "同一台电脑制作，报价等差",
            "record_members": alert.members[:1],
            "basis.authority": "北京市纪委监委",
            "basis.document_no": "京纪〔2025〕1号",
            "basis.decided_on": clock.today().isoformat(),
        },
    )
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Alert, alert.id).status == "confirmed"
    closed = auditor.get(f"/alerts/{alert.id}").text
    assert 'id="review"' not in closed and "同一台电脑制作，报价等差" in closed


def _china_wall_clock() -> str:
    """Now, as a ``datetime-local`` field in China shows it (the console reads form times as
    UTC+8, CONSOLE_UTC_OFFSET_HOURS), whatever the test machine's own zone."""
    return datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")


def test_a_centre_registers_a_bid_and_the_service_s_rules_answer(signed_in, world):
    centre = signed_in("centre")
    tender = f"/tenders/{world['tender']}"
    centre.get(tender)
    twice = centre.post(
        f"{tender}/bids",
        {"bidder": world["bidders"][0], "price": "10990000.00",
         "submitted_at": _china_wall_clock()},
    )  # fmt: skip
    assert twice.status_code == 409 and "bidder" in _errors(twice.text)
    debarred = centre.post(
        f"{tender}/bids",
        {"bidder": world["debarred"], "price": "10990000.00",
         "submitted_at": _china_wall_clock()},
    )  # fmt: skip
    assert debarred.status_code == 403 and "credit.blacklisted" in debarred.text
    other = signed_in("other_centre")
    other.get(tender)
    foreign = other.post(
        f"{tender}/bids",
        {"bidder": world["bidders"][2], "price": "10990000.00",
         "submitted_at": _china_wall_clock()},
    )  # fmt: skip
    assert foreign.status_code == 403 and "tenders.own_centre" in foreign.text
    assert "bid-form" not in other.get(tender).text


def test_list_pages_cost_the_same_number_of_queries_whatever_the_data(app, signed_in, session):
    """Lists are filtered and paginated in SQL: more rows must not mean more queries."""
    from sqlalchemy import event

    from tests.console.conftest import market_csv
    from trading.bids_import import import_bids
    from trading.collusion.services import scan_market
    from trading.db import database

    seed_market(session)
    session.commit()
    admin = signed_in("admin")  # every one of these pages
    engine = database(app).engine
    counts = []

    def count(*_args, **_kwargs):
        counts[-1] += 1

    paths = ("/alerts?status=all", "/tenders", "/subjects", "/blacklist", "/audit")

    def queries() -> list[int]:
        counts.clear()
        for path in paths:
            counts.append(0)
            assert admin.get(path).status_code == 200
        return list(counts)

    event.listen(engine, "before_cursor_execute", count)
    try:
        small = queries()
        # Ten times the market (other firms, other tenders): the same queries answer.
        for seed in range(1, 10):
            import_bids(session, market_csv(rng_seed=seed, prefix=f"M{seed}"))
        scan_market(session)
        session.commit()
        large = queries()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert large == small, (small, large)


def test_a_full_scan_runs_as_a_job_with_progress(committed_url, tmp_path):
    from tests.conftest import make_app
    from tests.console.conftest import Browser, market_csv
    from trading.auth import create_token
    from trading.bids_import import import_bids
    from trading.db import database

    app = make_app(committed_url)
    with database(app).transaction("test:seed") as session:
        secret = create_token(session, name="scan-auditor", role="auditor")
        import_bids(session, market_csv())
    browser = Browser(app.test_client())
    browser.sign_in(secret)
    browser.get("/jobs")
    started = browser.post("/alerts/scan")
    assert started.status_code == 303
    job_url = started.headers["Location"]
    deadline = datetime.now() + timedelta(seconds=30)
    while True:
        progress = browser.get(job_url + "/progress").get_json()
        if progress["state"] not in ("queued", "running") or datetime.now() > deadline:
            break
        time.sleep(0.1)
    assert progress["state"] == "done", progress
    assert progress["result"]["alerts_created"] >= 1
    page = browser.get(job_url).text
    assert "alerts_created" not in page or "新预警" in page
    assert browser.get("/alerts").text.count('href="/alerts/') >= 1
    stranger = Browser(app.test_client())
    with database(app).transaction("test:seed") as session:
        other = create_token(session, name="other-auditor", role="auditor")
    stranger.sign_in(other)
    assert stranger.get(job_url).status_code == 404


def _wait_for(browser, job_url: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        progress = browser.get(job_url + "/progress").get_json()
        if progress["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return progress
        time.sleep(0.1)


def test_a_regulator_imports_an_exchange_file_as_a_job(committed_url, tmp_path):
    import json
    import random

    from credit.identifiers import make_uscc
    from tests.conftest import make_app
    from tests.console.conftest import Browser
    from trading.auth import create_token
    from trading.db import database

    app = make_app(committed_url)
    with database(app).transaction("test:seed") as session:
        secret = create_token(session, name="import-regulator", role="regulator")
    uscc = make_uscc(random.Random(3), "110105")
    rows = [
        {"type": "subject", "source": {"platform": "cn.gov.x", "id": "s1"}, "kind": "bidder",
         "name": "外省导入建设有限公司", "uscc": uscc},
        {"type": "subject", "source": {"platform": "cn.gov.x", "id": "s2"}, "kind": "bidder",
         "name": "坏数据", "uscc": "911100000000000000"},
    ]  # fmt: skip
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    browser = Browser(app.test_client())
    browser.sign_in(secret)
    browser.get("/jobs")
    started = browser.post(
        "/jobs/credit-import",
        {"file": (io.BytesIO(body), "exchange.jsonl")},
        content_type="multipart/form-data",
    )
    assert started.status_code == 303, started.text[:300]
    progress = _wait_for(browser, started.headers["Location"])
    assert progress["state"] == "done", progress
    result = progress["result"]
    assert result["accepted"] == 1 and result["rejected_total"] == 1
    assert result["rejected"][0]["line"] == 2 and "uscc" in result["rejected"][0]["errors"]
    # Progress counts rows, not bytes.
    assert progress["done"] == 2 and progress["total"] == 2, progress
    page = browser.get(started.headers["Location"]).text
    assert "被拒绝的行" in page and "rejected.csv" in page
    rejected = browser.get(started.headers["Location"] + "/rejected.csv")
    assert rejected.status_code == 200 and rejected.mimetype == "text/csv"
    lines = rejected.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "行号,原始内容,字段,原因"
    assert lines[1].startswith("2,") and "坏数据" in lines[1] and ",uscc," in lines[1]
    assert browser.get(f"/subjects/{uscc}").status_code == 200
    wrong = browser.post(
        "/jobs/credit-import",
        {"file": (io.BytesIO(b"x"), "exchange.pdf")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 303 and wrong.headers["Location"].endswith("/jobs")


def test_historical_bids_are_imported_as_a_job(committed_url, tmp_path):
    from tests.conftest import make_app
    from tests.console.conftest import Browser, market_csv
    from trading.auth import create_token
    from trading.db import database

    app = make_app(committed_url)
    with database(app).transaction("test:seed") as session:
        secret = create_token(session, name="import-auditor", role="auditor")
    browser = Browser(app.test_client())
    browser.sign_in(secret)
    browser.get("/jobs")
    body = "\n".join(market_csv()).encode()
    started = browser.post(
        "/jobs/bids-import",
        {"file": (io.BytesIO(body), "bids.csv")},
        content_type="multipart/form-data",
    )
    progress = _wait_for(browser, started.headers["Location"])
    assert progress["state"] == "done", progress
    assert progress["result"]["accepted"] == 30 and progress["result"]["tenders_created"] == 6
    assert "HIST-2024-005" in browser.get("/tenders").text


def test_the_subject_page_answers_the_eligibility_question(signed_in, world):
    centre = signed_in("centre")
    debarred = centre.get(f"/subjects/{world['debarred']}?purpose=bid&sector=construction")
    assert 'id="eligibility"' in debarred.text and "credit.blacklisted" in debarred.text
    assert "不得参与" in debarred.text
    clean = centre.get(f"/subjects/{world['bidders'][2]}?purpose=bid")
    assert "可以参与" in clean.text
    wrong = centre.get(f"/subjects/{world['bidders'][2]}?purpose=fly&on=never")
    assert wrong.status_code == 200 and 'id="eligibility"' not in wrong.text
    assert "on" in _errors(wrong.text)


def test_after_the_window_an_auditor_reads_the_whole_record_and_verifies_it(
    signed_in, world, monkeypatch
):
    centre = signed_in("centre")
    where = _draw(centre, world)
    later = clock.now() + timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    auditor = signed_in("auditor")
    assert where in auditor.get("/draws").text  # unsealed draws are listed for readers
    record = auditor.get(where)
    assert record.status_code == 200
    assert "draws.sealed" not in record.text and "13800000" not in record.text  # no contacts
    assert "完整抽取记录" in record.text  # pools, exclusions and seeds
    seed = re.search(r'<dt>随机种子</dt><dd><code class="hash">([0-9a-f]+)</code>', record.text)
    assert seed and len(seed.group(1)) >= 32
    verified = auditor.get(f"{where}/verification")
    assert verified.status_code == 200 and 'class="status good"' in verified.text
    # The window is over: the centre can no longer replace anyone.
    assert 'class="inline replace-form"' not in centre.get(where).text


def test_times_are_shown_on_the_configured_clock(app, signed_in, world):
    auditor = signed_in("auditor")
    page = auditor.get(f"/tenders/{world['tender']}").text
    app.config["CONSOLE_UTC_OFFSET_HOURS"] = 0
    utc = auditor.get(f"/tenders/{world['tender']}").text
    shown = re.findall(r"<dt>投标截止</dt><dd>([^<]+)</dd>", page)[0]
    shown_utc = re.findall(r"<dt>投标截止</dt><dd>([^<]+)</dd>", utc)[0]
    difference = datetime.fromisoformat(shown) - datetime.fromisoformat(shown_utc)
    assert difference == timedelta(hours=8)


def test_a_centre_registers_a_tender_from_a_form_and_awards_it(signed_in, world, session):
    centre = signed_in("centre")
    assert 'id="new-tender"' in centre.get("/tenders").text
    form = centre.get("/tenders/new")
    assert form.status_code == 200 and 'id="tender-form"' in form.text
    now = datetime.now(timezone(timedelta(hours=8)))
    fields = {
        "ref": "CONSOLE-2026-001",
        "title": "朝阳区某学校校舍维修工程",
        "tenderee": world["tenderee"],
        "agency": world["agency"],
        "sector": "construction",
        "region": "110105",
        "specialty": "A0101",
        "estimate": "1,200,000.50",  # thousands commas as people type them
        "deadline": (now + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M"),
        "opening_at": (now + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    bad = centre.post("/tenders/new", {**fields, "opening_at": "2020-01-01T09:00"})
    assert bad.status_code == 422 and "opening_at" in _errors(bad.text)
    created = centre.post("/tenders/new", fields)
    assert created.status_code == 303, created.text[:500]
    tender = session.scalars(select(Tender).where(Tender.ref == "CONSOLE-2026-001")).one()
    assert str(tender.estimate) == "1200000.50" and tender.centre_uscc == CENTRE
    # China time on the form is UTC in the database.
    assert tender.deadline.strftime("%H:%M") == (now + timedelta(minutes=2)).astimezone(
        UTC
    ).strftime("%H:%M")
    page = centre.get("/tenders/CONSOLE-2026-001")
    assert 'id="bid-form"' in page.text and 'id="award-form"' not in page.text
    # After the opening the owning centre awards, confirming what it does.
    bidder = world["bidders"][1]
    centre.post(
        "/tenders/CONSOLE-2026-001/bids",
        {"bidder": bidder, "price": "1100000", "submitted_at": _china_wall_clock()},
    )
    with clock.frozen(tender.opening_at + timedelta(minutes=1)):
        page = centre.get("/tenders/CONSOLE-2026-001")
        assert 'id="award-form"' in page.text and "不可更改" in page.text
        unconfirmed = centre.post("/tenders/CONSOLE-2026-001/award", {"bidder": bidder})
        assert unconfirmed.status_code == 422 and "confirm" in _errors(unconfirmed.text)
        other = signed_in("other_centre")
        assert 'id="award-form"' not in other.get("/tenders/CONSOLE-2026-001").text
        awarded = centre.post(
            "/tenders/CONSOLE-2026-001/award", {"bidder": bidder, "confirm": "yes"}
        )
        assert awarded.status_code == 303, awarded.text[:500]
    session.expire_all()
    assert session.scalars(select(Tender).where(Tender.ref == "CONSOLE-2026-001")).one().awarded_at


def test_each_role_s_home_page_counts_its_work(signed_in, world, session, client):
    from trading.collusion.models import Alert as OpenAlert

    centre = signed_in("centre").get("/").text
    assert 'id="dashboard"' in centre and "投标中的项目" in centre
    assert "待复核的预警" not in centre  # alerts are not a centre's
    open_alerts = session.scalar(select(func.count(OpenAlert.id)).where(OpenAlert.status == "open"))
    auditor = signed_in("auditor").get("/").text
    figure = re.search(r'id="fig-dash-open_alerts"><strong>(\d+)</strong>', auditor)
    assert figure and int(figure.group(1)) == open_alerts
    assert (
        "<svg" in auditor
        and "http" not in auditor.split('id="dashboard"')[1].split("</section>")[0]
    )
    regulator = signed_in("regulator").get("/").text
    assert "生效中的黑名单" in regulator and "待办的修复与异议" in regulator
    assert 'id="dashboard"' not in client.get("/").text  # the public sees no figures


def test_an_alert_shows_who_won_where_and_its_evidence_by_kind(signed_in, session, world):
    auditor = signed_in("auditor")
    listing = auditor.get("/alerts?status=all").text
    ids = [int(i) for i in re.findall(r'href="/alerts/(\d+)"', listing)]
    page = auditor.get(f"/alerts/{ids[0]}").text
    matrix = page.split('id="rotation-matrix"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td><code>(HIST-2024-\d+)</code>.*?</tr>", matrix, re.S)
    assert len(rows) >= 3
    body = matrix.split("<tbody>")[1].split("</tbody>")[0]
    per_row = [row.count('class="cell won"') for row in body.split("</tr>") if "<code>" in row]
    assert per_row and all(n == 1 for n in per_row)  # the ring takes turns: one winner each
    wins = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', matrix.split("<tfoot>")[1])]
    assert sum(wins) == len(per_row) and max(wins) - min(wins) <= 1  # rotation, evenly
    kinds = page.split('id="evidence-kinds"')[1].split("</table>")[0]
    assert kinds.count("<tr><td>") >= 2
