# Every target installs what it needs into .venv first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 3000

.PHONY: install install-test run serve nginx test lint bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

run: install
	PORT=$(PORT) $(BIN)/python -m inference_gateway

serve: install
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/python -m pyflakes inference_gateway tests bench 2>/dev/null || $(BIN)/pip install -q pyflakes && $(BIN)/python -m pyflakes inference_gateway tests bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache var
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
