# The two commands: `make demo` and `make test`. Both start from nothing but python3 (3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) sandbox/manage.py

.PHONY: demo test install migrations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[stripe,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	$(MANAGE) rundemo

test: $(STAMP)
	./scripts/system-deps.sh
	$(PY) -m pytest

migrations: $(STAMP)
	$(MANAGE) makemigrations wagtail_guestpay wagtail_guestpay_testprovider home

clean:
	rm -rf $(VENV) sandbox/var
