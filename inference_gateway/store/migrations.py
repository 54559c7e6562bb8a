"""Create tables on first start and migrate existing databases by recorded schema version."""
import logging
import time

from peewee import DatabaseError, PostgresqlDatabase
from playhouse import migrate as schema_migrate

from inference_gateway.store.db import database
from inference_gateway.store.tables import (HEALTH_TABLES, KEY_TABLES, ROUTE_TABLES, TABLES, TOKEN_DETAILS, JournalOffset, RequestLog, SchemaVersion, UsageRollup,
                                            rebuild_rollup_sql, rollup_triggers)

log = logging.getLogger(__name__)


def _stream_rows(migrator):
    """Streams keep a row from their first event: the serving worker's column, an index of the rows
    in progress, and rollup triggers that follow a row's update."""
    from inference_gateway.store.tables import IN_PROGRESS_INDEX

    schema_migrate.migrate(migrator.add_column("request_log", "worker", RequestLog.worker))
    # The counters of this version: the token details come with version 3.
    summed = ("input_tokens", "output_tokens", "duration_ms")
    for statement in rollup_triggers(isinstance(database.obj, PostgresqlDatabase), summed) + [IN_PROGRESS_INDEX]:
        database.execute_sql(statement)


def _request_ids(migrator):
    """request_log.request_id, the HTTP call's X-Request-Id (older rows keep NULL); the field has
    index=True, so add_column creates its index too."""
    from inference_gateway.store.tables import RequestLog

    schema_migrate.migrate(migrator.add_column("request_log", "request_id", RequestLog.request_id))


def _token_details(migrator):
    """Cached, cache-write and reasoning tokens per row and per rollup hour (0 for the rows before,
    which no provider reported them for); the rollup triggers sum them from now on."""
    for table in (RequestLog, UsageRollup):
        schema_migrate.migrate(*[migrator.add_column(table._meta.table_name, name, table._meta.fields[name])
                                 for name in TOKEN_DETAILS])
    for statement in rollup_triggers(isinstance(database.obj, PostgresqlDatabase)):
        database.execute_sql(statement)


# Version 1 is the initial schema (created from the models). Append (version, function) pairs here;
# each takes a playhouse.migrate SchemaMigrator and must keep existing rows.
def _keys_and_cost(migrator):
    """Rows gain the virtual key, the cost and the prices it used; the rollup gains the key as a
    dimension and the cost. The rollup is derived data: dropped, recreated and refilled from the rows."""
    postgres = isinstance(database.obj, PostgresqlDatabase)
    fields = RequestLog._meta.fields
    present = {column.name for column in database.get_columns("request_log")}
    schema_migrate.migrate(*(migrator.add_column("request_log", name, fields[name])
                             for name in ("key_id", "cost_usd", "prices") if name not in present))
    database.execute_sql("CREATE INDEX IF NOT EXISTS request_log_key_id_created_id ON request_log (key_id, created, id)")
    if postgres:
        database.execute_sql("DROP TRIGGER IF EXISTS request_log_rollup ON request_log")
    else:
        for name in ("request_log_rollup_insert", "request_log_rollup_delete", "request_log_rollup_update"):
            database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
    database.execute_sql("DROP TABLE usage_rollup")
    UsageRollup.create_table()
    database.execute_sql(rebuild_rollup_sql(postgres))
    for statement in rollup_triggers(postgres):
        database.execute_sql(statement)


def _routes(migrator):
    """The route table; request-log rows gain the route, the attempts and the failed ones (NULL on
    the rows before, which were direct calls)."""
    database.create_tables(ROUTE_TABLES, safe=True)
    fields = RequestLog._meta.fields
    present = {column.name for column in database.get_columns("request_log")}
    schema_migrate.migrate(*(migrator.add_column("request_log", name, fields[name])
                             for name in ("route", "attempts", "failed_attempts") if name not in present))


MIGRATIONS = [(2, _stream_rows), (3, _request_ids), (4, _token_details), (5, _keys_and_cost),
              (6, lambda migrator: database.create_tables(KEY_TABLES, safe=True)),
              (7, lambda migrator: database.create_tables(HEALTH_TABLES, safe=True)), (8, _routes),
              (9, lambda migrator: database.create_tables([JournalOffset], safe=True))]

CURRENT_VERSION = 1 + len(MIGRATIONS)


def current_version():
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def create_or_migrate(attempts=3):
    """Bring the database to CURRENT_VERSION. Safe to call from several processes at once."""
    for attempt in range(attempts):
        try:
            return _create_or_migrate()
        except DatabaseError:
            # Two workers creating the same tables at once: the loser retries and finds them.
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _create_or_migrate():
    from playhouse.migrate import SchemaMigrator

    with database.connection_context():
        with database.atomic():
            if not database.table_exists(SchemaVersion._meta.table_name):
                database.create_tables(TABLES, safe=True)
                SchemaVersion.create(version=CURRENT_VERSION)
                log.info("created database tables at schema version %s", CURRENT_VERSION)
                return CURRENT_VERSION
            version = current_version()
            if version < CURRENT_VERSION:
                migrator = SchemaMigrator.from_database(database.obj)
                for target, migrate in MIGRATIONS:
                    if target > version:
                        migrate(migrator)
                        SchemaVersion.create(version=target)
                        log.info("migrated database to schema version %s", target)
            return max(version, CURRENT_VERSION)
