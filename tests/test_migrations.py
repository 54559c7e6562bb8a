"""Tables are created on first start with a recorded version; SQLite runs in WAL mode."""
from inference_gateway import create_app
from inference_gateway.store import migrations
from inference_gateway.store.db import database
from inference_gateway.store.tables import Provider, RequestLog, SchemaVersion, UsageRollup


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
    with database.connection_context():
        database.execute_sql("DROP INDEX request_log_in_progress")
        database.execute_sql("ALTER TABLE request_log DROP COLUMN worker")
        database.execute_sql("DROP INDEX request_log_request_id")  # version 3's
        database.execute_sql("ALTER TABLE request_log DROP COLUMN request_id")
        SchemaVersion.update(version=1).execute()
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
    with database.connection_context():  # back to the version 2 schema, with one row of that time
        database.execute_sql("DROP INDEX request_log_request_id")
        database.execute_sql("ALTER TABLE request_log DROP COLUMN request_id")
        SchemaVersion.delete().execute()
        SchemaVersion.create(version=2)
        RequestLog.insert(id="old1", endpoint="chat", status="success", input_tokens=3).execute()
    client = create_app(app_config).test_client()
    with database.connection_context():
        assert migrations.current_version() == migrations.CURRENT_VERSION
    old = client.get("/api/v1/inference/requests/old1").get_json()["data"]
    assert (old["id"], old["requestId"], old["inputTokens"]) == ("old1", None, 3)
    with database.connection_context():
        RequestLog.insert(id="new1", endpoint="chat", status="success", request_id="rid-1").execute()
    assert client.get("/api/v1/inference/requests/rid-1").get_json()["data"]["id"] == "new1"
