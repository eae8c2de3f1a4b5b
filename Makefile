# Two commands do everything: `make run` and `make test`. Both set up what is missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= examples/watermark/seedpipe.toml

.PHONY: setup run test check lint format bench clean web opensearch

# The web page: web/ bundled (npm ci + esbuild) into the package's static folder when missing
# or older than its sources. Built output only: nothing minified is committed.
WEB_BUILT := composition/web/static/manifest.json
WEB_SOURCES := web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*)

$(WEB_BUILT): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund && npm run build

web: $(WEB_BUILT)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) $(WEB_BUILT)

run: $(STAMP) $(WEB_BUILT)
	$(BIN)/seedpipe up --config $(CONFIG)

check: $(STAMP) $(WEB_BUILT)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy seedpipe ingest capture indexer composition tests

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: check
	$(BIN)/python -m pytest -q

# One OpenSearch 2.19 node on 127.0.0.1 (Java 17 + Maven; built once from Maven Central):
# prints OPENSEARCH_URL=http://127.0.0.1:PORT when yellow, stops on Ctrl-C / SIGTERM.
opensearch:
	@exec deploy/opensearch/run $(if $(OPENSEARCH_PORT),--port $(OPENSEARCH_PORT))

bench: $(STAMP)
	@echo "see bench/README.md"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache web/node_modules composition/web/static deploy/opensearch/target
