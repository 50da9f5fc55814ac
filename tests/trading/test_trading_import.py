"""Historical bids from CSV (streamed, per-row errors) and the command line."""

from __future__ import annotations

import io
import random

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from credit.identifiers import make_uscc
from credit.models import Subject
from tests.conftest import make_app
from trading.bids_import import FileRefused, import_bids
from trading.collusion.models import TenderScreen
from trading.db import database
from trading.models import Bid, Tender

HEADER = "tender_ref,tender_date,estimate,bidder_uscc,bidder_name,price,winner"


def usccs(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [make_uscc(rng, "110105") for _ in range(n)]


def sample_csv() -> tuple[str, list[str]]:
    a, b, c, d = usccs(4)
    lines = [
        HEADER + ",machine_code,fingerprint.mac,agent",
        f"H-001,2023-05-10,1200000,{a},甲建设,1100000.00,1,MC1,,张三",  # line 2
        f"H-001,2023-05-10,1200000,{b},乙建设,1150000.00,0,MC1,,",  # 3
        f"H-001,2023-05-10,1200000,{c},丙建设,1180000.00,0,,,",  # 4
        f"H-002,2023-06-01,,{a},甲建设,800000,0,,,",  # 5
        f"H-002,2023-06-01,,{b},乙建设,790000.5,yes,,,",  # 6
        f"H-002,2023-06-01,,{c},丙建设,820000,1,,,",  # 7: a second winner
        f"H-003,2023-13-01,,{a},甲建设,800000,0,,,",  # 8: bad date
        "H-003,2023-07-01,,91110105MA000000XX,坏代码,800000,0,,,",  # 9: bad USCC
        f"H-003,2023-07-01,,{d},,800000,0,,,",  # 10: unknown bidder without a name
        f"H-003,2023-07-01,,{a},甲建设,-5,0,,,",  # 11: bad price
        f'"H-003","2023-07-01","","{a}","甲建设","1.001","maybe",,,',  # 12: price, winner
        "H-004,2023-07-01,,only,three",  # 13: wrong shape
        "",  # 14: blank lines are skipped
        f"H/005,2023-07-01,,{a},甲建设,1000,0,,,",  # 15: bad ref
    ]
    return "\n".join(lines) + "\n", [a, b, c, d]


def test_good_rows_apply_and_bad_rows_come_back_with_their_line(app, session):
    text, (a, b, c, d) = sample_csv()
    report = import_bids(session, io.StringIO(text), batch_size=4)
    session.commit()
    assert report.accepted == 5 and report.duplicates == 0
    assert report.tenders_created == 2 and report.bidders_created == 3
    lines = {r.line: r.errors for r in report.rejected}
    assert set(lines) == {7, 8, 9, 10, 11, 12, 13, 15}
    assert "winner" in lines[7] and "tender_date" in lines[8] and "bidder_uscc" in lines[9]
    assert "bidder_name" in lines[10] and "price" in lines[11]
    assert {"price", "winner"} <= lines[12].keys() and "_schema" in lines[13]
    assert "tender_ref" in lines[15]
    created = session.scalars(select(Subject).where(Subject.uscc.in_([a, b, c]))).all()
    assert {s.name for s in created} == {"甲建设", "乙建设", "丙建设"}
    assert all(s.kind == "bidder" and s.region == "110105" for s in created)
    assert session.scalar(select(Subject.id).where(Subject.uscc == d)) is None
    first = session.scalar(select(Tender).where(Tender.ref == "H-001"))
    assert first.origin == "import" and str(first.tender_date) == "2023-05-10"
    assert first.estimate == 1200000 and first.awarded_at is not None
    bids = session.scalars(select(Bid).where(Bid.tender_id == first.id).order_by(Bid.price)).all()
    assert [bid.winner for bid in bids] == [True, False, False]
    assert bids[0].machine_code == "MC1" and bids[0].agent == "张三"
    screen = session.get(TenderScreen, first.id)
    assert screen.n_bids == 3 and screen.cv is not None and screen.red_flags >= 1
    second = session.scalar(select(Tender).where(Tender.ref == "H-002"))
    assert second.estimate is None


def test_a_second_import_of_the_same_file_changes_nothing(app, session):
    text, _ = sample_csv()
    import_bids(session, io.StringIO(text))
    session.commit()
    count = session.scalar(select(func.count(Bid.id)))
    again = import_bids(session, io.StringIO(text))
    assert again.accepted == 0 and again.duplicates == 5 and again.tenders_created == 0
    assert session.scalar(select(func.count(Bid.id))) == count


def test_a_file_without_the_required_columns_is_refused_whole(app, session):
    with pytest.raises(FileRefused) as refused:
        import_bids(session, io.StringIO("tender_ref,price\nA,1\n"))
    assert "bidder_uscc" in " ".join(refused.value.errors["header"])
    with pytest.raises(FileRefused):
        import_bids(session, io.StringIO(""))


def test_import_and_scan_from_the_command_line_with_progress(committed_url, tmp_path):
    app = make_app(committed_url)
    text, _ = sample_csv()
    path = tmp_path / "bids.csv"
    path.write_text(text, encoding="utf-8")
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    result = runner.invoke(
        app.cli, ["trading", "import-bids", str(path), "--batch-size", "5"], obj=info
    )
    assert result.exit_code == 1, result.output  # some rows were rejected
    assert "line 8: tender_date" in result.output
    assert "... 5 rows" in result.output and "imported 5 bids" in result.output
    again = runner.invoke(app.cli, ["trading", "import-bids", str(path)], obj=info)
    assert "imported 0 bids (5 duplicates" in again.output
    missing = runner.invoke(
        app.cli, ["trading", "import-bids", str(tmp_path / "none.csv")], obj=info
    )
    assert missing.exit_code == 2
    scanned = runner.invoke(app.cli, ["collusion", "scan"], obj=info)
    assert scanned.exit_code == 0, scanned.output
    assert "tenders read" in scanned.output and "scanned 2 tenders, 5 bids" in scanned.output
    one = runner.invoke(app.cli, ["collusion", "scan", "--tender", "H-001"], obj=info)
    assert one.exit_code == 0 and "scanned 1 tenders" in one.output
    unknown = runner.invoke(app.cli, ["collusion", "scan", "--tender", "NOPE"], obj=info)
    assert unknown.exit_code == 2 and "No tender NOPE" in unknown.output
    with database(app).transaction("test") as session:
        assert session.scalar(select(func.count(TenderScreen.tender_id))) == 2
    database(app).dispose()
