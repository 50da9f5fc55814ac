"""Benchmark harness: serve with gunicorn, drive it over loopback with wrk, report figures.

Every HTTP figure is reported beside the bare Flask JSON endpoint served the same way in the
same run, so the goals in DESIGN (ratios) are read off directly and machine noise cancels.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
# Threads per worker (gthread) when above 1; both sides of a ratio are served alike.
THREADS = int(os.environ.get("BENCH_THREADS", "1"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(
    app_spec: str,
    env: dict[str, str] | None = None,
    probe: str = "/healthz",
    workers: int = WORKERS,
) -> Iterator[str]:
    """Run ``gunicorn app_spec`` on a free loopback port; yield its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(THREADS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app_spec,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + probe, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app_spec} did not come up") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class LoadResult:
    label: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int

    def line(self, reference: LoadResult | None = None) -> str:
        ratio = f"  ratio {self.rps / reference.rps:.2f}" if reference else ""
        return (
            f"{self.label:<40} {self.rps:>9.0f} req/s  p50 {self.p50_ms:6.2f} ms  "
            f"p90 {self.p90_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"errors {self.errors}{ratio}"
        )


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    label: str,
    url: str,
    headers: dict[str, str] | None = None,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 2,
    script: str | None = None,
) -> LoadResult:
    """Drive ``url`` with wrk from a second process; parse throughput and percentiles.
    ``script`` is a Lua file that writes each request (see wrk's ``-s``)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(0)))
    return LoadResult(label, rps, _ms(pct["50"]), _ms(pct["90"]), _ms(pct["99"]), errors)


def alternate(
    reference: tuple[str, str, str | None],
    measured: tuple[str, str, str | None],
    seconds: int,
    rounds: int,
    headers: dict[str, str] | None = None,
) -> list[tuple[LoadResult, LoadResult]]:
    """Drive two served URLs in turn, ``rounds`` times: (label, url, wrk script or None) of
    the reference, then of the measured side, both with ``headers``. Each pair of runs is
    seconds apart, so a slow spell of the machine weighs on both sides of one ratio."""

    def run(side: tuple[str, str, str | None], duration: int) -> LoadResult:
        label, url, script = side
        return wrk(label, url, headers=headers, seconds=duration, script=script)

    run(reference, 2)
    run(measured, 2)
    return [(run(reference, seconds), run(measured, seconds)) for _ in range(rounds)]


def bare_reference(seconds: int = 10) -> LoadResult:
    """The first figure of every HTTP benchmark: the bare JSON endpoint."""
    with serve("bench.bare_app:app", probe="/bare") as base:
        wrk("bare Flask JSON endpoint", base + "/bare", seconds=2)  # warm-up
        return wrk("bare Flask JSON endpoint", base + "/bare", seconds=seconds)


def main() -> None:
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    reference = bare_reference(seconds)
    print(reference.line())
    with serve("wsgi:app") as base:
        wrk("GET /healthz", base + "/healthz", seconds=2)
        print(wrk("GET /healthz (Gongxin app)", base + "/healthz", seconds=seconds).line(reference))


if __name__ == "__main__":
    main()
