#!/usr/bin/env bash
# make bench: every benchmark, figures to stdout and bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
export BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
mkdir -p bench/out
PY=.venv/bin/python
for script in bench/harness.py bench/credit_eligibility.py bench/credit_import.py \
              bench/experts_draw.py bench/trading_scan.py bench/collusion_quality.py; do
    if [ -f "$script" ]; then
        echo "== $script"
        $PY "$script" "$@" | tee "bench/out/$(basename "$script" .py).txt"
    fi
done
