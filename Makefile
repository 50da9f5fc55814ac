# Gongxin: `make run` serves the demo, `make test` runs the whole suite on SQLite and PostgreSQL.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-fast bench lint venv browser clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: venv
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo load
	@echo "Demo tokens (Authorization: Bearer <token>):"
	@$(BIN)/flask --app wsgi demo tokens
	@echo "Serving on http://$(HOST):$(PORT)/  (API under /api/v1, OpenAPI at /api/v1/openapi.json)"
	bash scripts/serve.sh $(BIN) $(HOST) $(PORT)

browser:
	bash scripts/ensure-browser.sh

test: venv browser
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -x -q --backends sqlite

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	bash bench/run.sh

clean:
	rm -rf $(VENV) instance test-output .pytest_cache
