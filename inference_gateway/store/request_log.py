"""Writing the request log: exactly one row per call, whatever way the call ends."""
import functools
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Optional

from inference_gateway import events
from inference_gateway.store import db, fast, log_writer
from inference_gateway.store import spool
from inference_gateway.store.journal import Journal
from inference_gateway.store.wal_sync import syncer
from inference_gateway.store.tables import LOG_COLUMNS, RequestLog, new_id, utcnow
from inference_gateway.text import storable

log = logging.getLogger(__name__)

SUCCESS, ERROR, CANCELLED = "success", "error", "cancelled"
# A stream's row from its first event until it ends; one left behind by a dead worker is closed as
# an error with code INTERRUPTED (stream_rows.close_interrupted).
IN_PROGRESS = "in_progress"


@dataclass
class CallRecord:
    """One call's outcome; becomes one request_log row."""

    endpoint: str
    id: str = field(default_factory=lambda: new_id(8))
    created: object = field(default_factory=utcnow)
    started: float = field(default_factory=time.perf_counter)
    provider_id: Optional[str] = None
    provider_name: Optional[str] = None
    model: Optional[str] = None
    status: str = SUCCESS
    http_status: Optional[int] = 200
    input_tokens: int = 0
    output_tokens: int = 0
    # Parts of the two above, as the provider reports them (0 when it does not).
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    duration_ms: int = 0
    ttft_ms: Optional[int] = None
    stream: bool = False
    error_code: Optional[str] = None
    error_message: Optional[str] = None
    # Time spent waiting on the upstream (a stream's: blocked on its reads); the wall time minus
    # this is the gateway's own overhead, the one figure the header, the access log and /metrics show.
    upstream_ms: float = 0.0
    overhead_ms: Optional[float] = None
    request_body: Optional[str] = None
    response_body: Optional[str] = None
    # The X-Request-Id of the HTTP call this one answers (None for a WebSocket frame's call).
    request_id: Optional[str] = None
    # The virtual key the call was made with (None for static keys and open mode).
    key_id: Optional[str] = None
    # USD, from `price` and the tokens; None when the model has no price (never 0 for unknown).
    cost_usd: Optional[float] = None
    # The unit prices the cost was computed with (JSON): a later price change rewrites nothing.
    prices: Optional[str] = None
    # The model's price (gateway.pricing.Price), set once the call is resolved.
    price: object = field(default=None, repr=False)
    # Called with the record once its tokens and cost are final (limits settle their reservation).
    on_finish: object = field(default=None, repr=False)
    # A virtual key's x-ratelimit-* figures after this call's reservation (store.limit_counters.Window).
    limits_window: object = field(default=None, repr=False)
    # The adapter serving the call; its upstream wait is read when the call finishes.
    adapter: object = field(default=None, repr=False)
    # Set when a stream takes over writing the row after the view returns.
    deferred: bool = False
    # The process serving a stream ("host:pid:start"), so a row it leaves in progress can be closed.
    worker: Optional[str] = None
    # Set once the row is stored (or spooled) early: later writes of it update it in place. With it,
    # the indexed columns' values as stored (see _indexed_values).
    stored: bool = False
    stored_keys: Optional[tuple] = field(default=None, repr=False)
    # What the provider answered with; not stored (traces read them, web/tracing.py).
    response_model: Optional[str] = None
    finish_reason: Optional[str] = None
    # The provider's own failure, if that is how the call ended (errors.GatewayError.retry_kind):
    # not stored; provider health counts it (gateway/health.py).
    fault: Optional[str] = None
    # A routed call's route, attempts and failed attempts (JSON), gateway/routing.py.
    route: Optional[str] = None
    attempts: Optional[int] = None
    failed_attempts: Optional[str] = None
    # Failed attempts of this call billed upstream (each its own row): its key's spend settles them too.
    billed_elsewhere_tokens: int = 0
    billed_elsewhere_usd: float = 0.0

    @property
    def public_id(self):
        """The id a client looks the call up by: its X-Request-Id, or the row's own id without one."""
        return self.request_id or self.id

    def set_provider(self, provider, model):
        self.provider_id, self.provider_name, self.model = provider.id, provider.name, model

    def set_usage(self, usage):
        if usage is not None:
            self.input_tokens, self.output_tokens = usage.input_tokens, usage.output_tokens
            self.cache_read_tokens, self.cache_write_tokens = usage.cache_read_tokens, usage.cache_write_tokens
            self.reasoning_tokens = usage.reasoning_tokens

    def fail(self, exc, status=ERROR):
        self.status = status
        self.http_status = getattr(exc, "status", 500)
        self.error_code = getattr(exc, "code", "INTERNAL_ERROR")
        self.error_message = getattr(exc, "message", None) or "internal error"
        self.fault = getattr(exc, "retry_kind", None)

    def mark_first_token(self):
        if self.ttft_ms is None:
            self.ttft_ms = int((time.perf_counter() - self.started) * 1000)

    def finish(self):
        wall_ms = (time.perf_counter() - self.started) * 1000
        self.duration_ms = int(wall_ms)
        if self.adapter is not None:
            self.upstream_ms = self.adapter.upstream_seconds * 1000.0
        self.overhead_ms = max(0.0, wall_ms - self.upstream_ms)
        if self.price is not None:
            self.cost_usd, self.prices = self.price.charge(self)
        if self.on_finish is not None:
            on_finish, self.on_finish = self.on_finish, None
            try:
                on_finish(self)
            except Exception:  # the row is written whatever became of the settlement
                log.exception("settling the limits of call %s failed", self.id)

    def usage_dict(self):
        """The call's token counts as the API shows them (the details only when reported)."""
        usage = {"inputTokens": self.input_tokens, "outputTokens": self.output_tokens}
        if self.cache_read_tokens:
            usage["cacheReadTokens"] = self.cache_read_tokens
        if self.cache_write_tokens:
            usage["cacheWriteTokens"] = self.cache_write_tokens
        if self.reasoning_tokens:
            usage["reasoningTokens"] = self.reasoning_tokens
        return usage

    def row(self):
        return {name: storable(getattr(self, name)) for name in LOG_COLUMNS}


def _column(name):
    return f'"{RequestLog._meta.fields[name].column_name}"'


def _insert_sql(p):
    columns = ", ".join(_column(n) for n in LOG_COLUMNS)
    return (f'INSERT INTO "{RequestLog._meta.table_name}" ({columns}) '
            f'VALUES ({", ".join([p] * len(LOG_COLUMNS))})')


def _upsert_sql(p, keep=("id",)):
    """The row, replacing the one stored under its id (a stream's early row) if there is one; the
    columns in `keep` are left as stored."""
    updates = ", ".join(f"{_column(n)} = excluded.{_column(n)}" for n in LOG_COLUMNS if n not in keep)
    return f'{_insert_sql(p)} ON CONFLICT ("id") DO UPDATE SET {updates}'


def _index_columns():
    """The columns the request log's indexes cover (the partial index of rows in progress, on
    `status`, is not among them: a later write always sets `status`)."""
    named = {name for columns, _ in RequestLog._meta.indexes for name in columns}
    named |= {f.name for f in RequestLog._meta.sorted_fields if f.index or f.unique or f.primary_key}
    return tuple(name for name in LOG_COLUMNS if name in named)


INDEXED = _index_columns()


def _indexed_values(record):
    return tuple(getattr(record, name) for name in INDEXED)


# One row per proxied call: the statements are compiled once (see fast.PreparedSQL).
_insert = fast.PreparedSQL(_insert_sql)
_upsert = fast.PreparedSQL(_upsert_sql)
# A stream's later writes of its row when the indexed columns are as stored: SQLite rewrites every
# index a SET names whatever the values, and with them named a stream's final row dirtied 8 pages
# (WAL frames) against 3 without (bench/README.md).
_update_in_place = fast.PreparedSQL(lambda p: _upsert_sql(p, keep=INDEXED))


# A journal line names its statement by kind (journal.py).
STATEMENTS = {"insert": _insert, "upsert": _upsert, "update": _update_in_place}


def _statement(record):
    if not record.stored:
        return "insert"
    return "update" if record.stored_keys == _indexed_values(record) else "upsert"


def _stored(record):
    record.stored, record.stored_keys = True, _indexed_values(record)


def _values(record):
    fields_ = RequestLog._meta.fields
    return [fields_[name].db_value(storable(getattr(record, name))) for name in LOG_COLUMNS]


# The writer's connection: only the turn's holder uses it (log_writer.Writer).
_connection = fast.OwnConnection()
writer = log_writer.Writer(_connection, committed=syncer.committed)
journal = Journal(STATEMENTS, LOG_COLUMNS)


def catch_up():
    """Every journalled row stored (journal.py): run before reading the request log."""
    journal.catch_up()


def reads_log(function):
    """For a function that reads the request log: every journalled row is stored first."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        journal.catch_up()
        return function(*args, **kwargs)
    return wrapper


def _journalled(kind, values):
    """True once the row is in the journal; False when there is none or it could not take the row
    (then it is committed as without one)."""
    if not journal.enabled:
        return False
    try:
        journal.append(kind, values)
    except OSError:
        log.exception("request log journal refused a row; committing it directly")
        return False
    return True


def store(record, attempts=5):
    """Store the record's row as it is now (an update if it was stored before): appended to the
    journal where there is one (journal.py), else committed through the writer.

    Committing, SQLite's busy timeout absorbs lock contention; a rare 'database is locked' past it
    is retried rather than losing the row. A database that stays down gets the row spooled to disk (spool)
    instead: the call has its answer, and the row is stored once the database is back."""
    kind, values = _statement(record), _values(record)
    if _journalled(kind, values):
        _stored(record)
        return
    statement = STATEMENTS[kind]
    for attempt in range(attempts):
        try:
            writer.store(statement.sql(), values, record.row)
        except db.DATABASE_DOWN:
            if attempt < attempts - 1:
                time.sleep(0.05 * (attempt + 1))
                continue
            if not spool.spool(record.row()):
                log.exception("could not write request log row %s", record.id)
                raise
            log.error("database unavailable: request log row %s spooled to %s", record.id, spool.path())
        else:
            spool.replay_if_due()
        break
    _stored(record)


def store_now(record):
    """Store the record's row once (journalled, or committed raising what the database raised: no
    retry, no spool)."""
    kind, values = _statement(record), _values(record)
    if not _journalled(kind, values):
        writer.store(STATEMENTS[kind].sql(), values, record.row)
    _stored(record)


TRUNCATED = "...[truncated]"
REDACTED = "[redacted]"
# Body fields whose values are credentials, compared lower-cased without '-' and '_'.
SECRET_KEYS = {"apikey", "key", "authorization", "token", "accesstoken", "secret", "clientsecret",
               "password", "xapikey", "xgoogapikey"}


def redact(value):
    """The value with every credential-looking field's value replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower().replace("-", "").replace("_", "") in SECRET_KEYS
                else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def capture_body(value, config):
    """A body for the log when LOG_BODIES is on, credentials redacted, cut to LOG_BODY_MAX_BYTES
    (UTF-8 bytes, the marker included); otherwise None. Headers are never captured."""
    if not config.get("LOG_BODIES") or value is None:
        return None
    text = storable(value if isinstance(value, str) else json.dumps(redact(value), default=str, ensure_ascii=False))
    limit = config.get("LOG_BODY_MAX_BYTES", 16384)
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:max(0, limit - len(TRUNCATED))].decode("utf-8", "ignore") + TRUNCATED


def write(record: CallRecord):
    """The call's final row, written once it ends (streams: after the request is gone)."""
    record.finish()
    store(record)
    events.call_finished.send(record)
    return record
