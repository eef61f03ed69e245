#!/usr/bin/env bash
# Set up, migrate, create the demo account and run the web server (scripts/web.sh: gunicorn), one
# worker and the inference pool (manage.py inference) together. ADDRESS=host:port picks where the
# portal listens, INFERENCE_ADDRESS where the pool does. Ctrl-C stops all three within a few
# seconds. SKIP_SETUP=1 skips the install check (scripts/setup.sh) where the environment is
# managed elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --no-input
$PY manage.py create_demo_account
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# Generation runs in its own process, so it never takes the web server's threads.
export INFERENCE_ADDRESS=${INFERENCE_ADDRESS:-127.0.0.1:8001}

# Each in a session of its own, so a terminal's Ctrl-C reaches only this script, which then
# stops each by its main process. (A SIGINT to every process at once has gunicorn kill its
# workers with SIGKILL, and interrupts the worker's task wherever it is.)
setsid $PY manage.py qcluster &
worker=$!
setsid $PY manage.py inference &
inference=$!
# Requests in progress get 2 s to finish when it stops (production's scripts/web.sh: 30 s).
WEB_GRACEFUL_TIMEOUT=${WEB_GRACEFUL_TIMEOUT:-2} setsid bash scripts/web.sh &
web=$!
stop() {
  trap - INT TERM EXIT
  # SIGTERM to the cluster's main process lets an idle worker stop at once and a running task
  # finish; gunicorn finishes the requests in progress; the inference pool stops.
  kill -TERM "$web" "$worker" "$inference" 2>/dev/null || true
  local deadline=$((SECONDS + 4))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$web" 2>/dev/null || kill -0 "$worker" 2>/dev/null \
      || kill -0 "$inference" 2>/dev/null || break
    sleep 0.1
  done
  # Whatever still runs after about 4 s (a task in the middle of training) is stopped outright;
  # the job is requeued and resumes from its last checkpoint when a worker starts again.
  kill -KILL -- "-$web" "-$worker" "-$inference" 2>/dev/null || true
  wait "$web" "$worker" "$inference" 2>/dev/null || true
}
trap stop INT TERM EXIT
echo "LLM Tuner: http://${ADDRESS:-127.0.0.1:8000}/ (web pid $web, worker pid $worker, inference pid $inference). Ctrl-C stops all three."
wait -n "$web" "$worker" "$inference"
