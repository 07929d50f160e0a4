# The README's commands. Only Python 3.11 is assumed; everything else is installed into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    := out

.PHONY: demo test lint typecheck pytest proto install install-dev clean

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

## make demo: solve the demo line, check the plan, then replay a shift of shop-floor events
demo: install
	@mkdir -p $(OUT)
	$(BIN)/lean-scheduler solve scenarios/demo_line.yaml --time-limit 5 \
		--out $(OUT)/demo_plan.json --gantt $(OUT)/demo_gantt.html
	$(BIN)/lean-scheduler check scenarios/demo_line.yaml $(OUT)/demo_plan.json
	$(BIN)/lean-scheduler repair scenarios/demo_line.yaml --plan $(OUT)/demo_plan.json \
		--out $(OUT)/demo_repair.json --gantt $(OUT)/demo_repair.html

## make test: lint, type-check and run the test suite
test: install-dev lint typecheck pytest

lint: install-dev
	$(BIN)/ruff check scheduler tests benchmarks scenarios protos
	$(BIN)/ruff format --check scheduler tests benchmarks scenarios protos
	cd protos && ../$(BIN)/buf lint
	$(BIN)/python protos/generate.py --check

## make proto: regenerate scheduler/rpc from protos/ (commit the result)
proto: install-dev
	$(BIN)/python protos/generate.py

typecheck: install-dev
	$(BIN)/mypy scheduler tests benchmarks

pytest: install-dev
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
