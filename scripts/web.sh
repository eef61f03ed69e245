#!/usr/bin/env bash
# The web server: gunicorn with a fixed number of processes and threads, so a hundred open job
# pages polling every 1.5 s share WEB_WORKERS x WEB_THREADS threads and as many database
# connections, kept open between requests (DB_CONN_MAX_AGE), instead of a thread and a fresh
# PostgreSQL connection per request. Static files are served by WhiteNoise.
set -euo pipefail
cd "$(dirname "$0")/.."
export DB_CONN_MAX_AGE=${DB_CONN_MAX_AGE:-300}
exec .venv/bin/gunicorn tunerproject.wsgi \
  --bind "${ADDRESS:-127.0.0.1:8000}" \
  --worker-class gthread \
  --workers "${WEB_WORKERS:-2}" \
  --threads "${WEB_THREADS:-4}" \
  --timeout "${WEB_TIMEOUT:-120}" \
  --graceful-timeout "${WEB_GRACEFUL_TIMEOUT:-30}" \
  --keep-alive 5 \
  --no-control-socket \
  --access-logfile "${WEB_ACCESS_LOG:--}" \
  "$@"
