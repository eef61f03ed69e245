#!/usr/bin/env bash
# Set up, migrate, create the demo account and run the web server (scripts/web.sh: gunicorn), one
# worker and the inference pool (manage.py inference) together. ADDRESS=host:port picks where the
# portal listens, INFERENCE_ADDRESS where the pool does. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --no-input
$PY manage.py create_demo_account
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# Generation runs in its own process, so it never takes the web server's threads.
export INFERENCE_ADDRESS=${INFERENCE_ADDRESS:-127.0.0.1:8001}

$PY manage.py qcluster &
worker=$!
$PY manage.py inference &
inference=$!
bash scripts/web.sh &
web=$!
stop() {
  trap - INT TERM EXIT
  # SIGTERM to the cluster's main process lets a running task finish cleanly or be requeued.
  kill -TERM "$web" "$worker" "$inference" 2>/dev/null || true
  wait "$web" "$worker" "$inference" 2>/dev/null || true
}
trap stop INT TERM EXIT
echo "LLM Tuner: http://${ADDRESS:-127.0.0.1:8000}/ (web pid $web, worker pid $worker, inference pid $inference). Ctrl-C stops all three."
wait -n "$web" "$worker" "$inference"
