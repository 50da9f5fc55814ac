"""Exchange with other platforms: streamed import of JSON Lines and CSV, row by row, safe
to retry after a crash; and the change feed another platform mirrors."""

from __future__ import annotations

import io
import json

import pytest

from credit import exchange
from credit.identifiers import make_resident_id, make_uscc
from trading.db import database

SRC = "ggzy.jiangsu.gov.cn"


def _basis(day="2024-03-01", doc="苏建罚〔2024〕7号"):
    return {"authority": "江苏省住房和城乡建设厅", "document_no": doc, "decided_on": day}


@pytest.fixture
def story(reg):
    """A file from another platform: 2 firms and a person, records, a listing, a lift,
    a revocation; one bad row of each kind; one row repeated."""
    rng = reg.rng
    a, b = make_uscc(rng, "320102"), make_uscc(rng, "320205")
    person = make_resident_id(rng, "320102")
    rows = [
        {
            "type": "subject",
            "source": {"platform": SRC, "id": "S1"},
            "kind": "bidder",
            "name": "南京甲建设",
            "uscc": a,
        },
        {
            "type": "subject",
            "source": {"platform": SRC, "id": "S2"},
            "kind": "bidder",
            "name": "无锡乙建设",
            "uscc": b,
        },
        {
            "type": "subject",
            "source": {"platform": SRC, "id": "S3"},
            "kind": "practitioner",
            "name": "周建国",
            "id_number": person,
        },
        {
            "type": "relation",
            "source": {"platform": SRC, "id": "L1"},
            "subject": person,
            "kind": "employment",
            "other": a,
            "start": "2018-01-01",
        },
        {
            "type": "record",
            "source": {"platform": SRC, "id": "R1"},
            "subject": a,
            "polarity": "negative",
            "category": "围标串标",
            "severity": "serious",
            "basis": _basis(),
            "effective_from": "2024-03-01",
            "effective_to": "2026-03-01",
        },
        {
            "type": "record",
            "source": {"platform": SRC, "id": "R2"},
            "subject": b,
            "polarity": "negative",
            "category": "collusion",
            "severity": "serious",
            "basis": _basis(doc="苏建罚〔2024〕8号"),
            "effective_from": "2024-03-01",
            "effective_to": "2026-03-01",
        },
        {
            "type": "revocation",
            "source": {"platform": SRC, "id": "V1"},
            "record": {"platform": SRC, "id": "R2"},
            "basis": _basis("2024-06-01", "复议〔2024〕2号"),
        },
        {
            "type": "listing",
            "source": {"platform": SRC, "id": "B1"},
            "subject": a,
            "list": "blacklist",
            "basis": _basis(),
            "start": "2024-03-01",
            "sectors": ["construction"],
            "regions": ["320000"],
        },
        {
            "type": "lift",
            "source": {"platform": SRC, "id": "U1"},
            "listing": {"platform": SRC, "id": "B1"},
            "basis": _basis("2024-09-01", "移出〔2024〕3号"),
        },
        # bad rows
        {
            "type": "record",
            "source": {"platform": SRC, "id": "R3"},
            "subject": a,
            "polarity": "negative",
            "category": "collusion",
            "severity": "serious",
            "effective_from": "2024-03-01",
        },  # no basis
        {
            "type": "subject",
            "source": {"platform": SRC, "id": "S4"},
            "kind": "bidder",
            "name": "坏代码",
            "uscc": a[:17] + ("0" if a[17] != "0" else "1"),
        },
        {
            "type": "record",
            "source": {"platform": SRC, "id": "R4"},
            "subject": "91110000MA00000000",
            "polarity": "negative",
            "category": "fraud",
            "severity": "minor",
            "basis": _basis(),
            "effective_to": "2024-04-01",
        },
        # the same source again
        {
            "type": "record",
            "source": {"platform": SRC, "id": "R1"},
            "subject": a,
            "polarity": "negative",
            "category": "围标串标",
            "severity": "serious",
            "basis": _basis(),
            "effective_from": "2024-03-01",
            "effective_to": "2026-03-01",
        },
    ]
    return {"rows": rows, "a": a, "b": b, "person": person}


def _jsonl(rows) -> bytes:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(3, "")  # a blank line still counts in the numbering
    lines.insert(5, "{not json")
    return ("\n".join(lines) + "\n").encode()


def _flatten(row: dict, prefix="") -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            out[prefix + key] = ";".join(value)
        else:
            out[prefix + key] = value
    return out


def _csv(rows) -> bytes:
    import csv

    flat = [_flatten(r) for r in rows]
    header = sorted({k for r in flat for k in r}, key=lambda k: (k != "type", k))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header)
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue().encode()


def _post(client, tokens, body: bytes, content_type: str, **headers):
    return client.post(
        "/api/v1/exchange/imports",
        data=body,
        content_type=content_type,
        headers={**tokens["regulator"], **headers},
    )


def test_a_jsonl_import_applies_good_rows_and_reports_bad_ones_by_line(story, client, tokens, reg):
    response = _post(client, tokens, _jsonl(story["rows"]), "application/x-ndjson")
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["accepted"] == 9 and result["duplicates"] == 1
    # Lines: 1-3 subjects, 4 blank, 5 relation, 6 bad JSON, 7.. the rest in order.
    rejected = {r["line"]: r["errors"] for r in result["rejected"]}
    assert set(rejected) == {6, 12, 13, 14}
    assert "_line" in rejected[6]
    assert "basis" in rejected[12]
    assert "uscc" in rejected[13]
    assert "subject" in rejected[14]
    firm = {"id": story["a"]}
    assert not reg.eligibility(
        firm, "bid", on="2024-05-01", region="320102", sector="construction"
    )["eligible"]
    reasons = reg.eligibility(firm, "bid", on="2024-10-01")["reasons"]
    assert [r["rule"] for r in reasons] == ["credit.record_bars_bid"]  # listing lifted
    assert reg.eligibility({"id": story["b"]}, "bid", on="2024-07-01")["eligible"]  # revoked
    # Importing the same file again changes nothing.
    again = _post(client, tokens, _jsonl(story["rows"]), "application/x-ndjson").get_json()
    assert again["accepted"] == 0 and again["duplicates"] == 10
    assert len(again["rejected"]) == 4


def test_a_csv_import_counts_the_header_as_line_1(story, client, tokens):
    body = _csv(story["rows"])
    result = _post(client, tokens, body, "text/csv").get_json()
    assert result["accepted"] == 9 and result["duplicates"] == 1
    assert [r["line"] for r in result["rejected"]] == [11, 12, 13]
    assert "basis" in result["rejected"][0]["errors"]


def test_the_import_answers_415_for_other_formats_and_replays_an_idempotency_key(
    story, client, tokens
):
    assert _post(client, tokens, b"{}", "application/json").status_code == 415
    body = _jsonl(story["rows"][:3])
    first = _post(client, tokens, body, "application/x-ndjson", **{"Idempotency-Key": "k1"})
    second = _post(client, tokens, body, "application/x-ndjson", **{"Idempotency-Key": "k1"})
    assert first.get_json() == second.get_json()
    assert first.get_json()["accepted"] == 3
    assert second.headers.get("Idempotent-Replayed") == "true"
    forbidden = client.post(
        "/api/v1/exchange/imports",
        data=body,
        content_type="application/x-ndjson",
        headers=tokens["centre"],
    )
    assert forbidden.status_code == 403


def test_a_crash_half_way_loses_nothing_and_a_retry_applies_nothing_twice(story, app, monkeypatch):
    rows = story["rows"][:9]  # all good
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    real = exchange._apply_batch
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(exchange, "_apply_batch", crash_on_third)
    with app.app_context():
        session = database().session()
        with pytest.raises(RuntimeError):
            exchange.import_rows(session, exchange.read_jsonl(io.BytesIO(body)), batch_size=2)
        session.close()
        monkeypatch.setattr(exchange, "_apply_batch", real)
        session = database().session()
        result = exchange.import_rows(session, exchange.read_jsonl(io.BytesIO(body)), batch_size=2)
        # 2 batches of 2 rows were committed before the crash.
        assert (result.accepted, result.duplicates, result.rejected) == (5, 4, [])
        feed = exchange.read_feed(session, 0, 100)
        assert [i["data"]["source"]["id"] for i in feed["items"]] == [
            "S1",
            "S2",
            "S3",
            "L1",
            "R1",
            "R2",
            "V1",
            "B1",
            "U1",
        ]
        session.close()


def test_the_cli_imports_a_file_with_progress(story, app, tmp_path):
    path = tmp_path / "exchange.csv"
    path.write_bytes(_csv(story["rows"]))
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["exchange", "import", str(path), "--batch-size", "4"], catch_exceptions=False
    )
    assert result.exit_code == 1  # some rows were rejected
    assert "9 accepted, 1 duplicates, 3 rejected" in result.output
    assert "line 11: basis" in result.output
    assert "lines/s" in result.stderr
    again = runner.invoke(args=["exchange", "import", str(path)])
    assert "0 accepted, 10 duplicates" in again.output


def test_the_change_feed_mirrors_everything_with_a_cursor(story, reg, client, tokens):
    _post(client, tokens, _jsonl(story["rows"]), "application/x-ndjson")
    firm = reg.org("本地公司")
    record = reg.record(firm)
    reg.post(
        f"/records/{record['id']}/revocations",
        {
            "basis": {
                "authority": "某局",
                "document_no": "撤〔2024〕1号",
                "decided_on": "2024-05-01",
            }
        },
        201,
    )
    listing = reg.listing(firm)
    reg.post(
        f"/listings/{listing['id']}/lifts",
        {
            "basis": {
                "authority": "某局",
                "document_no": "移〔2024〕2号",
                "decided_on": "2024-06-01",
            }
        },
        201,
    )

    seen, cursor = [], 0
    while True:
        page = client.get(
            "/api/v1/exchange/changes",
            query_string={"after": cursor, "limit": 4},
            headers=tokens["regulator"],
        ).get_json()
        seen += page["items"]
        assert page["next"] >= cursor
        cursor = page["next"]
        if not page["more"]:
            break
    types = [i["type"] for i in seen]
    assert types == ["subject"] * 3 + [
        "relation",
        "record",
        "record",
        "revocation",
        "listing",
        "lift",
        "subject",
        "record",
        "revocation",
        "listing",
        "lift",
    ]
    assert [i["cursor"] for i in seen] == sorted(i["cursor"] for i in seen)
    lift = seen[-1]["data"]
    assert lift["listing"] == listing["source"] and lift["on"] == "2024-06-01"
    revocation = seen[-3]["data"]
    assert revocation["record"] == record["source"] and revocation["kind"] == "revocation"
    person = seen[2]["data"]
    assert person["id_number"] == story["person"]  # regulators see it in full
    # The feed is the register's own: auditors do not read it (least privilege).
    assert client.get("/api/v1/exchange/changes", headers=tokens["auditor"]).status_code == 403
    # What the feed gives can be imported as is: here everything is already applied.
    lines = exchange.feed_lines(seen).encode()
    result = _post(client, tokens, lines, "application/x-ndjson").get_json()
    assert result == {
        "accepted": 0,
        "duplicates": len(seen),
        "duplicate_lines": list(range(1, len(seen) + 1)),
        "rejected": [],
        "rejected_total": 0,
        "lines": len(seen),
    }


@pytest.mark.parametrize(
    "kind, field, message",
    [
        ("record", "subject", "is required (USCC, ID number or id)"),
        ("listing", "subject", "is required (USCC, ID number or id)"),
        ("revocation", "record", "is required: {platform, id} or a record id"),
        ("lift", "listing", "is required: {platform, id} or a listing id"),
    ],
)
def test_a_row_without_what_it_refers_to_names_the_missing_field(kind, field, message):
    from datetime import date

    row = exchange.Row(3, {"type": kind, "source": {"platform": "p", "id": "1"}})
    errors = exchange.validate_row(row, date(2025, 6, 1))
    assert isinstance(errors, dict) and message in errors[field]


def test_a_record_row_names_a_bad_correction_and_keeps_a_good_one():
    from datetime import date

    bad = exchange.Row(2, {"type": "record", "subject": "1", "corrects": {"platform": "p"}})
    errors = exchange.validate_row(bad, date(2025, 6, 1))
    assert "must be {platform, id} or a record id" in errors["corrects"]
    good = exchange.Row(2, {"type": "record", "subject": "1", "corrects": 17})
    errors = exchange.validate_row(good, date(2025, 6, 1))
    assert "corrects" not in errors


def _hostile_file(reg) -> tuple[list[str], dict[int, str], list[str]]:
    """JSON Lines with good rows between hostile ones: (lines, the field each bad line is
    refused for, the USCCs of the good subjects)."""
    good = [make_uscc(reg.rng, "320102") for _ in range(3)]

    def subject(n: int, uscc: str, name: str = "南京好公司") -> str:
        # Escaped as JSON allows (a lone surrogate has no UTF-8 form to be written raw).
        row = {
            "type": "subject",
            "source": {"platform": SRC, "id": f"H{n}"},
            "kind": "bidder",
            "name": name,
            "uscc": uscc,
        }
        return json.dumps(row)

    record = {
        "type": "record",
        "source": {"platform": SRC, "id": "HR1"},
        "subject": "¹",
        "polarity": "negative",
        "category": "collusion",
        "severity": "serious",
        "description": "串通投标",
        "basis": _basis(),
        "effective_from": "2024-03-01",
    }
    deep = '{"type": "subject", "note": ' + "[" * 50_000 + "]" * 50_000 + "}"
    lines = [
        subject(1, good[0]),
        deep,  # line 2
        subject(2, make_uscc(reg.rng, "320102"), "南京\u0000坏公司"),  # line 3
        json.dumps(record, ensure_ascii=False),  # line 4
        subject(3, good[1]),
        json.dumps({**record, "source": {"platform": SRC, "id": "HR2"}, "subject": "١٢"}),
        json.dumps({**record, "source": {"platform": SRC, "id": "HR3"}, "subject": good[0]}),
        subject(4, make_uscc(reg.rng, "320102"), "坏\ud800公司"),  # line 8 (escaped)
        json.dumps(
            {
                **record,
                "source": {"platform": SRC, "id": "HR4"},
                "subject": good[1],
                "effective_from": "9999-12-31",
            }
        ),  # line 9
        subject(5, good[2]),
    ]
    return (
        lines,
        {2: "_line", 3: "name", 4: "subject", 6: "subject", 8: "name", 9: "effective_from"},
        good,
    )


def test_one_hostile_row_does_not_block_the_rows_around_it(client, tokens, reg):
    lines, refused, good = _hostile_file(reg)
    body = ("\n".join(lines) + "\n").encode()
    for attempt in (1, 2):
        response = _post(client, tokens, body, "application/x-ndjson")
        assert response.status_code == 200, response.get_json()
        result = response.get_json()
        rejected = {r["line"]: r["errors"] for r in result["rejected"]}
        assert set(rejected) == set(refused), rejected
        for line, field_name in refused.items():
            assert field_name in rejected[line], (line, rejected[line])
        if attempt == 1:
            assert result["accepted"] == 4 and result["duplicates"] == 0
        else:  # a retry applies nothing twice and refuses the same lines
            assert result["accepted"] == 0 and result["duplicates"] == 4
    for uscc in good:
        found = client.get(f"/api/v1/subjects/{uscc}", headers=tokens["regulator"])
        assert found.status_code == 200, found.get_json()
    credit = client.get(f"/api/v1/subjects/{good[0]}/credit", headers=tokens["regulator"])
    assert [r["source"]["id"] for r in credit.get_json()["records"]] == ["HR3"]


def test_a_csv_row_with_a_nul_or_a_unicode_digit_is_refused_alone(client, tokens, reg):
    good = make_uscc(reg.rng, "320102")
    rows = [
        "type,source.platform,source.id,kind,name,uscc,subject,polarity,category,severity,"
        "description,basis.authority,basis.document_no,basis.decided_on,effective_from",
        f"subject,{SRC},C1,bidder,南京好公司,{good},,,,,,,,,",
        f"subject,{SRC},C2,bidder,南京\x00坏公司,{make_uscc(reg.rng, '320102')},,,,,,,,,",
        f"record,{SRC},C3,,,,¹,negative,collusion,serious,串通投标,江苏省住房和城乡建设厅,"
        "苏建罚〔2024〕7号,2024-03-01,2024-03-01",
        f"record,{SRC},C4,,,,{good},negative,collusion,serious,串通投标,江苏省住房和城乡建设厅,"
        "苏建罚〔2024〕7号,2024-03-01,2024-03-01",
    ]
    response = _post(client, tokens, ("\n".join(rows) + "\n").encode(), "text/csv")
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["accepted"] == 2
    rejected = {r["line"]: r["errors"] for r in result["rejected"]}
    assert set(rejected) == {3, 4}, rejected
    assert "name" in rejected[3] and "subject" in rejected[4]
