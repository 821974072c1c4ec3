# The two commands: `make demo` and `make test`. Both start from nothing but python3 (3.11+).
# `make demo PORT=8001` serves on another port. `make test` first runs `make lint` (ruff check and
# ruff format --check, ruff from the test extra) and stops on a finding, then the whole suite on SQLite, then the suite again on a throw-away PostgreSQL and
# Redis (tests/servers.py starts them on loopback; without them it says so loudly, and under CI
# it fails), then the SQLite suite without the browser on Wagtail 7.0 LTS, the oldest supported.
# `make bench` writes bench/results/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) sandbox/manage.py
PORT ?= 8000

.PHONY: demo test lint test-sqlite test-servers test-wagtail70 test-django bench install migrations \
	clean messages compilemessages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[stripe,multinode,test]"
	touch $(STAMP)
	@$(MAKE) --no-print-directory compilemessages

install: $(STAMP)

demo: $(STAMP)
	$(MANAGE) migrate --noinput
	GUESTPAY_BASE_URL="$${GUESTPAY_BASE_URL:-http://127.0.0.1:$(PORT)}" $(MANAGE) load_demo
	$(MANAGE) rundemo --port $(PORT)

test: $(STAMP)
	@$(MAKE) --no-print-directory lint
	./scripts/system-deps.sh
	@$(MAKE) --no-print-directory compilemessages
	$(MAKE) --no-print-directory test-sqlite test-servers test-wagtail70

# Fails on any finding; `ruff check --fix .` and `ruff format .` repair most of them.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-sqlite: $(STAMP)
	$(PY) -m pytest

# Browser tests ran above: this run is the suite on PostgreSQL + the Redis broker.
test-servers: $(STAMP)
	$(PY) -m tests.servers -- $(PY) -m pytest -m "not browser"

# Wagtail 7.0 LTS, pyproject's floor (wagtail_guestpay/admin/compat.py holds what differs), in a
# second virtualenv; the main one has the newest Wagtail.
W70_VENV := .venv-w70
W70_PY := $(W70_VENV)/bin/python
W70_STAMP := $(W70_VENV)/.installed

$(W70_STAMP): pyproject.toml
	$(PYTHON) -m venv $(W70_VENV)
	$(W70_PY) -m pip install --quiet --upgrade pip
	$(W70_PY) -m pip install --quiet -e ".[stripe,test]" "wagtail>=7.0,<7.1"
	touch $(W70_STAMP)

test-wagtail70: $(W70_STAMP)
	$(W70_PY) -m pytest -m "not browser and not multiprocess"

# Another Django release, when the package index has one the app may support, e.g.
#   make test-django DJANGO="django>=6.0,<6.1"
# in a third virtualenv (.venv-django, rebuilt for each DJANGO value). Not part of `make test`:
# the README claims only what `make test` runs.
DJANGO ?=
DJ_VENV := .venv-django
DJ_PY := $(DJ_VENV)/bin/python

test-django:
	@test -n '$(DJANGO)' || { echo 'Usage: make test-django DJANGO="django>=6.0,<6.1"'; exit 2; }
	$(PYTHON) -m venv $(DJ_VENV)
	$(DJ_PY) -m pip install --quiet --upgrade pip
	$(DJ_PY) -m pip install --quiet -e ".[stripe,test]" '$(DJANGO)'
	$(DJ_PY) -m pytest -m "not browser and not multiprocess"

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[stripe,multinode,test,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	./scripts/system-deps.sh
	$(PY) -m bench

migrations: $(STAMP)
	$(MANAGE) makemigrations wagtail_guestpay wagtail_guestpay_testprovider home

clean:
	rm -rf $(VENV) $(W70_VENV) $(DJ_VENV) sandbox/var

# Translations (docs/how-to/translations.md). The .mo files are committed, so a machine without
# GNU gettext still runs everything; with msgfmt, the install step rebuilds them from the .po files.
# compilemessages walks each folder for its locale/ folders (wagtail_guestpay/testprovider's too);
# no Django settings are needed.
LOCALE_DIRS := wagtail_guestpay sandbox
LANGS := fr uk
DJANGO_ADMIN := $(CURDIR)/$(PY) -m django

messages: $(STAMP)
	cd wagtail_guestpay && $(DJANGO_ADMIN) makemessages $(LANGS:%=-l %) --no-obsolete \
		--add-location=file --ignore='testprovider/*'
	cd wagtail_guestpay/testprovider && $(DJANGO_ADMIN) makemessages $(LANGS:%=-l %) \
		--no-obsolete --add-location=file
	cd sandbox && $(DJANGO_ADMIN) makemessages $(LANGS:%=-l %) --no-obsolete \
		--add-location=file --ignore='var/*' --ignore='static/*'
	@$(MAKE) --no-print-directory compilemessages

compilemessages: $(STAMP)
	@if command -v msgfmt >/dev/null 2>&1; then \
		for dir in $(LOCALE_DIRS); do \
			(cd $$dir && $(DJANGO_ADMIN) compilemessages --ignore=var --verbosity 0) || exit 1; \
		done; \
	else \
		echo "msgfmt (GNU gettext) not found: using the committed .mo files."; \
	fi
