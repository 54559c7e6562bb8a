"""The overview over 1,000,000 rows is served from the rollup: its database work is a fraction of
one pass over the request log, whatever the log's size (wall time is bench/usage_bench.py's to
measure: `python bench/usage_bench.py --no-postgres` times the page over a million rows).

A page served from the rows instead would do at least the work of the summary's query on them,
which is what the page's work is compared with. The rows go in as one SQL statement with the rollup triggers off, and the rollup is then rebuilt
from them with the schema migration's own statement (about 10 s here, against 70 s for
`flask usage generate`, which inserts row by row with the triggers on)."""
import re
import time
from datetime import timedelta

import pytest

from inference_gateway import cli, create_app
from inference_gateway.store import db, usage
from inference_gateway.store.tables import rebuild_rollup_sql, rollup_triggers, utcnow

ROWS = 1_000_000
DAYS = 29
STEP = 1000  # SQLite VM instructions between two progress callbacks


def bulk_insert(provider_ids, rows, days):
    """`rows` request-log rows spread evenly over the last `days` days, newest a minute ago."""
    start = int(utcnow().timestamp()) - days * 86400 - 60
    span = days * 86400
    providers = " ".join(f"WHEN {i} THEN '{pid}'" for i, pid in enumerate(provider_ids))
    names = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(provider_ids.values()))
    sql = f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows - 1})
        INSERT INTO request_log (id, created, provider_id, provider_name, model, endpoint, status, http_status,
                                 input_tokens, output_tokens, duration_ms, ttft_ms, stream, error_code, key_id,
                                 cost_usd)
        SELECT printf('r%08d', i), strftime('%Y-%m-%d %H:%M:%S', {start} + i * {span} / {rows}, 'unixepoch'),
               CASE i % 4 {providers} END, CASE i % 4 {names} END, 'model-' || (i % 8),
               CASE i % 2 WHEN 0 THEN 'chat_stream' ELSE 'chat' END,
               CASE WHEN i % 25 = 0 THEN 'error' ELSE 'success' END,
               CASE WHEN i % 25 = 0 THEN 502 ELSE 200 END, 100 + i % 50, 40 + i % 30, 200 + i % 900,
               CASE i % 2 WHEN 0 THEN 50 + i % 300 END, i % 2 = 0,
               CASE WHEN i % 25 = 0 THEN 'UPSTREAM_ERROR' END, CASE WHEN i % 3 = 0 THEN 'key1' END,
               (i % 10) * 0.0001
        FROM n"""
    database = db.database
    for name in ("request_log_rollup_insert", "request_log_rollup_delete", "request_log_rollup_update"):
        database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
    with database.atomic():
        database.execute_sql(sql)
        database.execute_sql(rebuild_rollup_sql(False))
    for statement in rollup_triggers(False):
        database.execute_sql(statement)


class WorkCounter:
    """SQLite VM instructions (in thousands) run on the app's connection while counting."""

    def __init__(self):
        self.ticks = 0

    def tick(self):
        self.ticks += 1
        return 0

    def attach(self, connection):
        connection.set_progress_handler(self.tick, STEP)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/big.db", "DATA_DIR": str(tmp), "GATEWAY_API_KEYS": "",
                      "GATEWAY_ADMIN_KEYS": "", "LOG_LEVEL": "WARNING", "SQLITE_SYNCHRONOUS": "OFF"})
    started = time.perf_counter()
    with app.app_context(), db.connection():
        ids = {cli.ensure_provider(name).id: name for name in ("openai", "anthropic", "google", "opencode")}
        bulk_insert(ids, ROWS, DAYS)
    print(f"\n{ROWS:,} rows inserted and rolled up in {time.perf_counter() - started:.1f} s")
    counter = WorkCounter()

    @app.before_request
    def count_work():
        counter.attach(db.database.connection())

    yield app, counter
    db.database.close()


@pytest.mark.slow
def test_the_overview_over_a_million_rows_reads_the_rollup(big):
    app, counter = big
    client = app.test_client()
    with app.app_context(), db.connection():
        conn = db.database.connection()
        counter.attach(conn)
        counter.ticks = 0
        # What /usage's summary runs on rows (for the partial hours): here over the whole month.
        month = usage.Filters(since=utcnow() - timedelta(days=30), until=utcnow())
        assert sum(group[4] for group in usage._raw_groups(month, month.since, month.until)) == ROWS
        from_rows = counter.ticks
        conn.set_progress_handler(None, STEP)
    db.database.close()
    counter.ticks = 0
    started = time.perf_counter()
    resp = client.get("/dashboard/?range=month")
    elapsed = time.perf_counter() - started
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[:2000]
    assert re.search(r'id="total-requests" data-value="(\d+)"', html).group(1) == str(ROWS)
    assert re.search(r'id="total-errors" data-value="(\d+)"', html).group(1) == str(ROWS // 25)
    print(f"overview over {ROWS:,} rows: {elapsed * 1000:.0f} ms, {counter.ticks} k VM steps "
          f"(the summary's query on the rows instead: {from_rows} k)")
    # The whole page (totals, breakdowns and series from the rollup, latency from the newest
    # DASHBOARD_SAMPLE_ROWS rows) does a small part of the work of summing the rows once.
    assert counter.ticks < from_rows / 10, (counter.ticks, from_rows)
    assert "newest 20,000 of 1M calls" in html

