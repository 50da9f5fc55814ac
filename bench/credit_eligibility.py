"""Eligibility over HTTP against the bare Flask JSON endpoint (goal: ratio >= 0.5).

    .venv/bin/python bench/credit_eligibility.py            # 100,000 subjects, 1,000,000 records
    .venv/bin/python bench/credit_eligibility.py --small    # 10,000 / 100,000

Builds a fresh PostgreSQL database (``BENCH_DATABASE_URL`` names the server; database
``gx_bench_credit_elig``), loads subjects, records and listings with COPY, then serves the
app with gunicorn exactly as the bare endpoint is served (``bench/harness.py``) and drives
``GET /api/v1/subjects/{id}/eligibility?purpose=bid&sector=…&region=…&on=…`` with wrk,
a random subject per request (a Lua script), so the database is really asked.

:func:`measure` is the client-independent part: given a base URL and a token it measures
throughput with a plain multi-threaded Python client (for a server set up elsewhere).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import credit_data  # noqa: E402
from bench.harness import LoadResult, _ms, bare_reference, serve  # noqa: E402

DATABASE = "gx_bench_credit_elig"
QUERY = "purpose=bid&sector=construction&region=320102&on=2025-06-01"

LUA = """
math.randomseed(%(seed)d)
local ids = {%(ids)s}
request = function()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "/api/v1/subjects/" .. id .. "/eligibility?%(query)s")
end
"""


def wrk_random(
    label: str,
    base: str,
    token: str,
    ids: list[int],
    seconds: int,
    connections: int = 16,
    threads: int = 2,
) -> LoadResult:
    """wrk with a Lua script that asks about a random subject each time."""
    import re

    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    sample = random.Random(7).sample(ids, min(len(ids), 20_000))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"seed": 7, "ids": ",".join(map(str, sample)), "query": QUERY})
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                "-H",
                f"Authorization: Bearer {token}",
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return LoadResult(
        label,
        rps,
        _ms(pct["50"]),
        _ms(pct["90"]),
        _ms(pct["99"]),
        int(non2xx.group(1)) if non2xx else 0,
    )


def measure(
    base: str, token: str, ids: list[int], seconds: float = 10.0, threads: int = 16
) -> float:
    """Requests per second of a simple multi-threaded client (keep-alive off)."""
    stop = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def worker(n: int) -> None:
        rng = random.Random(n)
        while time.monotonic() < stop:
            url = f"{base}/api/v1/subjects/{rng.choice(ids)}/eligibility?{QUERY}"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                counts[n] += 1
            except OSError:
                errors[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if sum(errors):
        print(f"  ({sum(errors)} errors)")
    return sum(counts) / seconds


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10,000 subjects, 100,000 records")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU-per-request figures")
    args = parser.parse_args()
    subjects, records = (10_000, 100_000) if args.small else (100_000, 1_000_000)
    url, ids = build(subjects, records, subjects // 10)
    token = credit_data.create_token(url)
    reference = bare_reference(args.seconds)
    print(reference.line())
    try:
        with serve("wsgi:app", env={"DATABASE_URL": url}) as base:
            probe = urllib.request.Request(
                f"{base}/api/v1/subjects/{ids[0]}/eligibility?{QUERY}",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(probe) as response:
                print(f"sample answer: {response.read().decode()[:200]}")
            wrk_random("warm-up", base, token, ids, 2)
            result = wrk_random(
                f"GET eligibility ({subjects // 1000}k subjects)",
                base,
                token,
                ids,
                args.seconds,
            )
            print(result.line(reference))
            ratio = result.rps / reference.rps
            print(
                f"goal >= 0.50 of the bare endpoint: {'met' if ratio >= 0.5 else 'NOT met'} "
                f"({ratio:.2f})"
            )
        if not args.no_cpu:
            print("CPU per request (1 worker, 1 connection):")
            env = {"DATABASE_URL": url}
            print(cpu_per_request("  bare Flask JSON endpoint", "bench.bare_app:app", "/bare"))
            print(cpu_per_request("  GET /healthz (Gongxin app)", "wsgi:app", "/healthz", env))
            sample = random.Random(7).sample(ids, min(len(ids), 20_000))
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(LUA % {"seed": 7, "ids": ",".join(map(str, sample)), "query": QUERY})
            try:
                print(
                    cpu_per_request(
                        "  GET eligibility",
                        "wsgi:app",
                        "/",
                        env,
                        ("-s", script.name, "-H", f"Authorization: Bearer {token}"),
                        "/healthz",
                    )
                )
            finally:
                os.unlink(script.name)
    finally:
        if not args.keep:
            credit_data.drop_database(DATABASE)


if __name__ == "__main__":
    main()
