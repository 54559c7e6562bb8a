"""SQLITE_SYNCHRONOUS: the durability/throughput trade-off of the SQLite log, as configured."""
import pytest

from inference_gateway import create_app
from inference_gateway.store import request_log
from inference_gateway.store.db import connection, database


def synchronous_of(app):
    """The setting on a pooled connection and on the request-log writer's own one."""
    with app.app_context(), connection():
        pooled = database.execute_sql("PRAGMA synchronous").fetchone()[0]
    with app.app_context(), request_log._connection.cursor() as cursor:
        writer = cursor.execute("PRAGMA synchronous").fetchone()[0]
    return pooled, writer


@pytest.mark.parametrize("setting, expected", [(None, 1), ("full", 2), ("NORMAL", 1), ("extra", 3)])
def test_sqlite_synchronous_is_applied_to_every_connection(tmp_path, setting, expected):
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "DATA_DIR": str(tmp_path)}
    if setting is not None:
        config["SQLITE_SYNCHRONOUS"] = setting
    assert synchronous_of(create_app(config)) == (expected, expected)  # 1 NORMAL (the default: tests/test_wal_sync.py), 2 FULL, 3 EXTRA


def test_an_unknown_sqlite_synchronous_stops_the_start_with_the_allowed_values(tmp_path):
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS must be one of OFF, NORMAL, FULL, EXTRA"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "DATA_DIR": str(tmp_path),
                    "SQLITE_SYNCHRONOUS": "fast"})
