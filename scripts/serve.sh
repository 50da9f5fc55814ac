#!/usr/bin/env bash
# `make run`: gunicorn, and beside it a queue worker when jobs run on the queue (PostgreSQL);
# both stop together. Metrics of every process add up in one fresh folder.
set -euo pipefail
BIN="$1"
HOST="$2"
PORT="$3"
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/instance/prometheus}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
worker=""
if [ "$("$BIN/flask" --app wsgi jobs runner)" = "queue" ]; then
    "$BIN/flask" --app wsgi worker &
    worker=$!
fi
trap '[ -n "$worker" ] && kill "$worker" 2>/dev/null || true' EXIT
"$BIN/gunicorn" --workers 2 --threads 4 --bind "$HOST:$PORT" --access-logfile - wsgi:app
