#!/usr/bin/env bash
# Development only, until the first release: regenerate jobs' single initial migration after a
# model change, so parallel work never produces conflicting migration files.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f jobs/migrations/0001_initial.py
.venv/bin/python manage.py makemigrations jobs -n initial
