#!/usr/bin/env bash
# Benchmarks on PostgreSQL with the chain data set. Seeds it the first time (a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database}"
$PY -m benchmarks create-database
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo --scale chain --if-empty
$PY -m benchmarks run
