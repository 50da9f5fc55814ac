#!/usr/bin/env bash
# The console's end-to-end tests drive Debian's Chromium; install it when it is missing.
set -euo pipefail
# Chinese pages need a CJK font to render in screenshots.
if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing and this user cannot install it (apt-get install chromium)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
command -v chromium
