"""Hostile input over every operation of the OpenAPI document, as every caller: no 5xx.

What a careless client or an attacker sends: JSON nested tens of thousands deep, lone
surrogates (``"\\ud800"``), NUL characters, Unicode digits (``"¹"``, ``"١٢"``) where an id
or a code is expected, dates at the ends of the calendar (``9999-12-31``) and integers past
64 bits (``2**63``). Each is put by hypothesis into one place of a request (a path
parameter, a query parameter, a leaf of a body that is otherwise valid) of every operation
the document lists, over the demo data, and sent without a token and with the token of
every role. Every answer is below 500, and every refusal is in the one error shape.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from credit import demo as credit_demo
from credit.identifiers import make_resident_id
from credit.models import CreditRecord, Listing, Subject
from experts import demo as experts_demo
from experts.models import Draw, Expert
from tests.test_api_fuzz import OPERATIONS
from trading import clock
from trading import demo as trading_demo
from trading.collusion.models import Alert
from trading.models import Tender

CALLERS = (None, "admin", "centre", "other_centre", "regulator", "auditor")
#: Generated values tried in each place, besides one of every kind (CANONICAL).
EXAMPLES_PER_PLACE = 1

# --- strategies ----------------------------------------------------------------------

UNICODE_DIGITS = "¹²³⁰⁴⁵₁₂١٢٣٠۱۲۳४५６７８９𝟏𝟐"
nul_text = st.text(max_size=4).map(lambda s: f"{s}\x00{s}")
surrogate_text = st.sampled_from(["\ud800", "\udfff", "a\udc00b"]).flatmap(
    lambda s: st.text(max_size=3).map(lambda t: t + s)
)
unicode_digit_text = st.text(alphabet=UNICODE_DIGITS, min_size=1, max_size=20)
extreme_dates = st.sampled_from(["9999-12-31", "0001-01-01", "9998-12-31", "1900-01-01"])
extreme_datetimes = extreme_dates.map(lambda d: f"{d}T23:59:59+00:00")
huge_integers = st.one_of(
    st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 2**31, 2**64, 10**40]),
    st.integers(min_value=2**62, max_value=2**80),
)
#: What may appear where text goes (a URL carries no surrogate: a client cannot encode one).
url_values = st.one_of(
    nul_text, unicode_digit_text, extreme_dates, huge_integers.map(str), extreme_datetimes
)
json_values = st.one_of(
    nul_text,
    surrogate_text,
    unicode_digit_text,
    extreme_dates,
    extreme_datetimes,
    huge_integers,
    huge_integers.map(str),
    st.lists(st.one_of(nul_text, surrogate_text, huge_integers), min_size=1, max_size=2),
)


#: One value of every kind, tried in every place of every operation.
CANONICAL_URL = ["a\x00b", "¹", "9999-12-31", "9999-12-31T23:59:59+00:00", str(2**63)]
CANONICAL_JSON = [*CANONICAL_URL, "\ud800", 2**63, ["\x00"]]


def deeply_nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# --- the demo world, and a valid body for each writing operation ---------------------


def _values(session) -> dict[str, Any]:
    def first(stmt):
        return session.scalars(stmt.limit(1)).first()

    organisations = list(
        session.scalars(select(Subject.uscc).where(Subject.uscc.is_not(None)).limit(6))
    )
    return {
        "ref": organisations[0],
        "uscc": organisations[0],
        "organisations": organisations,
        "person": first(select(Subject.id_number).where(Subject.id_number.is_not(None))),
        "record_id": first(select(CreditRecord.id)),
        "listing_id": first(select(Listing.id)),
        "expert_id": first(select(Expert.id)),
        "draw_id": first(select(Draw.id)),
        "alert_id": first(select(Alert.id)),
        "tender_ref": first(select(Tender.ref)),
        "inspection_id": 1,
    }


def _basis(day: str = "2025-01-10") -> dict:
    return {
        "authority": "北京市住房和城乡建设委员会",
        "document_no": "京建〔2025〕9号",
        "decided_on": day,
    }


def _bodies(v: dict[str, Any]) -> dict[tuple[str, str], dict]:
    orgs = v["organisations"]
    today = clock.today()
    now = clock.now().replace(microsecond=0)
    later = (now + timedelta(days=20)).isoformat() + "Z"
    return {
        ("POST", "/api/v1/subjects"): {
            "kind": "bidder",
            "name": "敌意输入公司",
            "uscc": "91110000600037341L",
            "region": "110105",
        },
        ("POST", "/api/v1/subjects/{ref}/relations"): {
            "kind": "shareholder",
            "other": orgs[1],
            "share": "0.3",
            "start": "2020-01-01",
        },
        ("POST", "/api/v1/subjects/{ref}/records"): {
            "polarity": "negative",
            "category": "collusion",
            "severity": "general",
            "description": "串通投标",
            "basis": _basis(),
            "effective_from": "2025-01-10",
            "source": {"platform": "hostile", "id": "r-1"},
        },
        ("POST", "/api/v1/records/{record_id}/revocations"): {
            "kind": "revocation",
            "basis": _basis(),
            "on": today.isoformat(),
            "reason": "撤销",
        },
        ("POST", "/api/v1/subjects/{ref}/listings"): {
            "list": "blacklist",
            "basis": _basis(),
            "start": "2025-01-10",
            "end": "2026-01-10",
            "sectors": ["construction"],
            "regions": ["110000"],
        },
        ("POST", "/api/v1/listings/{listing_id}/lifts"): {
            "basis": _basis(),
            "on": today.isoformat(),
        },
        ("POST", "/api/v1/eligibility"): {
            "purpose": "bid",
            "subjects": [orgs[0], v["person"], "敌意公司"],
            "on": today.isoformat(),
        },
        ("POST", "/api/v1/experts"): {
            "name": "敌意专家",
            "id_number": make_resident_id(random.Random(1), "110105"),
            "region": "110105",
            "specialties": ["A0801"],
            "employer": orgs[2],
        },
        ("PATCH", "/api/v1/experts/{expert_id}"): {"title": "高级工程师", "specialties": ["A0801"]},
        ("POST", "/api/v1/experts/{expert_id}/status-changes"): {
            "status": "suspended",
            "reason": "请假",
        },
        ("POST", "/api/v1/experts/{expert_id}/leaves"): {
            "start": today.isoformat(),
            "end": (today + timedelta(days=3)).isoformat(),
        },
        ("POST", "/api/v1/experts/{expert_id}/relations"): {
            "kind": "employment",
            "other": orgs[3],
            "start": "2020-01-01",
        },
        ("POST", "/api/v1/draws"): {
            "tender_ref": "HOSTILE-1",
            "tenderee": orgs[0],
            "agency": orgs[1],
            "bidders": orgs[2:4],
            "window": {"start": later, "end": later.replace("Z", "") + "Z"},
            "seats": [{"specialty": "A0801", "count": 1}],
            "backups": 1,
            "region_rule": {"mode": "list", "regions": ["110000"]},
        },
        ("POST", "/api/v1/draws/{draw_id}/replacements"): {
            "expert_id": v["expert_id"],
            "reason": "declined",
        },
        ("POST", "/api/v1/draws/{draw_id}/feedback"): {
            "expert_id": v["expert_id"],
            "attendance": "present",
        },
        ("POST", "/api/v1/inspections/draws"): {
            "title": "双随机抽查",
            "population": {"kinds": ["bidder"], "regions": ["110000"]},
            "subjects": 1,
            "inspectors": {"count": 1, "specialty": "A0801"},
        },
        ("POST", "/api/v1/inspections/draws/{inspection_id}/results"): {
            "subject_id": 1,
            "outcome": "compliant",
        },
        ("POST", "/api/v1/tenders"): {
            "ref": "HOSTILE-T-1",
            "title": "敌意输入标段",
            "tenderee": orgs[0],
            "agency": orgs[1],
            "sector": "construction",
            "region": "110105",
            "specialty": "A0801",
            "estimate": "1000000",
            "deadline": later,
            "opening_at": later,
        },
        ("POST", "/api/v1/tenders/{ref}/bids"): {
            "bidder": orgs[4],
            "price": "990000",
            "submitted_at": now.isoformat() + "Z",
            "fingerprint": {"machine_code": "M-1", "ip": "10.0.0.1"},
        },
        ("POST", "/api/v1/tenders/{ref}/award"): {"bidder": orgs[4]},
        ("POST", "/api/v1/collusion/scans"): {"tender_ref": v["tender_ref"]},
        ("POST", "/api/v1/collusion/alerts/{alert_id}/reviews"): {
            "decision": "dismissed",
            "note": "无证据",
        },
    }


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaves(item, (*path, key))]
    if isinstance(value, list) and value:
        return [p for n, item in enumerate(value) for p in _leaves(item, (*path, n))]
    return [path]


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value.get(head), rest, new)}
    out = list(value)
    out[head] = _replaced(out[head], rest, new)
    return out


# --- checks ---------------------------------------------------------------------------


def _assert_answered(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.data[:300])
    if response.status_code >= 400:
        body = response.get_json(silent=True)
        assert isinstance(body, dict), (what, response.status_code, response.data[:300])
        assert body.get("code") == response.status_code, (what, body)
        assert isinstance(body.get("message"), str) and isinstance(body.get("errors"), dict), (
            what,
            body,
        )


def _send(client, method: str, url: str, headers: dict, **kw) -> None:
    for caller in CALLERS:
        own = dict(headers)
        if caller is not None:
            own.update(HEADERS[caller])
        response = client.open(url, method=method, headers=own, **kw)
        _assert_answered(response, f"{method} {url} as {caller}: {str(kw)[:200]}")


HEADERS: dict[str, dict] = {}


def _url(path: str, params: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(params[m.group(1)]), path)


def _json_bytes(body: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as its escape, which is valid JSON text.
    return json.dumps(body, ensure_ascii=True).encode()


@pytest.fixture
def demo_world(app, session, tokens):
    rng = random.Random(2015)
    for module in (credit_demo, experts_demo, trading_demo):
        module.load(session, rng)
    session.commit()
    HEADERS.clear()
    HEADERS.update(tokens)
    return _values(session)


def _operation_documents(app) -> dict[tuple[str, str], dict]:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return {
        (method.upper(), path): {**operation, "shared": item.get("parameters", [])}
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def _fuzz_operation(client, world, method, path, doc, body) -> list[str]:
    """Hostile values in every place of one operation (path and query parameters, each
    leaf of the body), each request sent as every caller; the failures found."""
    parameters = doc.get("parameters", []) + doc["shared"]
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    query_names = [p["name"] for p in parameters if p["in"] == "query"]
    content = doc.get("requestBody", {}).get("content", {})
    if body is None and "application/json" in content:
        schema = content["application/json"].get("schema", {})
        body = {name: "x" for name in schema.get("properties", {})} or {"x": "x"}
    base_query = {"purpose": "bid"} if path.endswith("/eligibility") and method == "GET" else {}
    places = [("path", n) for n in path_names] + [("query", n) for n in query_names]
    if body is not None:
        places += [("body", leaf) for leaf in _leaves(body)]
    failures = []
    for where, name in places or [("query", "q")]:
        in_url = where != "body"
        run = given(value=url_values if in_url else json_values)(
            _sender(client, world, method, path, path_names, base_query, body, content, where, name)
        )
        for value in CANONICAL_URL if in_url else CANONICAL_JSON:
            run = example(value=value)(run)
        run = settings(
            max_examples=EXAMPLES_PER_PLACE,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )(run)
        try:
            run()
        except Exception as exc:  # every place is tried; all failures are reported
            failures.append(f"{method} {path} [{where} {name}]: {str(exc).splitlines()[0][:300]}")
    return failures


def _sender(client, world, method, path, path_names, base_query, body, content, where, name):
    """Sends the operation with ``value`` in the one place (as every caller)."""

    def send(value) -> None:
        params = {n: world.get(n, "1") for n in path_names}
        query = dict(base_query)
        sent_body = body
        if where == "path":
            params[name] = value
        elif where == "query":
            query[name] = value
        else:
            sent_body = _replaced(body, name, value)
        kw: dict[str, Any] = {"query_string": query}
        if sent_body is not None and "application/json" in content:
            kw.update(data=_json_bytes(sent_body), content_type="application/json")
        _send(client, method, _url(path, params), {}, **kw)

    return send


def test_hostile_values_anywhere_in_any_operation_never_make_a_server_error(app, demo_world):
    client = app.test_client()
    bodies = _bodies(demo_world)
    documents = _operation_documents(app)
    assert {(m, p) for p, m in OPERATIONS} == set(documents)
    failures = []
    for (method, path), doc in sorted(documents.items()):
        failures += _fuzz_operation(
            client, demo_world, method, path, doc, bodies.get((method, path))
        )
    assert not failures, "\n".join(failures)


def test_json_nested_twenty_thousand_deep_is_refused_on_every_writing_operation(app, tokens):
    client = app.test_client()
    HEADERS.clear()
    HEADERS.update(tokens)
    documents = _operation_documents(app)
    writing = [
        (method, path)
        for (method, path), doc in sorted(documents.items())
        if "application/json" in doc.get("requestBody", {}).get("content", {})
    ]
    assert len(writing) >= 20
    for method, path in writing:
        url = _url(path, {n: "1" for n in re.findall(r"{(\w+)}", path)})
        for depth, kind in ((20_000, "array"), (50_000, "object")):
            body = deeply_nested(depth, kind)
            _send(client, method, url, {}, data=body, content_type="application/json")
        # A deep document that does parse is refused too, before any rule sees it.
        admin = client.open(
            url,
            method=method,
            headers=HEADERS["admin"],
            data=deeply_nested(200, "object"),
            content_type="application/json",
        )
        assert admin.status_code == 400, (method, path, admin.get_json())
        assert admin.get_json()["rule"] == "request.json_depth"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/public/subjects/¹/credit",
        "/api/v1/public/subjects/¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹/credit",
        "/api/v1/public/subjects/%00/credit",
        "/api/v1/public/blacklist?q=¹",
        "/api/v1/public/blacklist?q=%00",
        "/public/credit?q=¹",
        "/public/credit?q=%00",
        "/public/credit?q=¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹",
        "/public/subjects/¹",
        "/public/subjects/¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹",
        "/public/blacklist?q=¹",
        "/public/blacklist?q=%00",
    ],
)
def test_the_public_views_take_hostile_input_without_a_token(client, url):
    """The public API and the console's public pages (政务公开), without a token."""
    response = client.get(url)
    assert response.status_code < 500, (url, response.status_code, response.data[:300])
    assert response.status_code != 404 or "/subjects/" in url, url  # the page was reached
