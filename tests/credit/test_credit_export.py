"""Bulk export of the register in the exchange format, and CSV with Chinese headers."""

from __future__ import annotations

import json
import random

from click.testing import CliRunner
from flask.cli import ScriptInfo

from credit.identifiers import make_uscc
from tests.conftest import make_app
from tests.credit.conftest import Register, basis
from trading.auth import create_token
from trading.db import database


def _cli(app, *args):
    result = CliRunner().invoke(app.cli, list(args), obj=ScriptInfo(create_app=lambda: app))
    return result


def _arrange(app) -> None:
    with database(app).transaction("test:arrange") as session:
        secret = create_token(
            session,
            name="export-regulator",
            role="regulator",
            authority="北京市住房和城乡建设委员会",
        )
    client = app.test_client()
    reg = Register(client, {"regulator": {"Authorization": f"Bearer {secret}"}, "centre": {}})
    firm, other = reg.org("导出测试一公司"), reg.org("导出测试二公司")
    person = reg.person("导出测试人")
    reg.post(f"/subjects/{firm['id']}/relations", {"kind": "shareholder", "other": other["uscc"]})
    record = reg.record(firm)
    reg.post(
        f"/records/{record['id']}/revocations", {"basis": basis("2024-05-01", "撤〔2024〕9号")}, 201
    )
    reg.record(person, category="collusion")
    listing = reg.listing(firm)
    reg.post(
        f"/listings/{listing['id']}/lifts", {"basis": basis("2024-06-01", "移〔2024〕3号")}, 201
    )


def _content(lines: list[str]) -> list[str]:
    rows = [json.loads(line) for line in lines]
    return sorted(
        json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True) for r in rows
    )


def test_the_register_exports_and_imports_back_unchanged(committed_url, migrated, tmp_path):
    source = make_app(committed_url)
    _arrange(source)
    exported = tmp_path / "register.jsonl"
    first = _cli(source, "exchange", "export", str(exported))
    assert first.exit_code == 0, first.output
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 8 and first.output.strip().splitlines()[-1].isdigit()

    mirror = make_app(migrated.fresh_url())
    imported = _cli(mirror, "exchange", "import", str(exported))
    assert imported.exit_code == 0, imported.output
    again = tmp_path / "again.jsonl"
    assert _cli(mirror, "exchange", "export", str(again)).exit_code == 0
    # The same rows (each platform numbers its own; order follows the mirror's own writes).
    assert _content(again.read_text(encoding="utf-8").splitlines()) == _content(lines)

    # A delta after the cursor holds only what came later.
    cursor = first.output.strip().splitlines()[-1]
    client = source.test_client()
    with database(source).transaction("test:arrange") as session:
        secret = create_token(session, name="export-late", role="regulator")
    late = client.post(
        "/api/v1/subjects",
        json={
            "kind": "bidder",
            "name": "后来的公司",
            "uscc": make_uscc(random.Random(9), "110105"),
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert late.status_code == 201, late.get_json()
    delta = tmp_path / "delta.jsonl"
    assert _cli(source, "exchange", "export", str(delta), "--after", cursor).exit_code == 0
    rows = delta.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 and "后来的公司" in rows[0]
    for app in (source, mirror):
        database(app).dispose()


def test_the_blacklist_csv_has_chinese_headers_on_request(reg, client, tokens):
    firm = reg.org("中文表头测试公司")
    reg.listing(firm)
    plain = client.get(
        "/api/v1/blacklist",
        query_string={"format": "csv", "on": "2024-04-01"},
        headers=tokens["regulator"],
    )
    assert plain.get_data(as_text=True).splitlines()[0].startswith("listing_id,list,")
    chinese = client.get(
        "/api/v1/blacklist",
        query_string={"format": "csv", "on": "2024-04-01", "headers": "zh"},
        headers=tokens["regulator"],
    )
    text = chinese.get_data(as_text=True)
    assert text.startswith("\ufeff名单编号,名单类别,主体编号")
    assert "中文表头测试公司" in text
