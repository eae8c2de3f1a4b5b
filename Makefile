# Two commands do everything: `make run` and `make test`. Both set up what is missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= examples/watermark/seedpipe.toml

.PHONY: setup run test check lint format bench clean opensearch

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/seedpipe up --config $(CONFIG)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy seedpipe ingest capture indexer tests

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
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache deploy/opensearch/target
