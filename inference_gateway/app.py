"""The application factory: settings, database, blueprints and error handlers, wired in one place."""
import logging
from dataclasses import replace

from flask import Flask

from inference_gateway import api, cli, compat
from inference_gateway.config import load_config
from inference_gateway.gateway import health, routing
from inference_gateway.gateway.breaker import MemoryBreakers
from inference_gateway.gateway.admission import Gate
from inference_gateway.gateway.pricing import PriceTable
from inference_gateway.providers import HttpSettings, ProviderSettings
from inference_gateway.store import db, migrations, provider_store, request_log, spool, stream_rows
from inference_gateway.store.limit_counters import DatabaseCounters, RedisCounters
from inference_gateway.store.resolve_cache import ResolveCache
from inference_gateway.store.route_counters import RedisBreakers, RedisBusy
from inference_gateway.web import (auth, body_limits, dashboard, envelope, guards, input_guard, logs, observability,
                                   tracing, virtual_keys)


def make_gate(settings):
    """Virtual keys' limits: counters in Redis with REDIS_URL, else in the gateway's database."""
    lease = settings["LIMITS_LEASE_SECONDS"]
    if settings["REDIS_URL"]:
        counters, store = RedisCounters(settings["REDIS_URL"], settings["LIMITS_REDIS_PREFIX"], lease), "REDIS_URL"
    else:
        counters, store = DatabaseCounters(lease), "DATABASE_URL"
    return Gate(counters, settings["LIMITS_FAIL_OPEN"], settings["LIMITS_DEFAULT_OUTPUT_TOKENS"], store)


def make_router(settings, provider_settings, counters, prices, windows):
    """Routes' breakers and calls in flight: in Redis beside the keys' counters with REDIS_URL (one
    connection pool for both), else in this process (each worker its own; see README "Routing")."""
    failures, cooldown = settings["BREAKER_FAILURES"], settings["BREAKER_COOLDOWN"]
    if isinstance(counters, RedisCounters):
        prefix = settings["LIMITS_REDIS_PREFIX"]
        breakers = RedisBreakers(counters.client, counters.errors, prefix, failures, cooldown)
        busy = RedisBusy(counters.client, counters.errors, prefix, settings["LIMITS_LEASE_SECONDS"])
    else:
        breakers = MemoryBreakers(failures, cooldown, on_open=windows.breaker_open)
        busy = routing.MemoryBusy()
    # A target's failure moves the call on at once: the adapter's own retries are for direct calls.
    targets = replace(provider_settings, http=replace(provider_settings.http, max_retries=0))
    return routing.Router(breakers, busy, targets, prices, settings["ROUTE_RETRY_AFTER_MAX"])


def create_app(config=None):
    """Build the WSGI app: defaults, then the environment, then `config` overrides."""
    settings = load_config(config)
    app = Flask(__name__)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_REQUEST_BYTES"]
    app.json = envelope.JSONProvider(app)
    logs.configure(settings["LOG_LEVEL"], settings["LOG_FORMAT"])

    app.extensions["provider_settings"] = ProviderSettings(
        http=HttpSettings(
            connect_timeout=settings["UPSTREAM_CONNECT_TIMEOUT"],
            read_timeout=settings["UPSTREAM_READ_TIMEOUT"],
            max_retries=settings["UPSTREAM_MAX_RETRIES"],
            backoff_base=settings["UPSTREAM_RETRY_BACKOFF"],
            retry_after_max=settings["UPSTREAM_RETRY_AFTER_MAX"],
            pool_size=settings["UPSTREAM_POOL_SIZE"],
            stream_idle_timeout=settings["STREAM_IDLE_TIMEOUT"],
            max_line_bytes=settings["UPSTREAM_MAX_LINE_BYTES"],
            max_reply_bytes=settings["UPSTREAM_MAX_REPLY_BYTES"],
        ),
        anthropic_default_max_tokens=settings["ANTHROPIC_DEFAULT_MAX_TOKENS"],
        key_vars=settings["PROVIDER_KEY_PATTERNS"],
    )
    provider_store.configure(settings["PROVIDER_KEY_PATTERNS"])

    seconds = settings["PROVIDER_CACHE_SECONDS"]
    app.extensions["resolve_cache"] = ResolveCache(seconds) if seconds > 0 else None
    app.extensions["prices"] = PriceTable(settings["PRICES_FILE"])
    app.extensions["gate"] = make_gate(settings)
    windows = health.configure(settings["HEALTH_FLUSH_SECONDS"], settings["HEALTH_DEGRADED_ERROR_RATE"])
    app.extensions["router"] = make_router(settings, app.extensions["provider_settings"],
                                           app.extensions["gate"].counters, app.extensions["prices"], windows)
    app.extensions["breakers"] = app.extensions["router"].breakers
    db.init_app(app)
    migrations.create_or_migrate()
    journalled = db.is_sqlite() and not db.commits_wait_for_disk(settings)
    request_log.journal.configure(db.database.obj.database if journalled else None, settings["LOG_JOURNAL_INTERVAL"])
    spool.configure(settings["DATA_DIR"])
    spool.replay()  # rows a previous run could not store
    stream_rows.configure(settings["STREAM_CHECKPOINT_SECONDS"], settings["STREAM_ABANDONED_AFTER"])
    # Rows of streams a dead worker left in progress; it first moves every journal (dead processes' too).
    stream_rows.close_interrupted()
    db.release_all()
    guards.init_app(app)
    auth.init_app(app)
    virtual_keys.init_app(app)
    envelope.register(app)
    input_guard.init_app(app)
    api.register(app)
    compat.register(app)
    dashboard.register(app)
    observability.init_app(app)
    tracing.init_app(app)
    body_limits.init_app(app)
    cli.init_app(app)
    logging.getLogger(__name__).debug("app created")
    return app
