"""Writing the request log: exactly one row per call, whatever way the call ends."""
import json
import logging
import time
from dataclasses import dataclass, field, fields
from typing import Optional

from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded

from . import db, events, log_spool
from .models import RequestLog, new_id, utcnow

log = logging.getLogger(__name__)

SUCCESS, ERROR, CANCELLED = "success", "error", "cancelled"
DATABASE_DOWN = (OperationalError, InterfaceError, MaxConnectionsExceeded)


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
    duration_ms: int = 0
    ttft_ms: Optional[int] = None
    stream: bool = False
    error_code: Optional[str] = None
    error_message: Optional[str] = None
    # Time spent waiting on the upstream; total minus this is the gateway's own overhead.
    upstream_ms: float = 0.0
    request_body: Optional[str] = None
    response_body: Optional[str] = None
    # The adapter serving the call; its upstream wait is read when the call finishes.
    adapter: object = field(default=None, repr=False)
    # Set when a stream takes over writing the row after the view returns.
    deferred: bool = False

    def set_provider(self, provider, model):
        self.provider_id, self.provider_name, self.model = provider.id, provider.name, model

    def set_usage(self, usage):
        if usage is not None:
            self.input_tokens, self.output_tokens = usage.input_tokens, usage.output_tokens

    def fail(self, exc, status=ERROR):
        self.status = status
        self.http_status = getattr(exc, "status", 500)
        self.error_code = getattr(exc, "code", "INTERNAL_ERROR")
        self.error_message = getattr(exc, "message", None) or "internal error"

    def mark_first_token(self):
        if self.ttft_ms is None:
            self.ttft_ms = int((time.perf_counter() - self.started) * 1000)

    def finish(self):
        self.duration_ms = int((time.perf_counter() - self.started) * 1000)
        if self.adapter is not None:
            self.upstream_ms = self.adapter.upstream_seconds * 1000.0

    def row(self):
        return {name: getattr(self, name) for name in ROW_FIELDS}


ROW_FIELDS = [f.name for f in fields(CallRecord)
              if f.name not in ("started", "upstream_ms", "adapter", "deferred")]


def _insert_sql(p):
    columns = ", ".join(f'"{RequestLog._meta.fields[n].column_name}"' for n in ROW_FIELDS)
    return (f'INSERT INTO "{RequestLog._meta.table_name}" ({columns}) '
            f'VALUES ({", ".join([p] * len(ROW_FIELDS))})')


# One row per proxied call: the INSERT is compiled once (see db.PreparedSQL).
_insert = db.PreparedSQL(_insert_sql)


def insert_row(record):
    """Insert the record's row; values go through each field's db_value, as peewee's insert would."""
    fields_ = RequestLog._meta.fields
    _insert.execute([fields_[name].db_value(getattr(record, name)) for name in ROW_FIELDS])


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
    text = value if isinstance(value, str) else json.dumps(redact(value), default=str, ensure_ascii=False)
    limit = config.get("LOG_BODY_MAX_BYTES", 16384)
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:max(0, limit - len(TRUNCATED))].decode("utf-8", "ignore") + TRUNCATED


def write(record: CallRecord, attempts=5):
    """Insert the row in its own connection context (streams end after the request is gone).

    SQLite's busy timeout absorbs lock contention; a rare 'database is locked' past it is retried
    rather than losing the row. A database that stays down gets the row spooled to disk (log_spool)
    instead: the call has its answer, and the row is stored once the database is back."""
    record.finish()
    for attempt in range(attempts):
        try:
            with db.connection():
                insert_row(record)
        except DATABASE_DOWN:
            if attempt < attempts - 1:
                time.sleep(0.05 * (attempt + 1))
                continue
            if not log_spool.spool(record.row()):
                log.exception("could not write request log row %s", record.id)
                raise
            log.error("database unavailable: request log row %s spooled to %s", record.id, log_spool.path())
        else:
            log_spool.replay_if_due()
        break
    events.call_finished.send(record)
    return record
