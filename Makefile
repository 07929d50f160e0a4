# The README's commands. Only Python 3.11 is assumed; everything else is installed into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    := out

.PHONY: demo console test lint typecheck pytest postgres chromium proto bench bench-targets bench-smoke install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: start the gRPC service on a temporary data dir, replay the demo line's shift of
## shop-floor events against it as the MES would (one row per event), write the before/after
## Gantt, stop the service
demo: install
	@mkdir -p $(OUT)
	@data=$$(mktemp -d); \
	$(BIN)/lean-scheduler serve --addr 127.0.0.1:0 --data-dir $$data --port-file $$data/port & server=$$!; \
	trap 'kill -TERM $$server 2>/dev/null; wait $$server; rm -rf $$data' EXIT; \
	for i in $$(seq 300); do [ -s $$data/port ] && break; sleep 0.1; done; \
	$(BIN)/lean-scheduler mes-sim scenarios/demo_line.yaml --addr 127.0.0.1:$$(cat $$data/port) \
		--out $(OUT)/demo_mes.json --gantt $(OUT)/demo_repair.html && \
	echo "before/after Gantt: $(OUT)/demo_repair.html"; \
	echo "to watch it in the browser instead: make console"

## make console: the same service with its web console on http://127.0.0.1:$(CONSOLE_PORT)/, the demo
## line's shift replayed into it at $(CONSOLE_SPEED)x real time (watch the Gantt move), then kept up
## until Ctrl-C
CONSOLE_PORT  ?= 8080
CONSOLE_SPEED ?= 60
console: install
	@data=$$(mktemp -d); \
	$(BIN)/lean-scheduler serve --addr 127.0.0.1:0 --http-addr 127.0.0.1:$(CONSOLE_PORT) --data-dir $$data \
		--port-file $$data/port & server=$$!; \
	trap 'kill -TERM $$server 2>/dev/null; wait $$server; rm -rf $$data' EXIT; \
	trap 'exit 0' INT TERM; \
	for i in $$(seq 300); do [ -s $$data/port ] && break; sleep 0.1; done; \
	echo "console: http://127.0.0.1:$(CONSOLE_PORT)/plans/demo (Ctrl-C stops the server)"; \
	$(BIN)/lean-scheduler mes-sim scenarios/demo_line.yaml --addr 127.0.0.1:$$(cat $$data/port) --plan-id demo \
		--speed $(CONSOLE_SPEED) --out $(OUT)/console_mes.json && \
	echo "the shift is replayed; the console stays up at http://127.0.0.1:$(CONSOLE_PORT)/ until Ctrl-C"; \
	wait $$server

## make test: lint, type-check and run the test suite
test: install-dev lint typecheck pytest

lint: install-dev
	$(BIN)/ruff check scheduler tests benchmarks scenarios protos
	$(BIN)/ruff format --check scheduler tests benchmarks scenarios protos
	cd protos && ../$(BIN)/buf lint
	$(BIN)/python protos/generate.py --check

## make bench: the full benchmark suite (hours on 2 cores); results, table and plots in out/bench
bench: install-dev
	$(BIN)/lean-scheduler bench --suite full --out $(OUT)/bench

## make bench-targets: the cells the README's targets name (ta21 and ta51 at 500 ms, ta71 at
## 200 ms, each on its own and chained, 200 events each; about 4 hours on 2 cores) into out/bench-targets
bench-targets: install-dev
	$(BIN)/lean-scheduler bench --suite targets --out $(OUT)/bench-targets

## make bench-smoke: the CI suite (minutes; deterministic limits; asserts quality, not timings)
bench-smoke: install-dev
	$(BIN)/lean-scheduler bench --suite smoke --out $(OUT)/bench-smoke

## make proto: regenerate scheduler/rpc from protos/ (commit the result)
proto: install-dev
	$(BIN)/python protos/generate.py

typecheck: install-dev
	$(BIN)/mypy scheduler tests benchmarks

pytest: install-dev postgres chromium
	$(BIN)/pytest -q

## make postgres: the PostgreSQL server the store tests start (the distribution's package,
## installed when missing and run as root; otherwise those tests are skipped, or fail in CI)
postgres:
	.ci/install-postgres.sh

## make chromium: the headless browser the console tests drive (the distribution's package,
## installed when missing as root; otherwise those tests are skipped, or fail in CI)
chromium:
	.ci/install-chromium.sh

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
