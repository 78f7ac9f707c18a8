# Everything needed is set up on first use: only Python >= 3.11, git and make
# are assumed. uv is installed into .tools/ if it is not already on PATH.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
# make demo PORT=8001 (the same for serve; HOST=0.0.0.0 in the environment to listen wider)
PORT ?= 8000

.PHONY: setup demo serve test test-postgres lint bench fmt clean fuzz loadtest faulttest

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

setup: .venv/.synced
	$(RUN) python manage.py compile_translations

demo: setup
	$(RUN) truyvet demo --port $(PORT)

serve: setup
	$(RUN) truyvet serve --port $(PORT)

test: setup
	$(RUN) pytest $(PYTEST_ARGS)

# schemathesis against /api/v1/openapi.json (tests/fuzz_api.py; not in `make test`).
fuzz: setup
	$(RUN) pytest tests/fuzz_api.py -q $(PYTEST_ARGS)

# lint-imports: the layers contracts in pyproject.toml ([tool.importlinter]).
lint: setup
	$(RUN) ruff check truyvet tests bench
	$(RUN) mypy truyvet
	$(RUN) lint-imports

fmt: setup
	$(RUN) ruff check --fix truyvet tests bench

bench: setup
	$(RUN) python -m bench

# 200 clients, 1 M check-ins, 2 app instances, one fresh PostgreSQL database
# (bench/loadtest.py; LOADTEST_ARGS="--checkins 20000 --clients 20" for a quick try).
loadtest: setup
	$(RUN) python -m bench.loadtest $(LOADTEST_ARGS)

# kill -9 of an instance and a PostgreSQL restart during load, a read-only and a
# full database (bench/faulttest.py). Restarting PostgreSQL disrupts everyone on
# the machine: it waits for others' tests first (FAULTTEST_ARGS=--skip-restart).
faulttest: setup
	$(RUN) python -m bench.faulttest $(FAULTTEST_ARGS)

clean:
	rm -rf .venv .tools var/static
