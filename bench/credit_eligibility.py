"""Eligibility over HTTP against the bare Flask JSON endpoint (goal: ratio >= 0.5).

    .venv/bin/python bench/credit_eligibility.py            # 100,000 subjects, 1,000,000 records
    .venv/bin/python bench/credit_eligibility.py --small    # 10,000 / 100,000

Builds a fresh PostgreSQL database (``BENCH_DATABASE_URL`` names the server; database
``gx_bench_credit_elig``), loads subjects, records and listings with COPY, then serves the
app with gunicorn exactly as the bare endpoint is served (``bench/harness.py``) and drives
``GET /api/v1/subjects/{id}/eligibility?purpose=bid&sector=…&region=…&on=…`` with wrk,
a random subject per request (a Lua script), so the database is really asked.

The two servers run side by side and are driven in turn, ``--rounds`` pairs of runs; the
goal is read off the median of the ratios of each pair, so that a slow spell of a shared
machine weighs on both sides of a ratio rather than on one. Then the CPU time per request
of the app and of PostgreSQL is read from ``/proc`` (one worker, one connection), a figure
that other load hardly moves.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import credit_data  # noqa: E402
from bench.harness import alternate, serve  # noqa: E402

DATABASE = "gx_bench_credit_elig"
QUERY = "purpose=bid&sector=construction&region=320102&on=2025-06-01"

LUA = """
math.randomseed(%(seed)d)
local ids = {%(ids)s}
request = function()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "%(before)s" .. id .. "%(after)s")
end
"""


@contextlib.contextmanager
def lua_script(ids: list[int], before: str, after: str) -> Iterator[str]:
    """A wrk script asking for ``before + id + after``, a random subject (of 20,000 drawn
    from ``ids``) each time. The bare endpoint is driven by the same kind of script (it
    ignores the query string), so that wrk does the same work for both sides."""
    sample = random.Random(7).sample(ids, min(len(ids), 20_000))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            LUA % {"seed": 7, "ids": ",".join(map(str, sample)), "before": before, "after": after}
        )
    try:
        yield script.name
    finally:
        os.unlink(script.name)


def gate_script(ids: list[int]):
    return lua_script(ids, "/api/v1/subjects/", f"/eligibility?{QUERY}")


def bare_script(ids: list[int]):
    return lua_script(ids, "/bare?subject=", f"&{QUERY}")


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def cpu_per_request(
    label: str,
    spec: str,
    path: str,
    env: dict | None = None,
    wrk_args: tuple = (),
    probe: str | None = None,
) -> str:
    """CPU time per request in the (single) gunicorn worker and in PostgreSQL, one
    connection at a time: a figure that other load on the machine hardly moves."""
    with serve(spec, probe=probe or path, workers=1, env=env) as base:
        port = base.rsplit(":", 1)[1]
        app_pids = _pids(f"gunicorn.*127.0.0.1:{port}")
        command = ["wrk", "-t1", "-c1", *wrk_args, base + path]
        subprocess.run(command[:1] + ["-d2s"] + command[1:], capture_output=True, check=True)
        pg_pids = _pids(f"postgres: .*{DATABASE}")
        app0, pg0 = _cpu_seconds(app_pids), _cpu_seconds(pg_pids)
        out = subprocess.run(
            command[:1] + ["-d5s"] + command[1:], capture_output=True, text=True, check=True
        ).stdout
        import re

        n = int(re.search(r"(\d+) requests in", out).group(1))
        app_ms = (_cpu_seconds(app_pids) - app0) / n * 1000
        pg_ms = (_cpu_seconds(pg_pids) - pg0) / n * 1000
    return f"{label:<40} app {app_ms:6.3f} ms  PostgreSQL {pg_ms:6.3f} ms CPU per request"


def build(subject_count: int, record_count: int, listing_count: int) -> tuple[str, list[int]]:
    started = time.perf_counter()
    url = credit_data.fresh_database(DATABASE)
    people = credit_data.subjects(subject_count)
    ids = credit_data.copy_subjects(url, people)
    id_of = dict(zip((p[0] for p in people), ids, strict=True))
    credit_data.copy_records(
        url,
        (
            credit_data.table_row(r, id_of[r["subject"]])
            for r in credit_data.records([p[0] for p in people], record_count)
        ),
    )
    credit_data.copy_listings(url, ids, listing_count)
    print(
        f"data: {subject_count:,} subjects, {record_count:,} records, "
        f"{listing_count:,} listings loaded in {time.perf_counter() - started:.0f} s"
    )
    return url, ids


def existing(subject_count: int) -> tuple[str, list[int]] | None:
    """The database a ``--keep`` run left, when it holds the same number of subjects."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(credit_data.ADMIN_URL).set(database=DATABASE)
    try:
        with psycopg.connect(credit_data._conninfo(url.render_as_string(False))) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM subjects ORDER BY id")]
    except psycopg.Error:
        return None
    if len(ids) != subject_count:
        return None
    print(f"data: reusing {DATABASE} ({len(ids):,} subjects)")
    return url.render_as_string(hide_password=False), ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 subjects, 100,000 records")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--rounds", type=int, default=5, help="bare/eligibility pairs of runs")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database a --keep run left, if any"
    )
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU-per-request figures")
    args = parser.parse_args()
    subjects, records = (10_000, 100_000) if args.small else (100_000, 1_000_000)
    found = existing(subjects) if args.reuse else None
    url, ids = found or build(subjects, records, subjects // 10)
    token = credit_data.create_token(url)
    env = {"DATABASE_URL": url}
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with (
            serve("bench.bare_app:app", probe="/bare") as bare_base,
            serve("wsgi:app", env=env) as base,
            gate_script(ids) as script,
            bare_script(ids) as bare_lua,
        ):
            probe = urllib.request.Request(
                f"{base}/api/v1/subjects/{ids[0]}/eligibility?{QUERY}", headers=auth
            )
            with urllib.request.urlopen(probe) as response:
                print(f"sample answer: {response.read().decode()[:200]}")
            label = f"GET eligibility ({subjects // 1000}k subjects)"
            pairs = alternate(
                ("bare Flask JSON endpoint", bare_base, bare_lua),
                (label, base, script),
                args.seconds,
                args.rounds,
                headers=auth,
            )
        ratios = []
        for n, (bare, result) in enumerate(pairs, 1):
            print(f"round {n}")
            print("  " + bare.line())
            print("  " + result.line(bare))
            ratios.append(result.rps / bare.rps)
        ratio = statistics.median(ratios)
        print(
            f"ratios {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}; "
            f"goal >= 0.50 of the bare endpoint: {'met' if ratio >= 0.5 else 'NOT met'}"
        )
        if not args.no_cpu:
            print("CPU per request (1 worker, 1 connection):")
            print(cpu_per_request("  bare Flask JSON endpoint", "bench.bare_app:app", "/bare"))
            print(cpu_per_request("  GET /healthz (Gongxin app)", "wsgi:app", "/healthz", env))
            with gate_script(ids) as script:
                print(
                    cpu_per_request(
                        "  GET eligibility",
                        "wsgi:app",
                        "/",
                        env,
                        ("-s", script, "-H", f"Authorization: Bearer {token}"),
                        "/healthz",
                    )
                )
    finally:
        if not args.keep:
            credit_data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
