#!/usr/bin/env bash
# Install what is needed and run the whole test suite. Extra arguments go to pytest.
# DATABASE_URL picks the database (PostgreSQL in CI); the default is SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh || echo "Browser tests will be skipped: Chromium could not be installed" >&2
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
  || { echo "Model changes without a migration: run manage.py makemigrations" >&2; exit 1; }
exec .venv/bin/python -m pytest "$@"
