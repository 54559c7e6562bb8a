"""Flask CLI commands: `flask --app wsgi usage prune|generate`."""
import random
import time
from datetime import timedelta

import click
from flask.cli import AppGroup
from peewee import PostgresqlDatabase

from inference_gateway.store import db
from inference_gateway.store import provider_store
from inference_gateway.store import usage
from inference_gateway.store.tables import SUMMARY_COLUMNS, RequestLog, UsageRollup, new_id, utcnow

usage_cli = AppGroup("usage", help="Request-log maintenance: prune old rows, generate test rows.")

# name -> (type, envVar, [(model, endpoints)]): what `generate` pretends each provider served.
CATALOG = {
    "openai": ("openai", "OPENAI_API_KEY", [
        ("gpt-4o", "chat"), ("gpt-4o-mini", "chat"), ("text-embedding-3-small", "embed"),
        ("gpt-image-1", "images"), ("whisper-1", "transcribe")]),
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY", [
        ("claude-sonnet-4-20250514", "chat"), ("claude-3-5-haiku-latest", "chat")]),
    "google": ("google", "GEMINI_API_KEY", [
        ("gemini-2.0-flash", "chat"), ("gemini-1.5-pro", "chat"), ("text-embedding-004", "embed")]),
    "opencode": ("opencode", "OPENCODE_API_KEY", [("opencode/qwen3-coder", "chat")]),
}
COMPATIBLE_MODELS = [("llama-3.1-8b-instruct", "chat")]
CHAT_ENDPOINTS = (("chat", 0.60), ("chat_stream", 0.35), ("chat_ws", 0.05))
ERRORS = (("UPSTREAM_ERROR", 502, "openai returned 500: server error"),
          ("RATE_LIMITED", 429, "rate limited by the provider; retry after 20 s"),
          ("UPSTREAM_TIMEOUT", 504, "the provider did not answer within 120 s"))


@usage_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Delete rows older than this many days (default: USAGE_RETENTION_DAYS).")
def prune_command(days):
    """Delete request-log rows older than the retention period, now."""
    from flask import current_app

    days = days or current_app.config["USAGE_RETENTION_DAYS"]
    if not days:
        raise click.UsageError("USAGE_RETENTION_DAYS is 0 (keep forever); pass --days N to prune anyway")
    with db.connection():
        deleted = usage.prune(days)
    click.echo(f"deleted {deleted} request-log rows older than {days} days")


@usage_cli.command("generate")
@click.option("--rows", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--providers", default="openai,anthropic,google,opencode", show_default=True,
              help="Comma-separated provider names; unregistered ones are registered first "
                   "(names outside the catalog become openai-compatible providers).")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="Spread the rows' times evenly over this many days up to now.")
@click.option("--batch", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--seed", type=int, default=None, help="Random seed, for repeatable data.")
def generate_command(rows, providers, days, batch, seed):
    """Bulk-insert realistic request-log rows (for benchmarks and demos)."""
    names = [n.strip() for n in providers.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("name at least one provider", param_hint="--providers")
    started = time.perf_counter()
    with db.connection():
        registered = [ensure_provider(name) for name in names]
        inserted = generate(rows, registered, days=days, batch=batch, rng=random.Random(seed))
    click.echo(f"inserted {inserted} rows in {time.perf_counter() - started:.1f} s")


def ensure_provider(name):
    """The registered provider with this name, registering it from the catalog if needed."""
    provider = provider_store.find(name)
    if provider is not None:
        return provider
    kind, env_var, _ = CATALOG.get(name.lower(), ("openai-compatible", None, None))
    base_url = "http://127.0.0.1:8000/v1" if kind == "openai-compatible" else None
    return provider_store.create({"name": name, "type": kind, "env_var": env_var, "base_url": base_url,
                                  "default_model": None})


def models_for(provider):
    entry = CATALOG.get(provider.name.lower())
    if entry is None:
        entry = next((e for e in CATALOG.values() if e[0] == provider.type), (None, None, COMPATIBLE_MODELS))
    return entry[2]


def fake_row(rng, provider, model, kind, created):
    """One plausible row: mostly successes, some upstream errors, a few cancelled streams."""
    endpoint = kind
    if kind == "chat":
        endpoint = rng.choices([e for e, _ in CHAT_ENDPOINTS], [w for _, w in CHAT_ENDPOINTS])[0]
    stream = endpoint in ("chat_stream", "chat_ws")
    roll = rng.random()
    status, http_status, code, message = "success", 200, None, None
    if roll < 0.04:
        status = "error"
        code, http_status, message = rng.choice(ERRORS)
    elif roll < 0.05 and stream:
        status, http_status, code, message = "cancelled", 499, "CANCELLED", "the client went away"
    input_tokens = int(rng.lognormvariate(5.5, 1.0)) + 1 if status != "error" else 0
    output_tokens = 0
    if status != "error" and endpoint not in ("embed",):
        output_tokens = int(rng.lognormvariate(4.5, 1.0)) + 1
    duration = int(rng.lognormvariate(6.5, 0.8)) + 5
    ttft = int(duration * rng.uniform(0.05, 0.4)) if stream and status != "error" else None
    # Chat calls report some cached input and, now and then, reasoning tokens, as providers do.
    cached = int(input_tokens * rng.uniform(0, 0.8)) if kind == "chat" and rng.random() < 0.3 else 0
    reasoning = int(output_tokens * rng.uniform(0.2, 0.9)) if kind == "chat" and rng.random() < 0.2 else 0
    row = {"id": new_id(8), "created": created, "provider_id": provider.id, "provider_name": provider.name,
           "model": model, "endpoint": endpoint, "status": status, "http_status": http_status,
           "input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_tokens": cached,
           "cache_write_tokens": 0, "reasoning_tokens": reasoning, "duration_ms": duration, "ttft_ms": ttft,
           "stream": stream, "error_code": code, "error_message": message,
           # No virtual key, and no cost: generated rows are unpriced.
           "key_id": None, "cost_usd": None, "prices": None}
    return tuple(row[name] for name in SUMMARY_COLUMNS)


def generate(count, providers, *, days=30, batch=10_000, rng=None, now=None):
    """Insert `count` rows spread over the last `days` days; one transaction per batch."""
    rng = rng or random.Random()
    now = now or utcnow()
    start, step = now - timedelta(days=days), days * 86400.0 / count
    choices = [(p, model, kind) for p in providers for model, kind in models_for(p)]
    # Chat models get most of the traffic, as they do in practice.
    weights = [8 if kind == "chat" else 1 for _, _, kind in choices]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        RequestLog._meta.table_name, ", ".join(SUMMARY_COLUMNS), ", ".join([db.database.param] * len(SUMMARY_COLUMNS)))
    inserted = 0
    while inserted < count:
        size = min(batch, count - inserted)
        picks = rng.choices(choices, weights, k=size)
        # In time order, as a live log is written: the created indexes grow at their right edge.
        rows = [fake_row(rng, p, model, kind, start + timedelta(seconds=(inserted + i + rng.random()) * step))
                for i, (p, model, kind) in enumerate(picks)]
        insert_batch(sql, rows)
        inserted += size
    # Fresh planner statistics, as autovacuum would gather for a log that grew over days; without
    # them PostgreSQL guesses a million rows are a few hundred and picks slow plans.
    for table in (RequestLog, UsageRollup):
        db.database.execute_sql(f"ANALYZE {table._meta.table_name}")
    return inserted


def insert_batch(sql, rows):
    with db.database.atomic():
        cursor = db.database.cursor()
        if isinstance(db.database.obj, PostgresqlDatabase):
            from psycopg2.extras import execute_values

            # psycopg2's executemany is one round trip per row; execute_values sends pages of rows.
            execute_values(cursor, sql.split(" VALUES ")[0] + " VALUES %s", rows, page_size=1000)
        else:
            cursor.executemany(sql, [(*r[:1], str(r[1]), *r[2:]) for r in rows])


def init_app(app):
    app.cli.add_command(usage_cli)

