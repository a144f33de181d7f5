# Two commands for a new user: `make demo` and `make test`. Everything installs into .venv.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q -c constraints.txt
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck docs bench clean widget

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The canvas bundle (React + React Flow, esbuild) -> tensorrag/widget/static/; needs Node >= 18 and npm.
WIDGET_BUNDLE := tensorrag/widget/static/index.js
WIDGET_SRC    := $(wildcard widget/src/*.ts widget/src/*.tsx widget/src/*.css widget/src/*/*.tsx) widget/build.mjs widget/tsconfig.json

widget: $(WIDGET_BUNDLE)

widget/node_modules/.package-lock.json: widget/package.json widget/package-lock.json
	cd widget && npm ci
	touch $@

$(WIDGET_BUNDLE): widget/node_modules/.package-lock.json $(WIDGET_SRC)
	cd widget && npm run build

# Stamps re-run an install only when the project's requirements change.
$(VENV)/.demo-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e '.[ml]'
	touch $@

# ray is not in `all` (a ~70 MB wheel most users do not need); the tests run RayExecutor, so install it here.
$(VENV)/.test-installed: pyproject.toml constraints.txt | $(PY) $(WIDGET_BUNDLE)
	$(PIP) -e '.[all,torch,llm,dev,ray]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(PY) -m tensorrag.demo

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check tensorrag tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

# The docs site (mkdocs-material + an API reference from docstrings); --strict turns warnings into errors.
docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -d site

test: lint typecheck widget docs
	$(PY) -m pytest $(PYTEST_ARGS)

# The peers the table compares with (Hamilton, Dask, Kedro) come from the bench extra.
$(VENV)/.bench-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) .tensorrag .pytest_cache .mypy_cache .ruff_cache site
