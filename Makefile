# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   — create .venv, install, run the demo nodes
#   make test   — create .venv with the test extras, lint, type-check, run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint typecheck pytest bench constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) -e '.[test]'
	touch $@

demo: $(VENV)/.base
	$(BIN)/lunan demo --dir demo-data

lint: $(VENV)/.test
	$(BIN)/ruff check lunan tests bench
	$(BIN)/ruff format --check lunan tests bench

typecheck: $(VENV)/.test
	$(BIN)/mypy --strict lunan

# One worker per core (pytest-xdist); tests sharing an expensive fixture stay on one worker
# (tests/conftest.py groups them).
pytest: $(VENV)/.test
	$(BIN)/pytest -n auto --dist loadgroup

test: lint typecheck pytest

bench: $(VENV)/.test
	$(BIN)/python bench/log.py --quick

# After changing pyproject.toml: record the exact versions a fresh machine will install.
constraints: $(VENV)/.test
	{ echo "# Exact versions installed by 'make' (pip install -c constraints.txt). Regenerate with: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf $(VENV) demo-data bench-data .mypy_cache .ruff_cache .pytest_cache .hypothesis
