# rollbook — two commands: `make devnet` and `make test`. Each sets up what it needs.
PY ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | sha256sum | cut -c1-16)
export ETH_HASH_BACKEND := pysha3

.PHONY: devnet test lint typecheck determinism unit bench setup clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "rollbook needs Python 3.11 (found: $(PY))"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip==24.3.1"
	$(BIN)/python -m pip install -q -e ".[dev,zk]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Node tools (Anvil for `--l1 anvil` and its tests), pinned by package-lock.json. Anvil's
# binary comes in an optional dependency: never install with --omit=optional.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $(NODE_STAMP)

setup: $(STAMP) $(NODE_STAMP)

devnet: $(STAMP) $(NODE_STAMP)
	$(BIN)/rollbook devnet $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python tools/determinism_lint.py

typecheck: $(STAMP)
	$(BIN)/mypy

determinism: $(STAMP)
	$(BIN)/python tools/determinism_lint.py

unit: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python tools/determinism_lint.py
	$(BIN)/mypy
	$(BIN)/pytest

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
