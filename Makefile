# Two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := asset_registry

.PHONY: run run-lan serve test lint translations translations-update clean mutation

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/activate

translations: $(BIN)/activate
	$(BIN)/pybabel compile --statistics -d translations

# The web app and the scheduler together (the scheduler runs the alert scan and the
# digests once at start, then daily); Ctrl-C stops both.
run: $(BIN)/activate translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@bash -c 'trap "kill 0" EXIT; $(BIN)/flask scheduler & \
	  $(BIN)/flask run --host 127.0.0.1 --port 5000'

# The same on this machine's LAN address over HTTPS (a self-signed certificate made once
# into instance/), so a phone on the same network can open the camera and scan labels.
LAN_IP ?= $(shell $(PYTHON) -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('10.255.255.255', 1)); print(s.getsockname()[0])" 2>/dev/null || echo 127.0.0.1)
LAN_PORT ?= 5443
run-lan: $(BIN)/activate translations
	@mkdir -p instance
	@if [ ! -f instance/lan-$(LAN_IP).pem ]; then \
	  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$(LAN_IP)" \
	    -addext "subjectAltName=IP:$(LAN_IP)" -keyout instance/lan-$(LAN_IP)-key.pem \
	    -out instance/lan-$(LAN_IP).pem 2>/dev/null || { echo "openssl is needed"; exit 1; }; fi
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo "Open https://$(LAN_IP):$(LAN_PORT)/ on a phone on the same network"
	@echo "(accept the self-signed certificate once; labels printed now point here)."
	@BASE_URL=https://$(LAN_IP):$(LAN_PORT) bash -c 'trap "kill 0" EXIT; \
	  $(BIN)/flask scheduler & \
	  $(BIN)/flask run --host 0.0.0.0 --port $(LAN_PORT) \
	    --cert instance/lan-$(LAN_IP).pem --key instance/lan-$(LAN_IP)-key.pem'

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

# Mutation testing of the rule-carrying modules (by hand, not in CI; README "Mutation
# testing"). One module at a time, smallest first; `make mutation MUTATION_MODULES=...`
# picks some. Each mutant runs only the tests that executed its function; the seeded demo
# database is built once per run and copied into each mutant's test session.
MUTATION_MODULES ?= inspections.rules inspections.safety imports.values api.services \
  imports.columns tenancy.scope tenancy.services alerts.services plans.services
MUTATION_JOBS ?= 2
mutation: $(BIN)/activate
	rm -rf instance/mutation-seed
	@for m in $(MUTATION_MODULES); do \
	  echo "== asset_registry.$$m"; \
	  env -u TEST_DATABASE_URL TEST_SEED_CACHE=$(CURDIR)/instance/mutation-seed \
	    $(BIN)/mutmut run --max-children $(MUTATION_JOBS) "asset_registry.$$m.*" || exit 1; \
	done
	$(BIN)/mutmut results
