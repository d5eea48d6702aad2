# Meet Web: `make run` serves the app, `make test` runs the suite. `make help` lists the rest.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
DEV_ENV = MEET_SESSION_SECRET_FILE=var/session_secret \
          MEET_LIVEKIT_API_SECRET_FILE=var/livekit_api_secret \
          MEET_OIDC_CLIENT_SECRET_FILE=var/oidc_client_secret
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
LOCALE_DIR = meet_web/i18n/locale
PO_FILES = $(wildcard $(LOCALE_DIR)/*/LC_MESSAGES/meet_web.po)
MO_FILES = $(PO_FILES:.po=.mo)

.PHONY: help install locales messages run test test-pg test-browser fuzz lint fmt migrate revision initdb clean bench soak bench-download

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: $(VENV)/.installed static/vendor/.installed locales ## virtualenv, Python and npm packages, compiled translations

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

locales: $(MO_FILES) ## compile the translation catalogs (.po → .mo)

$(LOCALE_DIR)/%/LC_MESSAGES/meet_web.mo: $(LOCALE_DIR)/%/LC_MESSAGES/meet_web.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -D meet_web -l $* -i $< -o $@

messages: $(VENV)/.installed ## extract the pages' strings into the .pot and update the .po catalogs
	$(BIN)/pybabel extract -F babel.cfg -o meet_web/i18n/meet_web.pot --project="Meet Web" \
	  --version=0.1.0 --copyright-holder="Meet Web contributors" --no-wrap --sort-by-file \
	  --add-comments=Translators: .
	$(BIN)/pybabel update -i meet_web/i18n/meet_web.pot -d $(LOCALE_DIR) -D meet_web --no-wrap

static/vendor/.installed: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
	cp node_modules/livekit-client/dist/livekit-client.umd.js static/vendor/
	# Camera backgrounds: the processor's ES module with its two bare imports pointed at
	# the page's livekit-client and at MediaPipe's bundle, which loads its wasm from here.
	mkdir -p static/vendor/track-processors static/vendor/mediapipe/wasm
	sed -e 's|^import { getLogger as clientGetLogger } from "livekit-client";|const clientGetLogger = (name) => window.LivekitClient.getLogger(name);|' \
	    -e 's|from "@mediapipe/tasks-vision";|from "../mediapipe/vision_bundle.mjs";|' \
	    -e '/sourceMappingURL/d' \
	    node_modules/@livekit/track-processors/dist/index.mjs > static/vendor/track-processors/index.mjs
	! grep -n '^import .* from "[^./]' static/vendor/track-processors/index.mjs
	sed -e '/sourceMappingURL/d' node_modules/@mediapipe/tasks-vision/vision_bundle.mjs > static/vendor/mediapipe/vision_bundle.mjs
	cp node_modules/@mediapipe/tasks-vision/wasm/vision_wasm_*internal.* static/vendor/mediapipe/wasm/
	$(PYTHON) meet_web/files/segmentation_model.py \
	    node_modules/@mediapipe/selfie_segmentation/selfie_segmentation.tflite static/vendor/mediapipe/selfie_segmenter.tflite
	touch $@

var/.secrets:
	mkdir -p var
	umask 077; for name in session_secret livekit_api_secret oidc_client_secret; do \
	  [ -s var/$$name ] || $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > var/$$name; \
	done
	touch $@

migrate: install var/.secrets ## apply the database migrations (development.ini)
	$(DEV_ENV) $(BIN)/alembic -c development.ini upgrade head

run: migrate ## serve on http://localhost:6543 with SQLite, memory cache and the development IdP
	@echo "Development identity provider on http://127.0.0.1:9000 (accepts any login; never use in production)"
	@echo "LiveKit: run livekit-server --dev --keys \"devkey: $$(cat var/livekit_api_secret)\" for meetings"
	node dev/oidc-provider.mjs --port 9000 --client-id meet --client-secret "$$(cat var/oidc_client_secret)" & \
	  idp=$$!; trap 'kill $$idp 2>/dev/null' EXIT INT TERM; \
	  $(DEV_ENV) $(BIN)/pserve development.ini

test: install ## the whole suite on SQLite and the memory cache
	$(BIN)/pytest -m "not browser"

test-pg: install ## the suite on PostgreSQL and Redis ($(PG_TEST_URL), $(REDIS_TEST_URL))
	MEET_TEST_DATABASE_URL=$(PG_TEST_URL) MEET_TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -m "not browser and not fuzz"

test-browser: install ## browser tests in headless Chromium (needs /usr/bin/chromium)
	$(BIN)/pytest -m browser -rR

FUZZ_EXAMPLES ?= 300
FUZZ_SEED ?= 0
fuzz: install ## schemathesis with far more requests than make test (FUZZ_EXAMPLES, FUZZ_SEED)
	MEET_TEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MEET_TEST_FUZZ_SEED=$(FUZZ_SEED) MEET_TEST_FUZZ_VERBOSE=1 \
	  $(BIN)/pytest -m fuzz --timeout=0 tests/fuzz

lint: install ## ruff check and format check
	$(BIN)/ruff check meet_web tests alembic bench
	$(BIN)/ruff format --check meet_web tests alembic bench

fmt: install ## format the code
	$(BIN)/ruff check --fix meet_web tests alembic bench
	$(BIN)/ruff format meet_web tests alembic bench

revision: install ## new migration: make revision m="what changed"
	$(DEV_ENV) $(BIN)/alembic -c development.ini revision --autogenerate -m "$(m)"

initdb: migrate ## create the development database

bench: install ## load benchmarks (see bench/README.md)
	$(BIN)/python bench/run.py

soak: install ## 500 guests knocking for 60 s at two app processes, owners admitting (bench/README.md)
	$(BIN)/python bench/soak.py

bench-download: install ## a recording streamed through the app, whole and in ranges (bench/README.md)
	$(BIN)/python bench/download.py

clean: ## remove the virtualenv, npm packages, vendored assets and local data
	rm -rf $(VENV) node_modules static/vendor var *.egg-info $(MO_FILES)
