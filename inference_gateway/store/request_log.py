"""Writing the request log: exactly one row per call, whatever way the call ends."""
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from peewee import OperationalError

from inference_gateway import events
from inference_gateway.store import db
from inference_gateway.store import spool
from inference_gateway.store.tables import LOG_COLUMNS, RequestLog, new_id, utcnow

log = logging.getLogger(__name__)

SUCCESS, ERROR, CANCELLED = "success", "error", "cancelled"

# Calls of this process still running (their rows not yet handed to write()). With none, no other
# row can join the writer's batch, so it does not yield for them (a turn of the event loop per call
# at concurrency 1). Unlocked: a miscount under threads only changes whether the writer yields.
open_calls = 0


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
    # Time spent waiting on the upstream; total minus this is the gateway's own overhead.
    upstream_ms: float = 0.0
    request_body: Optional[str] = None
    response_body: Optional[str] = None
    # The adapter serving the call; its upstream wait is read when the call finishes.
    adapter: object = field(default=None, repr=False)
    # Set when a stream takes over writing the row after the view returns.
    deferred: bool = False

    def __post_init__(self):
        global open_calls
        open_calls += 1

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

    def mark_first_token(self):
        if self.ttft_ms is None:
            self.ttft_ms = int((time.perf_counter() - self.started) * 1000)

    def finish(self):
        self.duration_ms = int((time.perf_counter() - self.started) * 1000)
        if self.adapter is not None:
            self.upstream_ms = self.adapter.upstream_seconds * 1000.0

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
        return {name: getattr(self, name) for name in LOG_COLUMNS}


def _insert_sql(p):
    columns = ", ".join(f'"{RequestLog._meta.fields[n].column_name}"' for n in LOG_COLUMNS)
    return (f'INSERT INTO "{RequestLog._meta.table_name}" ({columns}) '
            f'VALUES ({", ".join([p] * len(LOG_COLUMNS))})')


# One row per proxied call: the INSERT is compiled once (see db.PreparedSQL).
_insert = db.PreparedSQL(_insert_sql)


def _values(record):
    fields_ = RequestLog._meta.fields
    return [fields_[name].db_value(getattr(record, name)) for name in LOG_COLUMNS]


# The writer's connection: rows are written by one caller at a time per process (GroupCommit).
_connection = db.OwnConnection()


def insert_row(record):
    """Insert the record's row; values go through each field's db_value, as peewee's insert would."""
    with _connection.cursor() as cursor:
        cursor.execute(_insert.sql(), _values(record))


def insert_rows(records):
    """Insert several rows in one transaction (one commit, one WAL append, one lock hold)."""
    with _connection.cursor(transaction=True) as cursor:
        cursor.executemany(_insert.sql(), [_values(record) for record in records])


class _Waiter:
    __slots__ = ("record", "done", "error", "lead", "abandoned")

    def __init__(self, record):
        self.record, self.done, self.error = record, threading.Event(), None
        self.lead = self.abandoned = False


class GroupCommit:
    """Inserts log rows with at most one writer per process; rows that arrive while it writes are
    committed together by the next writer, in one transaction.

    Under gevent a database call does not yield (sqlite3 never does), so without this every call
    ended in its own transaction: a commit, a write-lock round with the other workers (whose busy
    handler sleeps in C, stalling the whole worker) and a share of WAL checkpointing per row. A
    writer yields once before it takes the queue, so calls finishing in the same loop turn join it,
    writes one batch and hands the next to the oldest waiting caller (so no caller's answer waits
    on rows other than those batched with its own). A caller returns only once its own row is
    committed, or with that row's own error, exactly as with a direct insert."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._queue = []
        self._writing = False

    def insert(self, record):
        waiter = _Waiter(record)
        with self._mutex:
            self._queue.append(waiter)
            waiter.lead = not self._writing
            self._writing = True
        if not waiter.lead:
            try:
                waiter.done.wait()  # set when the row is written, or when this caller is to write
            except BaseException:
                self._abandon(waiter)
                raise
        if waiter.lead:
            self._write_batch()
        if waiter.error is not None:
            raise waiter.error

    def _write_batch(self):
        interrupted = None
        if open_calls > 0:
            try:
                time.sleep(0)  # let calls finishing in this turn of the event loop queue their rows
            except BaseException as exc:  # killed while yielding: the queued rows are written first
                interrupted = exc
        with self._mutex:
            batch, self._queue = self._queue, []
        written = False
        try:
            self._commit(batch)
            written = True
        finally:
            with self._mutex:
                successor = next((w for w in self._queue if not w.abandoned), None)
                self._writing = successor is not None
                if successor is not None:
                    successor.lead = True
            for waiter in batch:
                if not written:  # the writer itself was interrupted (a killed greenlet)
                    waiter.error = OperationalError("request log writer interrupted")
                waiter.lead = False
                waiter.done.set()
            if successor is not None:
                successor.done.set()
        if interrupted is not None:
            raise interrupted

    def _abandon(self, waiter):
        """A waiting caller was interrupted (a killed greenlet). Its row stays queued for the next
        batch; if the writing was already its turn, it writes that batch before it goes."""
        with self._mutex:
            waiter.abandoned = True
            turn = waiter.lead
        if turn:
            self._write_batch()

    @staticmethod
    def _commit(batch):
        if len(batch) > 1:
            try:
                insert_rows([waiter.record for waiter in batch])
                return
            except Exception:  # one bad row must not cost the others theirs: insert one by one
                pass
        for waiter in batch:
            try:
                insert_row(waiter.record)
            except Exception as exc:
                waiter.error = exc


_group = GroupCommit()


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
    rather than losing the row. A database that stays down gets the row spooled to disk (spool)
    instead: the call has its answer, and the row is stored once the database is back."""
    global open_calls
    open_calls -= 1  # from here on its row is queued or written, not one the writer waits for
    record.finish()
    for attempt in range(attempts):
        try:
            _group.insert(record)
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
    events.call_finished.send(record)
    return record
