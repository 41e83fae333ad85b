# One entry point for developers and CI. `make test` works on a fresh clone:
# it creates .venv, installs the package with its dev extras, installs the pinned
# Prism mock server from package-lock.json, then runs ruff, mypy --strict, the docs build
# (mkdocs build --strict) and pytest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck docs pytest venv node demo bench clean generate test-pythons

test: venv node lint typecheck docs pytest

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

node: node_modules/.package-lock.json

lint: venv
	$(VENV)/bin/ruff check clerk_async _clerk_async_pytest.py tests benchmarks examples codegen
	$(VENV)/bin/ruff format --check clerk_async _clerk_async_pytest.py tests benchmarks examples codegen

# For the oldest and the newest Python we claim (pyproject.toml's classifiers).
typecheck: venv
	$(VENV)/bin/mypy --strict --python-version 3.10 clerk_async _clerk_async_pytest.py codegen
	$(VENV)/bin/mypy --strict --python-version 3.13 clerk_async _clerk_async_pytest.py codegen

# The documentation site (mkdocs.yml, docs/): a broken link or API reference fails it.
# Its examples run in pytest (tests/test_docs.py).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

pytest: venv node
	$(VENV)/bin/pytest -q

# pytest on each other Python we claim that this machine has (pyenv's, or pythonX.Y on
# the PATH), each in its own .venv-X.Y; one that is missing is named and skipped. Not part
# of `make test`: four whole runs do not fit its time, and CI cannot install interpreters.
PYTHONS ?= 3.10 3.12 3.13
test-pythons: node
	@for v in $(PYTHONS); do \
	  py=$$(ls -d $$HOME/.pyenv/versions/$$v.*/bin/python 2>/dev/null | sort -V | tail -n 1); \
	  [ -n "$$py" ] || py=$$(command -v python$$v || true); \
	  if [ -z "$$py" ]; then echo "test-pythons: Python $$v is not on this machine: skipped"; continue; fi; \
	  echo "test-pythons: Python $$v ($$py)"; \
	  $(MAKE) --no-print-directory PYTHON=$$py VENV=.venv-$$v venv || exit 1; \
	  .venv-$$v/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS) || exit 1; \
	done

# The declarations (models, params, services, webhook events), FakeClerk's tables and the
# services' API reference pages (docs/reference/services/) from
# the vendored spec; commit the output.
generate: venv
	$(PY) -m codegen.generate
	$(PY) -m codegen.webhooks
	$(PY) -m codegen.fake_tables
	$(PY) -m codegen.reference

# 2,000 machines created, then updated concurrently, on an embedded FakeClerk.
demo: venv
	$(PY) -m clerk_async demo

clean:
	rm -rf $(VENV) .venv-3.* node_modules .mypy_cache .ruff_cache .pytest_cache .site

bench: venv
	$(PY) -m benchmarks.bench_update
