"""Tables are created on first start with a recorded version; SQLite runs in WAL mode."""
from datetime import datetime

from peewee import PostgresqlDatabase
from playhouse.migrate import SchemaMigrator, migrate

from inference_gateway import create_app
from inference_gateway.store import migrations
from inference_gateway.store.db import database
from inference_gateway.store import request_log
from inference_gateway.store.tables import (TOKEN_DETAILS, Provider, RequestLog, SchemaVersion, UsageRollup,
                                            rollup_triggers)

# The rollup counters before schema version 4 (which added the token details).
OLD_SUMMED = ("input_tokens", "output_tokens", "duration_ms")


def downgrade(to):
    """Make the app's fresh database look like one an older version's code made: version 4's token
    details, 3's request ids and 2's stream-row column and index taken off as `to` says, triggers
    summing the three counters of before version 4, `to` recorded."""
    postgres = isinstance(database.obj, PostgresqlDatabase)
    with database.connection_context():
        for statement in (["DROP TRIGGER IF EXISTS request_log_rollup ON request_log"] if postgres else
                          [f"DROP TRIGGER IF EXISTS request_log_rollup_{kind}" for kind in ("insert", "delete", "update")]):
            database.execute_sql(statement)
        migrator = SchemaMigrator.from_database(database.obj)
        drops = [migrator.drop_column(table, name) for table in ("request_log", "usage_rollup")
                 for name in TOKEN_DETAILS]
        if to <= 2:
            database.execute_sql("DROP INDEX request_log_request_id")
            drops.append(migrator.drop_column("request_log", "request_id"))
        if to <= 1:
            database.execute_sql("DROP INDEX request_log_in_progress")
            drops.append(migrator.drop_column("request_log", "worker"))
        migrate(*drops)
        for statement in rollup_triggers(postgres, OLD_SUMMED):
            database.execute_sql(statement)
        SchemaVersion.delete().execute()
        SchemaVersion.create(version=to)


def test_first_start_records_schema_version(app):
    with database.connection_context():
        assert migrations.current_version() == migrations.CURRENT_VERSION


def test_restart_keeps_data_and_version(app_config):
    create_app(app_config)
    with database.connection_context():
        Provider.create(id="abcd1234", name="keep", name_key="keep", type="openai", env_var="K")
    create_app(app_config)
    with database.connection_context():
        assert Provider.get_by_id("abcd1234").name == "keep"
        assert SchemaVersion.select().count() == 1


def test_migrations_run_once_in_order(app, monkeypatch):
    applied, now = [], migrations.CURRENT_VERSION
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [
        (now + 1, lambda m: applied.append(now + 1)), (now + 2, lambda m: applied.append(now + 2))])
    monkeypatch.setattr(migrations, "CURRENT_VERSION", now + 2)
    assert migrations.create_or_migrate() == now + 2
    assert migrations.create_or_migrate() == now + 2
    assert applied == [now + 1, now + 2]


def test_a_version_1_database_gets_the_stream_row_column_and_an_updated_row_moves_its_counters(app, app_config):
    downgrade(to=1)
    create_app(app_config)
    with database.connection_context():
        assert migrations.current_version() == migrations.CURRENT_VERSION
        RequestLog.create(id="r1", endpoint="chat_stream", status="in_progress", worker="h:1:2", stream=True)
        RequestLog.update(status="success", output_tokens=5).where(RequestLog.id == "r1").execute()
        counters = [(r.status, r.requests, r.output_tokens) for r in UsageRollup.select() if r.requests]
    assert counters == [("success", 1, 5)]


def test_no_connection_left_open_after_start(app):
    assert database.is_closed()


def test_sqlite_uses_wal(tmp_path):
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/w.db"})
    with database.connection_context():
        assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 10000


def test_default_database_is_created_under_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    create_app()
    assert (tmp_path / "data" / "inference_gateway.store.db").exists()


def test_a_version_2_database_gains_request_ids_and_keeps_its_rows(app_config):
    create_app(app_config)
    downgrade(to=2)  # back to the version 2 schema, with one row of that time (by SQL: the model has
    with database.connection_context():  # columns that version did not)
        database.execute_sql(
            "INSERT INTO request_log (id, created, endpoint, status, input_tokens, output_tokens, duration_ms, stream) "
            f"VALUES ('old1', {database.param}, 'chat', 'success', 3, 0, 0, {database.param})",
            (datetime(2026, 3, 1, 10, 5), False))
    client = create_app(app_config).test_client()
    with database.connection_context():
        assert migrations.current_version() == migrations.CURRENT_VERSION
    old = client.get("/api/v1/inference/requests/old1").get_json()["data"]
    assert (old["id"], old["requestId"], old["inputTokens"]) == ("old1", None, 3)
    with database.connection_context():
        RequestLog.insert(id="new1", endpoint="chat", status="success", request_id="rid-1").execute()
    assert client.get("/api/v1/inference/requests/rid-1").get_json()["data"]["id"] == "new1"


def test_older_databases_gain_the_token_detail_columns_and_keep_their_rows(app):
    """A database made before token details (no detail columns, triggers summing three counters)
    migrates to the current version with its rows and rollup intact, and sums the details of new rows."""
    downgrade(to=1)
    with database.connection_context():
        database.execute_sql(
            "INSERT INTO request_log (id, created, endpoint, status, input_tokens, output_tokens, duration_ms, stream) "
            f"VALUES ('oldrow', {database.param}, 'chat', 'success', 7, 3, 100, {database.param})",
            (datetime(2026, 3, 1, 10, 5), False))
    assert migrations.create_or_migrate() == migrations.CURRENT_VERSION == 9
    record = request_log.CallRecord(endpoint="chat", created=datetime(2026, 3, 1, 10, 30), input_tokens=20,
                                    output_tokens=9, cache_read_tokens=16, cache_write_tokens=2, reasoning_tokens=4)
    with database.connection_context():
        RequestLog.insert(**record.row()).execute()
        assert RequestLog.get_by_id("oldrow").cache_read_tokens == 0
        [hour] = UsageRollup.select()
        assert (hour.requests, hour.input_tokens, hour.output_tokens) == (2, 27, 12)
        assert (hour.cache_read_tokens, hour.cache_write_tokens, hour.reasoning_tokens) == (16, 2, 4)


def test_a_version_6_database_gains_the_provider_health_table(app):
    with database.connection_context():
        database.execute_sql("DROP TABLE provider_health")
        SchemaVersion.delete().execute()
        SchemaVersion.create(version=6)
        RequestLog.insert(id="keep6", endpoint="chat", status="success").execute()
    assert migrations.create_or_migrate() == migrations.CURRENT_VERSION
    with database.connection_context():
        assert database.table_exists("provider_health") and migrations.current_version() == migrations.CURRENT_VERSION
        assert RequestLog.get_by_id("keep6").status == "success"
