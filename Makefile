# Convene: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run serve test install feed-clients translations translations-update lint clean

# The scheduler (reminders, digests, the outbox) runs beside the dev server and stops with it.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo
	$(BIN)/flask scheduler run & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
		$(BIN)/flask run --host 127.0.0.1 --port 5000

# Production mode: gunicorn's workers and a scheduler, until Ctrl+C (README, "Production").
serve: install
	deploy/serve

test: install feed-clients
	scripts/ensure-chromium
	scripts/ensure-nginx
	scripts/test

install: $(VENV)/.installed translations

# Real calendar clients for the feed tests: ical.js (npm) and, in a virtualenv of their own
# (their python-dateutil pin clashes with the app's), recurring-ical-events, vdirsyncer and khal.
feed-clients: tests/feeds/js/node_modules/.installed $(VENV)/feed-clients/.installed

tests/feeds/js/node_modules/.installed: tests/feeds/js/package.json tests/feeds/js/package-lock.json
	cd tests/feeds/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/feed-clients/.installed: tests/feeds/clients/requirements.txt $(VENV)/.installed
	test -d $(VENV)/feed-clients || $(PYTHON) -m venv $(VENV)/feed-clients
	$(VENV)/feed-clients/bin/python -m pip install --quiet -r tests/feeds/clients/requirements.txt
	touch $@

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d app/translations 2>&1 | grep -v "^compiling" || true

translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project Convene --copyright-holder "Convene contributors" -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) tests/feeds/js/node_modules instance/convene.sqlite3* .pytest_cache .ruff_cache
