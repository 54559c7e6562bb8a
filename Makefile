# Every target installs what it needs into .venv first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 3000
NGINX_PORT ?= 8080

# setuptools prints a warning block on every editable install; it says nothing about this project.
PIP_INSTALL := PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install -q

.PHONY: install install-test install-prism run serve nginx prune test lint bench bench-smoke install-bench install-litellm bench-litellm clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Each extra is installed again only when the package's metadata changes (a stamp file per extra),
# so `make run` starts at once after the first time.
$(VENV)/.installed-%: setup.cfg setup.py | $(BIN)/python
	$(PIP_INSTALL) -e '.$(if $(filter base,$*),,[$*])'
	@touch $@

install: $(VENV)/.installed-base

install-test: $(VENV)/.installed-test

run: install
	@PORT=$(PORT) $(BIN)/python -m inference_gateway

serve: install
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# gunicorn on PORT behind nginx on NGINX_PORT (deploy/nginx.conf); Ctrl-C stops both.
# gunicorn runs in its own session, so the terminal's Ctrl-C reaches nginx and this shell only:
# the shell then stops gunicorn gracefully (SIGTERM to the master), instead of the interrupt hitting
# every gevent worker at once (each printed a SystemExit traceback).
nginx: install
	@command -v nginx >/dev/null || { echo "nginx is not installed: apt-get install nginx"; exit 1; }
	@PORT=$(PORT) TRUSTED_PROXIES=1 setsid $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app & gunicorn=$$!; \
	trap 'kill -TERM $$gunicorn 2>/dev/null; wait $$gunicorn; exit 0' EXIT INT TERM; \
	$(BIN)/python deploy/nginx.py run --listen 127.0.0.1:$(NGINX_PORT) --upstream 127.0.0.1:$(PORT) --prefix var/nginx

# Delete request-log rows older than USAGE_RETENTION_DAYS now (DAYS=30 for any other age); the
# same as `.venv/bin/flask --app wsgi usage prune`, which needs no activated venv either.
prune: install
	$(BIN)/flask --app wsgi usage prune $(if $(DAYS),--days $(DAYS))

test: install-test install-prism
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Stoplight Prism (package-lock.json) for the spec fidelity tests; without npm they skip.
install-prism:
	@if [ ! -x node_modules/.bin/prism ] && command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error >/dev/null; fi

lint: install-test
	$(BIN)/python -m pyflakes inference_gateway tests bench deploy wsgi.py gunicorn.conf.py

# Gateway vs pass-through vs upstream, interleaved, 3 repetitions, plus /usage over 1M rows
# (about 10 minutes); writes bench/results/latest.md. BENCH_ARGS adds options (e.g. --no-usage).
bench: install-bench
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The same harness, small: every scenario once, in under a minute (CI keeps it working).
bench-smoke: install-bench
	$(BIN)/python bench/run.py --smoke $(BENCH_ARGS)

# LiteLLM's proxy, latest release on PyPI, in a venv of its own (var/: outside bench/, which is
# linted, and never mixed with the gateway's dependencies). Only bench-litellm needs it.
LITELLM_VENV ?= var/litellm-venv

install-litellm:
	@test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install -q --upgrade pip
	$(LITELLM_VENV)/bin/pip install -q --upgrade 'litellm[proxy]'

# The gateway's /v1/chat/completions side by side with LiteLLM's proxy (same fake upstream, load
# and worker count): CPU per call, requests/s at c=64, p50 added latency, PSS, stream chunk pacing.
# Several minutes; writes bench/results/litellm.md. BENCH_ARGS adds options (--workers N, --smoke).
bench-litellm: install-bench install-litellm
	$(BIN)/python bench/litellm_compare.py --litellm $(LITELLM_VENV)/bin/litellm $(BENCH_ARGS)

install-bench: $(VENV)/.installed-bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache var
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
