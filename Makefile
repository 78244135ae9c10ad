# Two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := asset_registry

.PHONY: run serve test lint translations translations-update clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/activate

translations: $(BIN)/activate
	$(BIN)/pybabel compile --statistics -d translations

run: $(BIN)/activate translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# Production: gunicorn with the production config (SECRET_KEY, DATABASE_URL and the rest
# from the environment; see README "Running in production"). Migrate first: flask db upgrade.
BIND ?= 127.0.0.1:8000
WEB_WORKERS ?= 3
serve: $(BIN)/activate translations
	ASSET_REGISTRY_CONFIG=production $(BIN)/gunicorn --bind $(BIND) --workers $(WEB_WORKERS) \
	  --timeout 120 --access-logfile - 'asset_registry:create_app()'

test: $(BIN)/activate translations
	$(BIN)/ruff check --no-cache .
	env -u TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on $$TEST_DATABASE_URL"; \
	  TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/pytest; \
	fi

lint: $(BIN)/activate
	$(BIN)/ruff check --no-cache .

clean:
	rm -rf $(VENV) instance/*.db

# Refresh the English catalogue after adding UI strings (the msgids are the Chinese texts).
translations-update: $(BIN)/activate
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
