"""Querying the request log (filters, summary and breakdowns, newest-first pages with a cursor) and
pruning it. Summaries read the hourly usage_rollup for whole hours and request_log only for the
partial hours at either end of a time range, so they stay fast at millions of rows."""
import base64
import binascii
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from peewee import Case, Tuple, fn

from inference_gateway import errors
from inference_gateway.store import db
from inference_gateway.store import provider_store
from inference_gateway.store.tables import SUMMARY_COLUMNS, TOKEN_DETAILS, Provider, RequestLog, UsageRollup, utcnow
from inference_gateway.store.provider_store import iso
from inference_gateway.store.request_log import CANCELLED, ERROR, IN_PROGRESS, SUCCESS, reads_log

log = logging.getLogger(__name__)

ENDPOINTS = ("chat", "chat_stream", "chat_ws", "embed", "images", "transcribe", "models_sync",
             # The compatible surfaces (compat/): each call is its surface's own endpoint.
             "openai_chat", "openai_chat_stream", "openai_responses", "openai_responses_stream",
             "openai_embeddings", "openai_images", "openai_transcriptions",
             "anthropic_messages", "anthropic_messages_stream", "anthropic_count_tokens")
STATUSES = (SUCCESS, ERROR, CANCELLED)
HOUR = timedelta(hours=1)

# Everything but the bodies: a page never reads them.
LIST_FIELDS = [getattr(RequestLog, name) for name in SUMMARY_COLUMNS]


@dataclass
class Filters:
    """What /usage selects. `since` is inclusive and `until` exclusive, both naive UTC."""

    provider_id: Optional[str] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    model: Optional[str] = None
    endpoint: Optional[str] = None
    status: Optional[str] = None
    key_id: Optional[str] = None


@reads_log
def provider_id_for(ref):
    """The provider id a `provider` filter means: a registered provider's id or name, or the id of
    a deleted one that still has log rows. Anything else is a 404."""
    provider = provider_store.find(ref)
    if provider is not None:
        return provider.id
    if RequestLog.select().where(RequestLog.provider_id == ref).exists():
        return ref
    raise errors.NotFound(f"provider '{ref}' not found: pass a registered provider's id or name "
                          f"(GET /api/v1/inference/providers lists them)")


def floor_hour(dt):
    return dt.replace(minute=0, second=0, microsecond=0)


def ceil_hour(dt):
    floor = floor_hour(dt)
    return floor if floor == dt else floor + HOUR


def split_range(since, until):
    """(rollup range, raw ranges): whole hours come from the rollup, the partial hours at the ends
    from request_log. A range is (start or None, end or None), start inclusive, end exclusive."""
    start = ceil_hour(since) if since else None
    end = floor_hour(until) if until else None
    if start and end and start >= end:
        return None, [(since, until)]
    raw = []
    if since and since != start:
        raw.append((since, start))
    if until and until != end:
        raw.append((end, until))
    return (start, end), raw


def _where(model, time_field, filters, start, end):
    conds = []
    if start is not None:
        conds.append(time_field >= start)
    if end is not None:
        conds.append(time_field < end)
    if filters.provider_id:
        conds.append(model.provider_id == filters.provider_id)
    for name in ("model", "endpoint", "status", "key_id"):
        if getattr(filters, name):
            conds.append(getattr(model, name) == getattr(filters, name))
    return conds


def _rollup_groups(filters, start, end):
    R = UsageRollup
    query = (R.select(R.provider_id, fn.MAX(R.provider_name), R.model, R.key_id, fn.SUM(R.requests),
                      fn.SUM(R.errors), fn.SUM(R.input_tokens), fn.SUM(R.output_tokens), fn.SUM(R.duration_ms),
                      *[fn.SUM(getattr(R, name)) for name in TOKEN_DETAILS], fn.SUM(R.cost_usd), fn.SUM(R.unpriced))
             .group_by(R.provider_id, R.model, R.key_id))
    conds = _where(R, R.bucket, filters, start, end)
    return query.where(*conds).tuples() if conds else query.tuples()


def _raw_groups(filters, start, end):
    L = RequestLog
    errors_ = fn.SUM(Case(None, [(L.status == ERROR, 1)], 0))
    unpriced = fn.SUM(Case(None, [((L.cost_usd.is_null(True)) & (L.provider_id.is_null(False))
                                   & (L.status != IN_PROGRESS), 1)], 0))
    return (L.select(L.provider_id, fn.MAX(L.provider_name), L.model, L.key_id, fn.COUNT(L.id), errors_,
                     fn.SUM(L.input_tokens), fn.SUM(L.output_tokens), fn.SUM(L.duration_ms),
                     *[fn.SUM(getattr(L, name)) for name in TOKEN_DETAILS], fn.SUM(L.cost_usd), unpriced)
            .where(*_where(L, L.created, filters, start, end))
            .group_by(L.provider_id, L.model, L.key_id).tuples())


# requests, errors, input, output, duration, the TOKEN_DETAILS, cost (USD), unpriced requests
COUNTERS = 10
COST = 8


def counters(requests=0, errors_=0, input_tokens=0, output_tokens=0, duration_ms=0, cache_read=0,
             cache_write=0, reasoning=0, cost_usd=0.0, unpriced=0):
    return {
        "totalRequests": requests,
        "totalErrors": errors_,
        "totalInputTokens": input_tokens,
        "totalOutputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
        # Parts of the input and output totals, as providers reported them.
        "totalCacheReadTokens": cache_read,
        "totalCacheWriteTokens": cache_write,
        "totalReasoningTokens": reasoning,
        "avgDurationMs": round(duration_ms / requests) if requests else 0,
        # What the priced calls cost; unpricedRequests says how many calls it leaves out.
        "totalCostUsd": round(cost_usd, 9),
        "unpricedRequests": unpriced,
    }


def _add(totals, key, values):
    current = totals.setdefault(key, [0] * COUNTERS)
    for i, value in enumerate(values):
        current[i] += float(value or 0) if i == COST else int(value or 0)


def _summarize(filters):
    """{summary, byProvider, byModel} over every row the filters match."""
    rollup_range, raw_ranges = split_range(filters.since, filters.until)
    queries = [_raw_groups(filters, start, end) for start, end in raw_ranges]
    if rollup_range is not None:
        queries.append(_rollup_groups(filters, *rollup_range))
    groups, names = {}, {}
    for query in queries:
        for provider_id, provider_name, model, key_id, *values in query:
            # The rollup stores NULL as ''; both mean "none".
            key = (provider_id or None, model or None, key_id or None)
            _add(groups, key, values)
            if provider_name:
                names[key[0]] = provider_name
    groups = {key: values for key, values in groups.items() if values[0] > 0}
    # A registered provider is shown by its current name; a deleted one by the name its rows carry.
    ids = [pid for pid in names if pid]
    if ids:
        names.update({p.id: p.name for p in Provider.select(Provider.id, Provider.name).where(Provider.id.in_(ids))})
    total, by_provider, by_model, by_key = {}, {}, {}, {}
    for (provider_id, model, key_id), values in groups.items():
        _add(total, None, values)
        _add(by_provider, provider_id, values)
        _add(by_model, model, values)
        _add(by_key, key_id, values)
    return {
        "summary": counters(*total.get(None, [0] * COUNTERS)),
        "byProvider": _ranked([{"providerId": pid, "provider": names.get(pid), **counters(*values)}
                               for pid, values in by_provider.items()], "provider"),
        "byModel": _ranked([{"model": model, **counters(*values)} for model, values in by_model.items()],
                           "model"),
        # keyId null: calls made with a static key (or none, in open mode).
        "byKey": _ranked([{"keyId": key_id, **counters(*values)} for key_id, values in by_key.items()],
                         "keyId"),
    }


def _ranked(items, name):
    return sorted(items, key=lambda item: (-item["totalRequests"], item[name] or ""))


def encode_cursor(row):
    raw = f"{row.created.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value):
    """(created, id) from a cursor; ValueError when it is not one encode_cursor made."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        created, row_id = raw.split("|", 1)
        moment = datetime.fromisoformat(created)
        if not row_id or moment.tzinfo is not None:
            raise ValueError("not a cursor")
        return moment, row_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def _page(filters, limit=50, cursor=None):
    """(rows newest first, nextCursor or None): `limit` rows after the cursor's position."""
    L = RequestLog
    conds = _where(L, L.created, filters, filters.since, filters.until)
    if cursor is not None:
        conds.append(Tuple(L.created, L.id) < Tuple(*cursor))
    query = L.select(*LIST_FIELDS).order_by(L.created.desc(), L.id.desc()).limit(limit + 1)
    rows = list(query.where(*conds) if conds else query)
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1])
    return rows, None


# Each reads the log after moving the journal in (request_log.reads_log); query moves it once for both.
summarize, page = reads_log(_summarize), reads_log(_page)


@reads_log
def query(filters, limit=50, cursor=None):
    """The /usage answer: summary and breakdowns over every match, and one page of rows."""
    rows, next_cursor = _page(filters, limit, cursor)
    return {**_summarize(filters), "requests": [to_dict(row) for row in rows], "nextCursor": next_cursor}


def to_dict(row, bodies=False):
    data = {
        "id": row.id,
        "created": iso(row.created),
        "providerId": row.provider_id,
        "provider": row.provider_name,
        "model": row.model,
        "endpoint": row.endpoint,
        "status": row.status,
        "httpStatus": row.http_status,
        "inputTokens": row.input_tokens,
        "outputTokens": row.output_tokens,
        "totalTokens": (row.input_tokens or 0) + (row.output_tokens or 0),
        "cacheReadTokens": row.cache_read_tokens or 0,
        "cacheWriteTokens": row.cache_write_tokens or 0,
        "reasoningTokens": row.reasoning_tokens or 0,
        "durationMs": row.duration_ms,
        "ttftMs": row.ttft_ms,
        "stream": bool(row.stream),
        "errorCode": row.error_code,
        "errorMessage": row.error_message,
        "keyId": row.key_id,
        "costUsd": row.cost_usd,
        "prices": json.loads(row.prices) if row.prices else None,
    }
    if bodies:
        # A routed call's route and attempts (a direct call: null, 1, []); the one-row view only.
        data["route"] = row.route
        data["attempts"] = row.attempts or 1
        data["failedAttempts"] = json.loads(row.failed_attempts) if row.failed_attempts else []
        # The one-row view also names the HTTP call's X-Request-Id (None on rows older than it).
        data["requestId"] = row.request_id
        # Only present when LOG_BODIES stored them.
        if row.request_body is not None:
            data["requestBody"] = row.request_body
        if row.response_body is not None:
            data["responseBody"] = row.response_body
    return data


@reads_log
def get(request_id, key_id=None):
    """The row with this id, or else the newest row of the HTTP call with this X-Request-Id; with
    `key_id`, only if that key made it (another key's row is a 404)."""
    row = RequestLog.get_or_none(RequestLog.id == request_id)
    if row is None:
        row = (RequestLog.select().where(RequestLog.request_id == request_id)
               .order_by(RequestLog.created.desc(), RequestLog.id.desc()).first())
    if row is None or (key_id is not None and row.key_id != key_id):
        raise errors.NotFound(f"request '{request_id}' not found (it may be older than the retention period)")
    return row


@reads_log
def prune(days, now=None, batch=1000, pause=0.0):
    """Delete rows older than `days` days, a batch per transaction so writers are never held up
    for long; the rollup triggers subtract them. Returns how many rows went."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = 0
    while True:
        with db.database.atomic():
            ids = RequestLog.select(RequestLog.id).where(RequestLog.created < cutoff).limit(batch)
            count = RequestLog.delete().where(RequestLog.id.in_(ids)).execute()
        deleted += count
        if count < batch:
            break
        time.sleep(pause)
    # Hours emptied by the prune: nothing new lands that far back.
    UsageRollup.delete().where(UsageRollup.requests == 0, UsageRollup.bucket < floor_hour(cutoff)).execute()
    return deleted


class Pruner:
    """Applies USAGE_RETENTION_DAYS without a cron job: the first request after start, and then at
    most once an interval, starts a background prune. The check on the request path is one clock
    read; each worker process has its own (a prune finding nothing to delete is cheap)."""

    def __init__(self, days, interval=3600.0, clock=time.monotonic):
        self.days, self.interval, self.clock = days, interval, clock
        self.due = None
        self._lock = threading.Lock()

    def maybe_start(self):
        """Start a prune thread if one is due; returns it (or None)."""
        if not self.days:
            return None
        now = self.clock()
        if self.due is not None and now < self.due:
            return None
        with self._lock:
            if self.due is not None and now < self.due:
                return None
            self.due = now + self.interval
        thread = threading.Thread(target=self._run, name="usage-prune", daemon=True)
        thread.start()
        return thread

    def _run(self):
        try:
            with db.connection():
                deleted = prune(self.days, pause=0.01)
            if deleted:
                log.info("pruned %s request-log rows older than %s days", deleted, self.days)
        except Exception:
            log.exception("pruning the request log failed; the next attempt is in an hour")
