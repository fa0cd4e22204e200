# rollbook — two commands: `make devnet` and `make test`. Each sets up what it needs.
PY ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
export ETH_HASH_BACKEND := pysha3

.PHONY: devnet test lint typecheck determinism unit bench setup clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "rollbook needs Python 3.11 (found: $(PY))"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip==24.3.1"
	$(BIN)/python -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

devnet: $(STAMP)
	$(BIN)/rollbook devnet $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python tools/determinism_lint.py

typecheck: $(STAMP)
	$(BIN)/mypy

determinism: $(STAMP)
	$(BIN)/python tools/determinism_lint.py

unit: $(STAMP)
	$(BIN)/pytest

test: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python tools/determinism_lint.py
	$(BIN)/mypy
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
