"""Bulk import of credit records against a bare COPY of the same rows (goal: >= 0.25).

    .venv/bin/python bench/credit_import.py            # 100,000 subjects, 1,000,000 rows
    .venv/bin/python bench/credit_import.py --small    # 10,000 subjects, 100,000 rows

Both sides start from the same fresh PostgreSQL database (``BENCH_DATABASE_URL`` names the
server) holding the subjects, with every index of ``credit_records`` in place:

* **bare COPY**: the rows, already resolved to table columns (subject ids looked up
  beforehand, not timed), streamed with ``COPY credit_records FROM STDIN``;
* **import**: ``flask --app wsgi exchange import FILE`` on the same rows as an exchange
  file (JSON Lines, and CSV), run as the operator would: the file is parsed and each row
  validated on its own, subjects are resolved by USCC, duplicates detected by source,
  every row gets its change-feed entry and every batch its audit entry, a commit per
  batch.

A second run of the import over the same file is also timed: every row is then a
duplicate, which is the cost of the retry after a crash.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import credit_data  # noqa: E402

DATABASE = "gx_bench_credit_import"
OUT = ROOT / "bench" / "out"


def write_jsonl(path: Path, rows) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n


CSV_COLUMNS = [
    "type",
    "source.platform",
    "source.id",
    "subject",
    "polarity",
    "category",
    "severity",
    "description",
    "basis.authority",
    "basis.document_no",
    "basis.decided_on",
    "effective_from",
    "effective_to",
]


def write_csv(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r["type"],
                    r["source"]["platform"],
                    r["source"]["id"],
                    r["subject"],
                    r["polarity"],
                    r["category"],
                    r["severity"] or "",
                    r["description"],
                    r["basis"]["authority"],
                    r["basis"]["document_no"],
                    r["basis"]["decided_on"],
                    r["effective_from"],
                    r["effective_to"],
                ]
            )


def prepare(subjects: list[tuple[str, str, str]]) -> tuple[str, dict[str, int]]:
    url = credit_data.fresh_database(DATABASE)
    ids = credit_data.copy_subjects(url, subjects)
    return url, dict(zip((s[0] for s in subjects), ids, strict=True))


def run_cli(url: str, path: Path, batch_size: int) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "flask"),
            "--app",
            "wsgi",
            "exchange",
            "import",
            str(path),
            "--batch-size",
            str(batch_size),
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    if done.returncode not in (0, 1):
        raise RuntimeError(f"import failed: {done.stderr[-2000:]}")
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 subjects, 100,000 rows")
    parser.add_argument("--rows", type=int, help="number of record rows (overrides the size)")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep database and files")
    args = parser.parse_args()
    subject_count, row_count = (10_000, 100_000) if args.small else (100_000, 1_000_000)
    row_count = args.rows or row_count
    OUT.mkdir(parents=True, exist_ok=True)
    subjects = credit_data.subjects(subject_count)
    usccs = [s[0] for s in subjects]
    jsonl, csv_path = OUT / "credit_import.jsonl", OUT / "credit_import.csv"
    write_jsonl(jsonl, credit_data.records(usccs, row_count))
    write_csv(csv_path, credit_data.records(usccs, row_count))
    size = jsonl.stat().st_size / 1e6
    print(
        f"{row_count:,} record rows over {subject_count:,} subjects "
        f"({size:.0f} MB JSON Lines, {csv_path.stat().st_size / 1e6:.0f} MB CSV)"
    )

    url, id_of = prepare(subjects)
    table_rows = [
        credit_data.table_row(r, id_of[r["subject"]]) for r in credit_data.records(usccs, row_count)
    ]
    copy_seconds = credit_data.copy_records(url, iter(table_rows))
    del table_rows
    rate = row_count / copy_seconds
    print(f"{'bare COPY':<30} {copy_seconds:7.1f} s  {rate:9,.0f} rows/s")

    results = []
    for label, path in (("import JSON Lines", jsonl), ("import CSV", csv_path)):
        url, _ = prepare(subjects)
        seconds, summary = run_cli(url, path, args.batch_size)
        ratio = copy_seconds / seconds
        results.append(ratio)
        print(
            f"{label:<30} {seconds:7.1f} s  {row_count / seconds:9,.0f} rows/s  "
            f"ratio {ratio:.2f}   [{summary}]"
        )
        if label == "import JSON Lines":
            again, summary = run_cli(url, path, args.batch_size)
            print(
                f"{'  again (all duplicates)':<30} {again:7.1f} s  "
                f"{row_count / again:9,.0f} rows/s               [{summary}]"
            )
    best = min(results)
    print(
        f"goal >= 0.25 of a bare COPY: {'met' if best >= 0.25 else 'NOT met'} "
        f"(lowest ratio {best:.2f})"
    )
    if not args.keep:
        credit_data.drop_database(DATABASE)
        jsonl.unlink()
        csv_path.unlink()


if __name__ == "__main__":
    main()
