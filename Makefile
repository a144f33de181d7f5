# Two commands for a new user: `make demo` and `make test`. Everything installs into .venv.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q -c constraints.txt
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps re-run an install only when the project's requirements change.
$(VENV)/.demo-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e '.[ml]'
	touch $@

$(VENV)/.test-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e '.[all,dev]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(PY) -m tensorrag.demo

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check tensorrag tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.demo-installed
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) .tensorrag .pytest_cache .mypy_cache .ruff_cache
