#!/usr/bin/env bash
# Set up, migrate, create the demo account and run the web server (scripts/web.sh: gunicorn) and
# one worker together. ADDRESS=host:port picks where the portal listens.
# Ctrl-C stops both within a few seconds. SKIP_SETUP=1 skips the install check (scripts/setup.sh)
# where the environment is managed elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --no-input
$PY manage.py create_demo_account
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# Each in a session of its own, so a terminal's Ctrl-C reaches only this script, which then
# stops each by its main process. (A SIGINT to every process at once has gunicorn kill its
# workers with SIGKILL, and interrupts the worker's task wherever it is.)
setsid $PY manage.py qcluster &
worker=$!
# Requests in progress get 2 s to finish when it stops (production's scripts/web.sh: 30 s).
WEB_GRACEFUL_TIMEOUT=${WEB_GRACEFUL_TIMEOUT:-2} setsid bash scripts/web.sh &
web=$!
stop() {
  trap - INT TERM EXIT
  # SIGTERM to the cluster's main process lets an idle worker stop at once and a running task
  # finish; gunicorn finishes the requests in progress.
  kill -TERM "$web" "$worker" 2>/dev/null || true
  local deadline=$((SECONDS + 4))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$web" 2>/dev/null || kill -0 "$worker" 2>/dev/null || break
    sleep 0.1
  done
  # Whatever still runs after about 4 s (a task in the middle of training) is stopped outright;
  # the job is requeued and resumes from its last checkpoint when a worker starts again.
  kill -KILL -- "-$web" "-$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap stop INT TERM EXIT
echo "LLM Tuner: http://${ADDRESS:-127.0.0.1:8000}/ (web pid $web, worker pid $worker). Ctrl-C stops both."
wait -n "$web" "$worker"
