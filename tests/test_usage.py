"""The usage service: range splitting, cursors, the rollup against the rows, pruning, the pruner."""
from datetime import datetime, timedelta

import pytest

from inference_gateway.store import usage
from inference_gateway.store.db import connection
from inference_gateway.store.tables import RequestLog, UsageRollup
from inference_gateway.store.request_log import CallRecord, catch_up, write

H = datetime(2026, 3, 1, 10)


@pytest.mark.parametrize("since,until,rollup,raw", [
    (None, None, (None, None), []),
    (H, H + timedelta(hours=3), (H, H + timedelta(hours=3)), []),
    (H + timedelta(minutes=5), None, (H + timedelta(hours=1), None),
     [(H + timedelta(minutes=5), H + timedelta(hours=1))]),
    (None, H + timedelta(minutes=5), (None, H), [(H, H + timedelta(minutes=5))]),
    (H + timedelta(minutes=5), H + timedelta(minutes=50), None,
     [(H + timedelta(minutes=5), H + timedelta(minutes=50))]),
    (H + timedelta(minutes=5), H + timedelta(hours=1, minutes=5), None,
     [(H + timedelta(minutes=5), H + timedelta(hours=1, minutes=5))]),
])
def test_split_range_reads_whole_hours_from_the_rollup(since, until, rollup, raw):
    assert usage.split_range(since, until) == (rollup, raw)


def test_cursor_round_trips_and_rejects_anything_else():
    row = RequestLog(id="0123456789abcdef", created=datetime(2026, 3, 1, 12, 0, 0, 123456))
    assert usage.decode_cursor(usage.encode_cursor(row)) == (row.created, row.id)
    aware = usage.encode_cursor(RequestLog(id="ab", created=datetime.fromisoformat("2026-03-01T12:00:00+05:00")))
    for bad in ["", "abc", "!!!", "bm90aGluZw", "fDAxMjM", aware]:
        with pytest.raises(ValueError):
            usage.decode_cursor(bad)


def rollup_totals():
    catch_up()  # the journalled rows stored, as every reader of the log has them
    rows = UsageRollup.select().where(UsageRollup.requests != 0)
    return sorted((r.bucket, r.provider_id, r.model, r.endpoint, r.status, r.requests, r.errors,
                   r.input_tokens, r.output_tokens, r.duration_ms) for r in rows)


def raw_totals():
    catch_up()
    groups = {}
    for r in RequestLog.select():
        key = (r.created.replace(minute=0, second=0, microsecond=0), r.provider_id or "", r.model or "",
               r.endpoint, r.status)
        g = groups.setdefault(key, [0, 0, 0, 0, 0])
        for i, v in enumerate((1, r.status == "error", r.input_tokens, r.output_tokens, r.duration_ms)):
            g[i] += int(v)
    return sorted((*key, *values) for key, values in groups.items())


def test_writes_and_deletes_keep_the_rollup_equal_to_the_rows(app):
    with connection():
        for i in range(30):
            record = CallRecord(endpoint="chat" if i % 3 else "embed", created=H + timedelta(minutes=17 * i),
                                model=None if i == 7 else f"m{i % 4}", status="error" if i % 5 == 0 else "success",
                                input_tokens=i, output_tokens=2 * i)
            if i % 2:
                record.provider_id, record.provider_name = "abcd1234", "openai"
            write(record)
        assert rollup_totals() == raw_totals()
        assert sum(r[5] for r in rollup_totals()) == 30
        RequestLog.delete().where(RequestLog.input_tokens.in_([3, 4, 7])).execute()
        assert rollup_totals() == raw_totals()


def test_prune_deletes_only_older_rows_in_batches(app):
    now = datetime(2026, 3, 20, 12)
    with connection():
        for days in (30, 20, 10, 8, 6, 1):
            write(CallRecord(endpoint="chat", created=now - timedelta(days=days), input_tokens=days))
        assert usage.prune(7, now=now, batch=2) == 4
        assert sorted(r.input_tokens for r in RequestLog.select()) == [1, 6]
        assert rollup_totals() == raw_totals()
        # Emptied hours are dropped from the rollup, not kept as zero rows.
        assert UsageRollup.select().count() == 2
        assert usage.prune(7, now=now) == 0


def test_pruner_runs_at_most_once_an_interval(app):
    ticks = [1000.0]
    pruner = usage.Pruner(7, interval=3600, clock=lambda: ticks[0])
    first = pruner.maybe_start()
    assert first is not None
    first.join(10)
    ticks[0] += 3599
    assert pruner.maybe_start() is None
    ticks[0] += 1
    second = pruner.maybe_start()
    assert second is not None
    second.join(10)
    assert usage.Pruner(0).maybe_start() is None
