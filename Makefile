# Mesoclinic — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The 15 slowest tests are listed after each pytest run.
PYTEST_OPTS ?= -p no:cacheprovider --durations=15
# PostgreSQL used by the tests that need it (and by `make bench`).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mesoclinic
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mesoclinic_bench

.PHONY: run test lint typecheck test-sqlite test-postgres test-browser bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: start web + worker on SQLite with demo data (http://127.0.0.1:8000)
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --scale small --if-empty
	PORT=$(PORT) bash scripts/run-dev.sh

## test: every check — lint, types, migrations, deploy check, SQLite, PostgreSQL, browser
test: $(VENV)/.installed lint typecheck test-sqlite test-postgres test-browser

lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-only-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	  DJANGO_ALLOWED_HOSTS=clinic.example $(PY) manage.py check --deploy --fail-level WARNING

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

test-sqlite: $(VENV)/.installed
	$(VENV)/bin/pytest -n 2 -m "not browser" $(PYTEST_OPTS)

test-postgres: $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest -n 2 -m "not browser" $(PYTEST_OPTS)

test-browser: $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest -m browser $(PYTEST_OPTS)

## bench: the benchmark figures on PostgreSQL with the chain data set (seeds it the first time)
bench: $(VENV)/.installed
	DATABASE_URL=$(BENCH_DATABASE_URL) bash scripts/bench.sh

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* var
