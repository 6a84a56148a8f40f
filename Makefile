# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
RASA    := $(VENV)/bin/rasa
STAMP   := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 3
export RASA_TELEMETRY_ENABLED := false

.PHONY: help venv system services model run shell actions test lint types format-check format unit validate pytest security stories nlu-eval anger-eval ood-eval bench clean

help:
	@echo "make run    start the assistant (REST channel + token-protected HTTP API) on embedded defaults"
	@echo "make shell  chat with it in the terminal"
	@echo "make test   system packages and services, ruff, mypy, ruff format --check, rasa data validate,"
	@echo "            pytest, test stories, NLU bar"
	@echo "make unit   the fast tests: no trained model, no Rasa server (pytest -m 'not e2e')"
	@echo "make types  mypy on bot/, connectors/, actions/, components/; make format-check / make format"
	@echo "make bench  training time, model size, memory, latency vs. a stock 'rasa init' assistant"

$(STAMP): requirements.lock pyproject.toml scripts/venv.sh
	@scripts/venv.sh
	@touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests need (Chromium, CJK fonts): installed when missing (root), else named.
system:
	@scripts/system_packages.sh test

# Redis and PostgreSQL on 127.0.0.1: started with the documented command when they are down.
services: venv
	@$(PY) scripts/services.py

# Rasa fingerprints config, domain and data: an unchanged model is reused, not retrained.
model: venv
	@PYTHONWARNINGS=ignore $(RASA) train --quiet --out models --domain domain --data data --config config.yml

run: model
	@PYTHONWARNINGS=ignore scripts/run.sh

shell: model
	@PYTHONWARNINGS=ignore scripts/run.sh shell

actions: venv
	@$(RASA) run actions --actions actions --port 5055

lint: venv
	$(VENV)/bin/ruff check .

# Configuration in pyproject.toml ([tool.mypy]): every function annotated.
types: venv
	$(VENV)/bin/mypy

format-check: venv
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .

# The fast tests (about 1.5 minutes): no trained model and no Rasa server, only Redis and
# PostgreSQL for the store tests. `make pytest` runs these and the end-to-end tests (marker e2e).
unit: venv
	$(PY) -m pytest -q -m "not e2e"

validate: venv
	$(RASA) data validate --domain domain --data data --config config.yml

pytest: model
	$(PY) -m pytest -q

# The security suite alone (it also runs inside `make pytest`): one test per abuse finding of issue #11.
security: model
	$(PY) -m pytest -q $(shell find tests -name "test_security_*.py" | sort)

stories: model
	$(RASA) test core --stories tests/stories --model models --out results/core --fail-on-prediction-errors

nlu-eval: model
	$(RASA) test nlu --nlu tests/nlu --model models --out results/nlu --no-plot
	$(PY) scripts/check_nlu.py results/nlu

# The anger model (a component of the Rasa model) on its held-out split and on SMP2020-EWECT dev.
anger-eval: model
	$(PY) scripts/check_anger.py

# Off-topic messages (held-out tests/ood/) must not get a logistics answer.
ood-eval: model
	$(PY) scripts/check_ood.py

test: system services lint types format-check validate model pytest stories nlu-eval anger-eval ood-eval
	@$(PY) scripts/report_skips.py results/pytest-skips.json results/anger-skips.json
	@echo "make test: all checks passed"

bench: model
	$(PY) bench/run_bench.py

clean:
	rm -rf models results var
