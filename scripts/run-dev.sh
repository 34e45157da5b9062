#!/usr/bin/env bash
# Starts the web server and the background worker together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# Exported: the worker's messages link to this server (MESOCLINIC_PUBLIC_URL follows PORT unless set).
export PORT=${PORT:-8000}

$PY manage.py db_worker --interval 1 &
worker=$!
trap 'kill $worker 2>/dev/null || true; wait $worker 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  Mesoclinic is starting at  http://127.0.0.1:${PORT}/
  Sign in as doctor, nurse, reception, manager, director or admin
  with the password: ${MESOCLINIC_DEMO_PASSWORD:-meso-demo-2026}
  (the worker is running too; e-mails print in this terminal). Ctrl-C stops both.

MSG
$PY manage.py runserver "127.0.0.1:${PORT}"
