"""The request log over time, for the dashboard: counters per hour or day bucket (the hourly
rollup for whole hours, request_log for the partial hours at either end, as `usage.summarize`
reads them), and latency and error codes from the newest rows of a range (no rollup holds them)."""
from datetime import datetime, timedelta

from peewee import SQL, Case, PostgresqlDatabase, fn

from inference_gateway.store import db
from inference_gateway.store.request_log import ERROR, SUCCESS, reads_log
from inference_gateway.store.tables import RequestLog, UsageRollup, hour_sql
from inference_gateway.store.usage import HOUR, _where, floor_hour, split_range

DAY = timedelta(days=1)
BUCKETS = {"hour": HOUR, "day": DAY}
# Each bucket's counters, in this order: requests, errors, input and output tokens, cost (USD).
FIELDS = ("requests", "errors", "inputTokens", "outputTokens", "costUsd")


def floor_bucket(moment, bucket):
    moment = floor_hour(moment)
    return moment.replace(hour=0) if bucket == "day" else moment


def bucket_starts(since, until, bucket):
    """Every bucket's start from the one holding `since` to the one holding the last instant
    before `until`: the x axis, gaps included."""
    step, current = BUCKETS[bucket], floor_bucket(since, bucket)
    starts = []
    while current < until:
        starts.append(current)
        current += step
    return starts


def as_datetime(value):
    # SQLite hands back the hour expression as text; a rollup bucket arrives as a datetime.
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)[:19])


def _rollup_hours(filters, start, end):
    R = UsageRollup
    query = (R.select(R.bucket, R.provider_id, fn.SUM(R.requests), fn.SUM(R.errors), fn.SUM(R.input_tokens),
                      fn.SUM(R.output_tokens), fn.SUM(R.cost_usd))
             .group_by(R.bucket, R.provider_id))
    conds = _where(R, R.bucket, filters, start, end)
    return query.where(*conds).tuples() if conds else query.tuples()


def _raw_hours(filters, start, end):
    L = RequestLog
    postgres = isinstance(db.database.obj, PostgresqlDatabase)
    hour = SQL(hour_sql("created", postgres))
    return (L.select(hour, L.provider_id, fn.COUNT(L.id), fn.SUM(Case(None, [(L.status == ERROR, 1)], 0)),
                     fn.SUM(L.input_tokens), fn.SUM(L.output_tokens), fn.SUM(L.cost_usd))
            .where(*_where(L, L.created, filters, start, end))
            .group_by(hour, L.provider_id).tuples())


@reads_log
def series(filters, bucket):
    """{(bucket start, provider id or None): [requests, errors, input, output, cost]} over the
    filters' range (which must have both ends), summed exactly like /usage's totals."""
    rollup_range, raw_ranges = split_range(filters.since, filters.until)
    queries = [_raw_hours(filters, start, end) for start, end in raw_ranges]
    if rollup_range is not None:
        queries.append(_rollup_hours(filters, *rollup_range))
    out = {}
    for query in queries:
        for hour, provider_id, *values in query:
            if not values[0]:
                continue
            key = (floor_bucket(as_datetime(hour), bucket), provider_id or None)
            current = out.setdefault(key, [0, 0, 0, 0, 0.0])
            for i, value in enumerate(values):
                current[i] += float(value or 0) if i == 4 else int(value or 0)
    return out


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[int(rank) - 1]


def _latency(rows):
    durations = sorted(r[0] for r in rows if r[0] is not None)
    ttfts = sorted(r[1] for r in rows if r[1] is not None)
    return {"calls": len(durations), "p50Ms": percentile(durations, 0.5), "p95Ms": percentile(durations, 0.95),
            "ttftP50Ms": percentile(ttfts, 0.5), "ttftP95Ms": percentile(ttfts, 0.95), "streams": len(ttfts)}


@reads_log
def recent_calls(filters, limit):
    """Latency by provider and by model, and errors by code, over the newest `limit` rows of the
    range (newest first on the (created, id) index, so the cost is bounded whatever the range).
    Latency counts successful calls: a refused call's few milliseconds say nothing of a provider."""
    L = RequestLog
    query = (L.select(L.provider_id, L.provider_name, L.model, L.status, L.error_code, L.duration_ms, L.ttft_ms)
             .order_by(L.created.desc(), L.id.desc()).limit(limit))
    conds = _where(L, L.created, filters, filters.since, filters.until)
    # The driver's own rows: these columns need no conversion, and peewee's per-row conversion
    # was most of the page's time at 20,000 rows.
    rows = db.database.execute(query.where(*conds) if conds else query).fetchall()
    by_provider, by_model, codes = {}, {}, {}
    names = {}
    for provider_id, provider_name, model, status, error_code, duration, ttft in rows:
        if status == SUCCESS:
            by_provider.setdefault(provider_id, []).append((duration, ttft))
            by_model.setdefault(model, []).append((duration, ttft))
        elif status == ERROR:
            code = error_code or "UNKNOWN"
            codes[code] = codes.get(code, 0) + 1
        if provider_name:
            names[provider_id] = provider_name
    return {
        "rows": len(rows),
        "byProvider": sorted(({"providerId": pid, "provider": names.get(pid), **_latency(values)}
                              for pid, values in by_provider.items()), key=lambda item: -item["calls"]),
        "byModel": sorted(({"model": model, **_latency(values)} for model, values in by_model.items()),
                          key=lambda item: -item["calls"]),
        "errorCodes": sorted(({"code": code, "count": count} for code, count in codes.items()),
                             key=lambda item: (-item["count"], item["code"])),
    }


@reads_log
def last_use(key_ids):
    """{key id: the newest row's time} for these virtual keys (one index probe each)."""
    out = {}
    for key_id in key_ids:
        row = (RequestLog.select(RequestLog.created).where(RequestLog.key_id == key_id)
               .order_by(RequestLog.created.desc()).limit(1).first())
        out[key_id] = row.created if row is not None else None
    return out
