# The targets CI runs. On a fresh machine with only python3, `make demo` and `make test`
# bootstrap uv into .tools/ first; nothing is installed outside the checkout.
.DEFAULT_GOAL := help
UV := .tools/bin/uv
RUN := $(UV) run --frozen

.PHONY: help demo test lint types unit bench clean

help:
	@echo "make demo   set up and run the demo (simulate, ingest, summarise)"
	@echo "make test   set up and run lint, types and the whole test suite"
	@echo "make bench  run the benchmarks (see benchmarks/RESULTS.md)"

$(UV):
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.9"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-groups --all-extras
	@touch $@

demo: .venv/.synced
	$(RUN) custodes demo

lint: .venv/.synced
	$(RUN) ruff check .
	$(RUN) ruff format --check .

types: .venv/.synced
	$(RUN) mypy

unit: .venv/.synced
	$(RUN) pytest -n 2 --dist loadfile

test: lint types unit

bench: .venv/.synced
	$(RUN) python -m benchmarks.run

clean:
	rm -rf .tools .venv custodes-data .mypy_cache .ruff_cache .pytest_cache
