#!/usr/bin/env bash
# Benchmarks on PostgreSQL with the chain data set. Seeds it the first time (a few minutes).
# Runs with production settings (DEBUG off, persistent connections) so the figures mean something.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database}"
export DJANGO_DEBUG=0
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-benchmark-only-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
export DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0
export DATABASE_CONN_MAX_AGE=60 MESOCLINIC_LOG_LEVEL=WARNING
$PY -m benchmarks create-database
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo --scale chain --if-empty
$PY manage.py collectstatic --noinput -v0
$PY -m benchmarks run "$@"
