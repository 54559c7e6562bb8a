"""Proposed hot-path changes to the gateway, applied at runtime so they can be measured first.

Nothing under inference_gateway/ is edited: `apply()` swaps two functions in the running process,
and bench/wsgi_proposed.py is the gateway with them applied (run.py's `--proposals` measures it as
a fourth target). The profile (bench/results/profile.md) shows why these two: peewee compiles
every query's SQL from its expression tree, about 0.3 ms a query on this machine, and each chat
call ran three (two provider lookups, one insert) against ~10 us to execute each once compiled.

1. provider_store.find: one query, compiled once (id match first, then the name), instead of up
   to two compiled per call. Same rows, same order of preference, still read on every call.
2. The request-log insert: the INSERT compiled once for the fixed column list; values still go
   through each field's db_value, so stored rows are identical.
3. Give the request's database connection back once the provider is resolved, instead of holding
   it (opened by db.py's before_request hook) while the upstream answers. Each worker's pool has
   max(DATABASE_POOL_SIZE, 256) SQLite connections (DATABASE_POOL_SIZE on PostgreSQL), so a burst
   of streams larger than that waits for the pool, not for the provider; the log write opens its
   own connection context anyway.
4. Read a stream to its end once it finished normally. The adapters stop at `[DONE]` /
   `message_stop` and close the response with the chunked terminator unread, so urllib3 drops the
   connection: every stream opened a new one (a TCP and TLS handshake to a real provider). The
   drain is bounded; a cancelled stream is still closed at once.
"""
import itertools

from inference_gateway import provider_store, request_log
from inference_gateway.api import calls
from inference_gateway.providers import anthropic_format, openai_format

# Events read after a normal end before giving up on reusing the connection (OpenCode Zen sends
# one cost chunk after [DONE]).
DRAIN_EVENTS = 16
from inference_gateway.db import database
from inference_gateway.models import Provider, RequestLog

_sql = {}


def _compiled(name, build):
    # Built on first use, after the factory bound the database (placeholders differ per backend).
    if name not in _sql:
        _sql[name] = build(database.param)
    return _sql[name]


def _find_sql(p):
    columns = ", ".join(f'"{f.column_name}"' for f in Provider._meta.sorted_fields)
    return (f'SELECT {columns} FROM "{Provider._meta.table_name}" WHERE "id" = {p} OR "name_key" = {p} '
            f'ORDER BY CASE WHEN "id" = {p} THEN 0 ELSE 1 END LIMIT 1')


def find(id_or_name):
    """provider_store.find in one precompiled query."""
    if not id_or_name:
        return None
    key = str(id_or_name).strip()
    rows = list(Provider.raw(_compiled("find", _find_sql), key, key.lower(), key))
    return rows[0] if rows else None


def _insert_sql(p):
    columns = ", ".join(f'"{RequestLog._meta.fields[n].column_name}"' for n in request_log.ROW_FIELDS)
    return (f'INSERT INTO "{RequestLog._meta.table_name}" ({columns}) '
            f'VALUES ({", ".join([p] * len(request_log.ROW_FIELDS))})')


class _Insert:
    def __init__(self, row):
        self.row = row

    def execute(self):
        fields = RequestLog._meta.fields
        values = [fields[name].db_value(self.row[name]) for name in request_log.ROW_FIELDS]
        database.execute_sql(_compiled("insert", _insert_sql), values)


class _RequestLogTable:
    """Stands in for the RequestLog model inside request_log.write: only `insert(...).execute()`."""

    @staticmethod
    def insert(**row):
        return _Insert(row)


def _resolve_then_release(resolve):
    def resolve_and_release(model, provider_ref):
        try:
            return resolve(model, provider_ref)
        finally:
            if not database.is_closed() and not database.in_transaction():
                database.close()

    return resolve_and_release


def _drain_after(iter_chunks):
    def iter_then_drain(provider, events, **kwargs):
        yield from iter_chunks(provider, events, **kwargs)
        for _ in itertools.islice(events, DRAIN_EVENTS):
            pass

    return iter_then_drain


def apply():
    provider_store.find = find
    request_log.RequestLog = _RequestLogTable
    calls.resolve = _resolve_then_release(calls.resolve)
    for fmt in (openai_format, anthropic_format):
        fmt.iter_chunks = _drain_after(fmt.iter_chunks)
