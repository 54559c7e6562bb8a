"""Tables: providers, their synced models, and the request log."""
import secrets
from datetime import datetime, timezone

from peewee import (SQL, BigAutoField, BigIntegerField, BooleanField, CharField, DateTimeField, DoubleField,
                    ForeignKeyField, IntegerField, Model, PostgresqlDatabase, TextField)

from inference_gateway.store.db import database


# Token details (parts of input/output tokens) that providers report; columns since schema version 4.
TOKEN_DETAILS = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def detail_field(cls):
    """A token-detail column: 0 when not reported, with a database default so rows written by other
    means (raw inserts, older code during a rolling upgrade) get 0 too."""
    return cls(default=0, constraints=[SQL("DEFAULT 0")])


def utcnow():
    """Naive UTC, the form every timestamp is stored in."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_id(nbytes=4):
    return secrets.token_hex(nbytes)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied = DateTimeField(default=utcnow)


class Provider(BaseModel):
    id = CharField(primary_key=True, max_length=8, default=new_id)
    name = CharField(max_length=64)
    # Lower-cased name: uniqueness and lookups are case-insensitive.
    name_key = CharField(max_length=64, unique=True)
    type = CharField(max_length=32)
    default_model = CharField(max_length=200, null=True)
    env_var = CharField(max_length=128, null=True)
    base_url = CharField(max_length=500, null=True)
    created = DateTimeField(default=utcnow, index=True)
    updated = DateTimeField(default=utcnow)


class ProviderModel(BaseModel):
    id = CharField(primary_key=True, max_length=16, default=lambda: new_id(8))
    provider = ForeignKeyField(Provider, backref="models", on_delete="CASCADE")
    model_id = CharField(max_length=300, index=True)
    display_name = CharField(max_length=300, null=True)
    capabilities = CharField(max_length=200, default="")  # comma-separated
    synced_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "model"
        indexes = ((("provider", "model_id"), True),)


class RequestLog(BaseModel):
    # No foreign key: a log row outlives its provider and keeps the provider's name.
    id = CharField(primary_key=True, max_length=32, default=lambda: new_id(8))
    created = DateTimeField(default=utcnow)
    provider_id = CharField(max_length=8, null=True)
    provider_name = CharField(max_length=64, null=True)
    model = CharField(max_length=300, null=True)
    endpoint = CharField(max_length=32)
    status = CharField(max_length=16)  # success | error | cancelled | in_progress (a stream, until it ends)
    http_status = IntegerField(null=True)
    input_tokens = IntegerField(default=0)
    output_tokens = IntegerField(default=0)
    cache_read_tokens = detail_field(IntegerField)
    cache_write_tokens = detail_field(IntegerField)
    reasoning_tokens = detail_field(IntegerField)
    duration_ms = IntegerField(default=0)
    ttft_ms = IntegerField(null=True)
    stream = BooleanField(default=False)
    error_code = CharField(max_length=64, null=True)
    error_message = TextField(null=True)
    request_body = TextField(null=True)
    response_body = TextField(null=True)
    # The process serving a stream (host:pid:start); only stream rows have one.
    worker = CharField(max_length=128, null=True)
    # The X-Request-Id of the HTTP call (a caller's own id may repeat, so it is not the key).
    request_id = CharField(max_length=128, null=True, index=True)
    key_id = CharField(max_length=16, null=True)
    cost_usd = DoubleField(null=True)
    prices = TextField(null=True)
    # A routed call's route, its attempts, and the failed ones (JSON: provider, model, code, status).
    route = CharField(max_length=64, null=True)
    attempts = IntegerField(null=True)
    failed_attempts = TextField(null=True)

    class Meta:
        table_name = "request_log"
        # Each serves the newest-first page (and its cursor) for one kind of filter.
        indexes = (
            (("created", "id"), False),
            (("provider_id", "created", "id"), False),
            (("model", "created", "id"), False),
            (("key_id", "created", "id"), False),
        )

    @classmethod
    def create_table(cls, safe=True, **options):
        super().create_table(safe=safe, **options)
        db = cls._meta.database
        for statement in rollup_triggers(isinstance(db.obj, PostgresqlDatabase)) + [IN_PROGRESS_INDEX]:
            db.execute_sql(statement)


# The request log's columns, written down once: a call's row has all of them (request_log); a
# listing page and the generated test rows have all but the bodies, which a page never reads
LOG_COLUMNS = tuple(RequestLog._meta.sorted_field_names)
# (nor the serving worker: only the sweep of interrupted streams reads it; nor the X-Request-Id
# and a routed call's route and attempts: only the one-row view shows them).
SUMMARY_COLUMNS = tuple(name for name in LOG_COLUMNS if name not in ("request_body", "response_body", "worker",
                                                                        "request_id", "route", "attempts",
                                                                        "failed_attempts"))

# The rows of streams still running (or left behind by a dead worker): few, so a partial index.
IN_PROGRESS_INDEX = ("CREATE INDEX IF NOT EXISTS request_log_in_progress ON request_log (created) "
                     "WHERE status = 'in_progress'")


class UsageRollup(BaseModel):
    """Request-log counters per hour and (provider, model, endpoint, status), kept by triggers on
    request_log: the usage summary of a million rows reads thousands. NULL ids are stored as ''."""

    # Upserts use up sequence values too.
    id = BigAutoField()
    bucket = DateTimeField()
    provider_id = CharField(max_length=8)
    provider_name = CharField(max_length=64, null=True)
    model = CharField(max_length=300)
    endpoint = CharField(max_length=32)
    status = CharField(max_length=16)
    requests = BigIntegerField(default=0)
    errors = BigIntegerField(default=0)
    input_tokens = BigIntegerField(default=0)
    output_tokens = BigIntegerField(default=0)
    duration_ms = BigIntegerField(default=0)
    cache_read_tokens = detail_field(BigIntegerField)
    cache_write_tokens = detail_field(BigIntegerField)
    reasoning_tokens = detail_field(BigIntegerField)
    key_id = CharField(max_length=16, default="")
    cost_usd = DoubleField(default=0)
    # Calls that reached a provider but have no cost (their model has no price).
    unpriced = BigIntegerField(default=0)

    class Meta:
        table_name = "usage_rollup"
        indexes = (
            (("bucket", "provider_id", "model", "endpoint", "status", "key_id"), True),
            (("provider_id", "bucket"), False),
        )


# The counters summed per hour: request_log column = usage_rollup column.
SUMMED = ("input_tokens", "output_tokens", "duration_ms") + TOKEN_DETAILS


ROLLUP_KEY = "bucket, provider_id, model, endpoint, status, key_id"


def unpriced_sql(row, postgres):
    """1 for a finished row that reached a provider and has no cost, else 0."""
    test = f"({row}.cost_usd IS NULL AND {row}.provider_id IS NOT NULL AND {row}.status <> 'in_progress')"
    return test + "::int" if postgres else test


def hour_sql(column, postgres):
    # SQLite keeps datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text; the hour is its first 13 characters.
    return f"date_trunc('hour', {column})" if postgres else f"substr({column}, 1, 13) || ':00:00'"


def _derived(row, postgres):
    """Rollup counters computed from a row rather than copied: its cost and whether it is unpriced."""
    return {"cost_usd": f"coalesce({row}.cost_usd, 0)", "unpriced": unpriced_sql(row, postgres)}


def rollup_triggers(postgres, summed=SUMMED):
    """DDL that keeps usage_rollup equal to the sums over request_log, in the writing statement's
    own transaction (so a row and its counters commit or vanish together). Only a stream's row is
    updated (from in_progress to its outcome): its old counters are taken off, its new ones added.
    `summed` names the counters (a test builds an older schema's triggers with fewer)."""
    derived = list(_derived("NEW", postgres))
    columns = ("bucket, provider_id, provider_name, model, endpoint, status, key_id, requests, errors, "
               + ", ".join(list(summed) + derived))
    add = ("requests = usage_rollup.requests + 1, errors = usage_rollup.errors + excluded.errors, "
           + "".join(f"{c} = usage_rollup.{c} + excluded.{c}, " for c in list(summed) + derived)
           + "provider_name = coalesce(excluded.provider_name, usage_rollup.provider_name)")
    sub = ("requests = requests - 1, errors = errors - {is_error}, "
           + ", ".join([f"{c} = {c} - OLD.{c}" for c in summed]
                       + [f"{c} = {c} - {e}" for c, e in _derived("OLD", postgres).items()])
           + " WHERE bucket = {bucket} AND provider_id = coalesce(OLD.provider_id, '') "
           "AND model = coalesce(OLD.model, '') AND endpoint = OLD.endpoint AND status = OLD.status "
           "AND key_id = coalesce(OLD.key_id, '')")

    def insert(bucket, is_error):
        return (f"INSERT INTO usage_rollup ({columns}) VALUES ({bucket}, coalesce(NEW.provider_id, ''), "
                f"NEW.provider_name, coalesce(NEW.model, ''), NEW.endpoint, NEW.status, "
                f"coalesce(NEW.key_id, ''), 1, {is_error}, "
                + ", ".join([f"NEW.{c}" for c in summed] + list(_derived("NEW", postgres).values())) + ") "
                f"ON CONFLICT ({ROLLUP_KEY}) DO UPDATE SET {add};")

    new, old = hour_sql("NEW.created", postgres), hour_sql("OLD.created", postgres)
    if postgres:
        return [
            "CREATE OR REPLACE FUNCTION request_log_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF TG_OP IN ('UPDATE', 'DELETE') THEN UPDATE usage_rollup SET "
            + sub.format(is_error="(OLD.status = 'error')::int", bucket=old) + "; END IF; "
            "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + insert(new, "(NEW.status = 'error')::int")
            + " RETURN NEW; END IF; RETURN OLD; END $$",
            "DROP TRIGGER IF EXISTS request_log_rollup ON request_log",
            "CREATE TRIGGER request_log_rollup AFTER INSERT OR UPDATE OR DELETE ON request_log "
            "FOR EACH ROW EXECUTE FUNCTION request_log_rollup()",
        ]
    return [
        # Replaced, not kept: a migration that changes the summed columns recreates them.
        "DROP TRIGGER IF EXISTS request_log_rollup_insert",
        "DROP TRIGGER IF EXISTS request_log_rollup_delete",
        "DROP TRIGGER IF EXISTS request_log_rollup_update",
        "CREATE TRIGGER request_log_rollup_insert AFTER INSERT ON request_log BEGIN "
        + insert(new, "NEW.status = 'error'") + " END",
        "CREATE TRIGGER request_log_rollup_delete AFTER DELETE ON request_log BEGIN "
        "UPDATE usage_rollup SET " + sub.format(is_error="(OLD.status = 'error')", bucket=old) + "; END",
        "CREATE TRIGGER request_log_rollup_update AFTER UPDATE ON request_log BEGIN "
        "UPDATE usage_rollup SET " + sub.format(is_error="(OLD.status = 'error')", bucket=old) + "; "
        + insert(new, "NEW.status = 'error'") + " END",
    ]


def rebuild_rollup_sql(postgres):
    """Fill an empty usage_rollup from request_log (a migration that changes the rollup's shape)."""
    error = "(status = 'error')::int" if postgres else "(status = 'error')"
    return (f"INSERT INTO usage_rollup (bucket, provider_id, provider_name, model, endpoint, status, key_id, "
            f"requests, errors, {', '.join(SUMMED)}, cost_usd, unpriced) SELECT {hour_sql('created', postgres)}, "
            f"coalesce(provider_id, ''), max(provider_name), coalesce(model, ''), endpoint, status, "
            f"coalesce(key_id, ''), count(*), sum({error}), {', '.join(f'sum({c})' for c in SUMMED)}, "
            f"coalesce(sum(cost_usd), 0), sum({unpriced_sql('request_log', postgres)}) "
            f"FROM request_log GROUP BY 1, 2, 4, 5, 6, 7")


class VirtualKey(BaseModel):
    """A key the gateway issued (POST /keys). Only the SHA-256 of its secret is kept."""

    id = CharField(primary_key=True, max_length=16, default=lambda: new_id(6))
    name = CharField(max_length=200)
    role = CharField(max_length=16, default="caller")
    secret_hash = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=16)
    models = TextField(null=True)  # JSON list of glob patterns
    providers = TextField(null=True)  # JSON list of provider ids or names
    rpm = IntegerField(null=True)
    tpm = IntegerField(null=True)
    max_concurrent = IntegerField(null=True)
    budget_usd = DoubleField(null=True)
    budget_period = CharField(max_length=8, default="total")
    expires_at = DateTimeField(null=True)
    metadata = TextField(null=True)  # JSON object
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "virtual_key"


class LimitEvent(BaseModel):
    """One admitted call of a virtual key, for limits kept in the database (no REDIS_URL): counted
    in its minute's requests and tokens, and while `open` and leased, in calls in flight and spend
    reserved. Kept a minute, then deleted."""

    id = CharField(primary_key=True, max_length=16)
    key_id = CharField(max_length=16)
    second = BigIntegerField()
    tokens = BigIntegerField(default=0)
    cost_nano = BigIntegerField(default=0)
    lease_until = DoubleField()
    open = BooleanField(default=True)

    class Meta:
        table_name = "limit_event"
        indexes = ((("key_id", "second"), False),)


class KeySpend(BaseModel):
    """A virtual key's settled spend in one budget period, in nano-USD ('<key id>:<period>')."""

    id = CharField(primary_key=True, max_length=40)
    nano = BigIntegerField(default=0)

    class Meta:
        table_name = "key_spend"


KEY_TABLES = [VirtualKey, LimitEvent, KeySpend]


class ProviderHealth(BaseModel):
    """One process's calls to one provider in one minute (gateway/health.py): each process writes
    its own minutes every few seconds, and a provider's health is the sum of the last five minutes'
    rows, whichever process or instance made the calls. Kept ten minutes, then deleted."""

    id = BigAutoField()
    provider_id = CharField(max_length=8)
    minute = BigIntegerField()  # Unix time // 60
    worker = CharField(max_length=128)
    calls = IntegerField(default=0)
    errors = IntegerField(default=0)
    # Sparse latency histograms, JSON {bin: count} (gateway/health.py's bins): mergeable, so a
    # median over every process's calls is read without any of their samples.
    latency = TextField(default="{}")
    ttft = TextField(default="{}")
    last_error = TextField(null=True)
    last_error_at = DoubleField(null=True)
    # Without REDIS_URL circuit breakers are per process: the moment this process's breaker for the
    # provider stays open until, so every process's answer shows it.
    open_until = DoubleField(null=True)

    class Meta:
        table_name = "provider_health"
        indexes = ((("minute", "provider_id", "worker"), True),)


HEALTH_TABLES = [ProviderHealth]


class Route(BaseModel):
    """A model name served by several targets (gateway/routing.py)."""

    id = CharField(primary_key=True, max_length=8, default=new_id)
    name = CharField(max_length=64)
    name_key = CharField(max_length=64, unique=True)
    strategy = CharField(max_length=16)
    targets = TextField()  # JSON [{model, providerId?, weight?}]
    retry_on = TextField(null=True)  # JSON list; NULL: the default
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)

    class Meta:
        table_name = "route"


ROUTE_TABLES = [Route]


class JournalOffset(BaseModel):
    """How far each request-log journal file (store/journal.py) has been moved into request_log:
    written in the transaction that moves its lines, so each line is stored exactly once."""

    file = CharField(primary_key=True, max_length=300)
    ingested = BigIntegerField()

    class Meta:
        table_name = "request_log_journal"


TABLES = ([SchemaVersion, Provider, ProviderModel, UsageRollup, RequestLog] + KEY_TABLES + HEALTH_TABLES + ROUTE_TABLES
          + [JournalOffset])
