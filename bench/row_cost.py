"""What one request-log row costs SQLite, alone in its transaction (a chat call at concurrency 1).

    python bench/row_cost.py [--rows 3000]

Creates the gateway's schema in a temporary directory, then inserts rows one commit each with the
gateway's own INSERT on a plain sqlite3 connection, for each `synchronous` setting, as is and with
the rollup trigger or the three listing indexes dropped. Prints CPU (user and system) and wall time
per row, the best of three passes, so the parts of a row's cost can be read off.
"""
import argparse
import logging
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time

import procs

sys.path.insert(0, procs.ROOT)
from inference_gateway import create_app
from inference_gateway.store import db
from inference_gateway.store import request_log  # noqa: E402

LISTING_INDEXES = ("request_log_created_id", "request_log_provider_id_created_id", "request_log_model_created_id")
VARIANTS = {
    "as shipped": [],
    "no rollup trigger": ["DROP TRIGGER request_log_rollup_insert"],
    "no listing indexes": [f"DROP INDEX {name}" for name in LISTING_INDEXES],
}


def one_pass(path, synchronous, rows):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    sql = request_log._insert_sql("?")
    record = request_log.CallRecord("chat", provider_id="abcd1234", provider_name="bench-openai", model="l0",
                                    input_tokens=12, output_tokens=60, duration_ms=3, request_id="0" * 32)
    values = request_log._values(record)
    at = request_log.LOG_COLUMNS.index("id")
    cpu0, wall0 = os.times(), time.perf_counter()
    for _ in range(rows):
        values[at] = secrets.token_hex(8)
        conn.execute(sql, values)  # autocommit: one transaction per row
    cpu1, wall = os.times(), time.perf_counter() - wall0
    conn.close()
    return ((cpu1.user - cpu0.user) / rows * 1e6, (cpu1.system - cpu0.system) / rows * 1e6, wall / rows * 1e6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="igw-rowcost-") as tmp:
        create_app({"DATABASE_URL": f"sqlite:///{tmp}/schema.db", "DATA_DIR": tmp})
        db.release_all()
        print("| schema | synchronous | user us/row | system us/row | CPU us/row | wall us/row |\n|---|---|---|---|---|---|")
        for name, ddl in VARIANTS.items():
            path = os.path.join(tmp, name.replace(" ", "-") + ".db")
            shutil.copy(os.path.join(tmp, "schema.db"), path)
            with sqlite3.connect(path) as conn:
                for statement in ddl:
                    conn.execute(statement)
            for synchronous in ("FULL", "NORMAL"):
                best = min((one_pass(path, synchronous, args.rows) for _ in range(3)), key=lambda r: r[0] + r[1])
                user, system, wall = best
                print(f"| {name} | {synchronous} | {user:.0f} | {system:.0f} | {user + system:.0f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
