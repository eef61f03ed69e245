#!/usr/bin/env bash
# Set up, migrate, create the demo account and run the web server (scripts/web.sh: gunicorn) and
# one worker together. ADDRESS=host:port picks where the portal listens.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --no-input
$PY manage.py create_demo_account
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

$PY manage.py qcluster &
worker=$!
bash scripts/web.sh &
web=$!
stop() {
  trap - INT TERM EXIT
  # SIGTERM to the cluster's main process lets a running task finish cleanly or be requeued.
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap stop INT TERM EXIT
echo "LLM Tuner: http://${ADDRESS:-127.0.0.1:8000}/ (web pid $web, worker pid $worker). Ctrl-C stops both."
wait -n "$web" "$worker"
