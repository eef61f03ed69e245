#!/usr/bin/env bash
# Debian's Chromium for the end-to-end tests (Playwright drives it; it never downloads a browser).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Chromium missing: run 'sudo apt-get install chromium' to enable the browser tests" >&2
fi
