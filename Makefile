# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate demo lint format check lock stack clean bench bench-full

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py embed_papers

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Rewrite the lock from what is installed now (after changing pyproject.toml).
lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude daily-papers > requirements.lock

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache

# Web, worker and beat (the Procfile) against local PostgreSQL and Redis, with their output
# interleaved; Ctrl-C stops all three. DATABASE_URL / REDIS_URL in the environment win.
STACK_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
STACK_REDIS_URL ?= redis://127.0.0.1:6379/0
stack: install
	@export DATABASE_URL="$${DATABASE_URL:-$(STACK_DATABASE_URL)}" \
	  REDIS_URL="$${REDIS_URL:-$(STACK_REDIS_URL)}" HOST="$(HOST)" PORT="$(PORT)"; \
	$(BIN)/python manage.py migrate --no-input || exit 1; \
	trap 'trap - INT TERM; kill 0' INT TERM; \
	while IFS= read -r line; do \
	  case "$$line" in ''|'#'*) continue ;; esac; \
	  name="$${line%%:*}"; command="$${line#*:}"; \
	  (sh -c "exec $$command" 2>&1 | (trap '' INT TERM; exec sed -u "s/^/$$name | /")) & \
	done < Procfile; \
	wait

# Benchmarks (not part of `make test`): needs PostgreSQL, Redis and wrk; see docs/BENCHMARKS.md.
# Generates 100k papers on first use (about a minute), runs every benchmark, writes
# docs/BENCHMARKS.md and docs/benchmarks.png. BENCH_ARGS=--quick checks the machinery.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/3
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) \
	  $(BIN)/python -m bench.run $(BENCH_ARGS)

# All of arXiv: 2.7 million papers and 10 million votes (docs/SCALE.md). Hours the first
# time (the data), minutes after.
bench-full: $(BENCH_STAMP)
	$(BIN)/python -m bench.scale $(BENCH_ARGS)
