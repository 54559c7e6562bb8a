"""The request log's journal (store/journal.py): a row is appended before its call answers and moved
into the database in batches; every reader finds it at once, each line is stored exactly once,
a stream's last version wins, and the files of processes that are gone are moved and removed."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
import requests
from peewee import OperationalError

from inference_gateway import create_app
from inference_gateway.store import journal as journal_module
from inference_gateway.store import request_log
from inference_gateway.store.db import connection, database
from inference_gateway.store.journal import Journal
from inference_gateway.store.request_log import IN_PROGRESS, CallRecord
from inference_gateway.store.tables import LOG_COLUMNS, JournalOffset, RequestLog, UsageRollup

from .live import P, register_openai

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAT = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


def sqlite_app(tmp_path, **config):
    # An interval no test waits for: every row a test reads was moved by a reader, not by the timer.
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "DATA_DIR": str(tmp_path),
                       "GATEWAY_API_KEYS": "", "GATEWAY_ADMIN_KEYS": "", "LOG_JOURNAL_INTERVAL": 60, **config})


def table(app, *columns):
    """The request log as the table holds it, without moving the journal first."""
    with app.app_context(), connection():
        names = ", ".join(columns or ("id",))
        return database.execute_sql(f"SELECT {names} FROM request_log ORDER BY created, id").fetchall()


def journal_files(tmp_path):
    folder = tmp_path / "g.db-request-log"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_row_is_journalled_and_found_by_the_next_read(tmp_path):
    app = sqlite_app(tmp_path)
    with app.app_context():
        record = request_log.write(CallRecord(endpoint="chat", model="m1", input_tokens=3, output_tokens=4))
    assert table(app) == []  # not committed: appended
    [name] = journal_files(tmp_path)
    assert name.endswith(".jsonl") and f":{os.getpid()}:" in name
    resp = app.test_client().get(f"{P}/requests/{record.id}")
    assert resp.status_code == 200 and resp.get_json()["data"]["model"] == "m1"
    assert table(app) == [(record.id,)]
    usage = app.test_client().get(f"{P}/usage").get_json()["data"]
    assert usage["summary"]["totalRequests"] == 1 and usage["summary"]["totalInputTokens"] == 3


def test_the_timer_moves_rows_without_a_reader(tmp_path):
    app = sqlite_app(tmp_path, LOG_JOURNAL_INTERVAL=0.02)
    with app.app_context():
        ids = [request_log.write(CallRecord(endpoint="chat", model=f"m{i}")).id for i in range(30)]
    deadline = time.monotonic() + 5
    while len(table(app)) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(r[0] for r in table(app)) == sorted(ids)


OUTSIDER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from tests.helpers import caught_up
    print("ready", flush=True)
    while not os.path.exists({stop!r}):
        caught_up("sqlite:///{db}")
""")


def test_each_line_is_stored_once_whoever_moves_it(tmp_path):
    """The owner's timer, this process's readers and another process's mover, all at once: every
    row once, the rollup equal to the rows, the recorded position at the file's end."""
    app = sqlite_app(tmp_path, LOG_JOURNAL_INTERVAL=0.005)
    stop = tmp_path / "stop"
    other = subprocess.Popen([sys.executable, "-c", OUTSIDER.format(root=ROOT, stop=str(stop), db=f"{tmp_path}/g.db")],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "ready"
        with app.app_context():
            for i in range(300):
                request_log.write(CallRecord(endpoint="chat", model="m", input_tokens=i, output_tokens=1))
                if i % 50 == 0:
                    app.test_client().get(f"{P}/usage")
    finally:
        stop.touch()
        assert other.wait(30) == 0
    with app.app_context(), connection():
        request_log.catch_up()
        assert RequestLog.select().count() == 300
        assert sum(r.input_tokens for r in RequestLog.select()) == sum(range(300))
        assert sum(r.requests for r in UsageRollup.select()) == 300
        assert sum(r.input_tokens for r in UsageRollup.select()) == sum(range(300))
        [(name, ingested)] = [(o.file, o.ingested) for o in JournalOffset.select()]
    assert ingested == os.path.getsize(tmp_path / "g.db-request-log" / name)


def test_a_streams_last_version_wins_moved_together_or_apart(tmp_path):
    app = sqlite_app(tmp_path)
    with app.app_context():
        together = CallRecord(endpoint="chat", model="m", stream=True)
        together.status = IN_PROGRESS
        request_log.store(together)
        together.status, together.output_tokens = "success", 9
        request_log.store(together)
        apart = CallRecord(endpoint="chat", model="m", stream=True)
        apart.status = IN_PROGRESS
        request_log.store(apart)
        request_log.catch_up()
        assert dict(table(app, "id", "status")) == {together.id: "success", apart.id: IN_PROGRESS}
        apart.status, apart.output_tokens = "error", 2
        request_log.store(apart)
        request_log.catch_up()
    assert dict(table(app, "id", "status")) == {together.id: "success", apart.id: "error"}
    with app.app_context(), connection():
        [row] = UsageRollup.select().where(UsageRollup.status == "error")
        assert (row.requests, row.output_tokens) == (1, 2)
        assert not UsageRollup.select().where(UsageRollup.status == IN_PROGRESS, UsageRollup.requests > 0).exists()


def test_a_refused_or_unreadable_line_costs_only_itself(tmp_path, caplog):
    app = sqlite_app(tmp_path)
    with app.app_context():
        good = request_log.write(CallRecord(endpoint="chat", model="before"))
        [name] = journal_files(tmp_path)
        path = tmp_path / "g.db-request-log" / name
        with open(path, "ab") as f:
            f.write(b'["insert", "not a row"]\n{broken\n')
            values = request_log._values(CallRecord(endpoint="chat", model="null status"))
            values[LOG_COLUMNS.index("status")] = None  # NOT NULL: the database refuses it
            f.write(journal_module.encode("insert", values))
        after = request_log.write(CallRecord(endpoint="chat", model="after"))
        request_log.catch_up()
    assert sorted(r[0] for r in table(app)) == sorted([good.id, after.id])
    assert "refused by the database" in caplog.text and "unreadable, skipped" in caplog.text


def test_a_full_file_is_replaced_and_removed_once_moved(tmp_path, monkeypatch):
    """Removed only once its moves are on disk: the WAL is synced before the file goes."""
    monkeypatch.setattr(journal_module, "ROTATE_BYTES", 2000)
    monkeypatch.setattr(journal_module, "MOVE_BYTES", 1500)  # several transactions, as a long file takes
    events = []
    real_sync, real_unlink = os.fdatasync, os.unlink
    monkeypatch.setattr(journal_module.os, "fdatasync",
                        lambda fd: (events.append(("sync", os.readlink(f"/proc/self/fd/{fd}"))), real_sync(fd))[1])
    monkeypatch.setattr(journal_module.os, "unlink", lambda p: (events.append(("unlink", str(p))), real_unlink(p))[1])
    app = sqlite_app(tmp_path)
    with app.app_context():
        for i in range(20):
            request_log.write(CallRecord(endpoint="chat", model=f"m{i}"))
        [first] = journal_files(tmp_path)
        request_log.journal.flush()  # moved to its end and past the size: replaced
        assert journal_files(tmp_path) == []
        assert events == [("sync", f"{tmp_path}/g.db-wal"), ("unlink", f"{tmp_path}/g.db-request-log/{first}")]
        request_log.write(CallRecord(endpoint="chat", model="next"))
        [second] = journal_files(tmp_path)
        assert second != first and second.endswith("#000002.jsonl")
        request_log.catch_up()
    assert len(table(app)) == 21


CRASH = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from inference_gateway import create_app
    from inference_gateway.store import request_log
    from inference_gateway.store.request_log import CallRecord
    app = create_app({{"DATABASE_URL": "sqlite:///{db}", "DATA_DIR": {tmp!r}, "GATEWAY_API_KEYS": "",
                      "LOG_JOURNAL_INTERVAL": 60}})
    with app.app_context():
        for i in range(3):
            request_log.write(CallRecord(endpoint="chat", model="killed", input_tokens=i))
    os.write(request_log.journal._fd, b'["insert", ["cut in the mid')  # killed mid-write
    print("written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_processs_rows_are_moved_and_its_file_removed_at_the_next_start(tmp_path, caplog):
    script = CRASH.format(root=ROOT, db=f"{tmp_path}/g.db", tmp=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and "written" in proc.stdout, proc.stderr
    assert len(journal_files(tmp_path)) == 1
    app = sqlite_app(tmp_path)  # the next start
    assert sorted(r[0] for r in table(app, "input_tokens")) == [0, 1, 2]
    assert journal_files(tmp_path) == []
    assert "killed while writing its last line" in caplog.text


@pytest.mark.parametrize("config", [{"LOG_JOURNAL_INTERVAL": 0}, {"SQLITE_SYNCHRONOUS": "FULL"}])
def test_without_the_journal_a_row_is_committed_before_its_call_answers(tmp_path, config):
    app = sqlite_app(tmp_path, **config)
    with app.app_context():
        record = request_log.write(CallRecord(endpoint="chat", model="m"))
    assert table(app) == [(record.id,)] and journal_files(tmp_path) == []


def test_postgresql_has_no_journal(postgres_url, tmp_path):
    from .conftest import _reset_postgres
    _reset_postgres(postgres_url)
    app = create_app({"DATABASE_URL": postgres_url, "DATA_DIR": str(tmp_path), "GATEWAY_API_KEYS": "",
                      "GATEWAY_ADMIN_KEYS": ""})
    assert not request_log.journal.enabled
    with app.app_context():
        record = request_log.write(CallRecord(endpoint="chat", model="m"))
    assert table(app) == [(record.id,)]
    database.obj.close_all()


def test_two_journals_on_one_worker_each_stay_with_their_database(tmp_path):
    """A journal lives beside its database file: a process moving another database's journal
    (a second gateway on the same DATA_DIR) never mixes them."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mover = Journal(request_log.STATEMENTS, LOG_COLUMNS)
    mover.configure(str(tmp_path / "a" / "g.db"), 1.0)
    assert mover.directory == str(tmp_path / "a" / "g.db-request-log")
    mover.configure(":memory:", 1.0)
    assert not mover.enabled


def test_through_gunicorn_a_call_is_found_on_the_other_worker_at_once(start_gunicorn, up):
    """Two workers: the row one journals is read by the next request, whichever worker serves it."""
    gateway = start_gunicorn(WEB_CONCURRENCY="2", LOG_JOURNAL_INTERVAL="30")
    register_openai(gateway.url, up)
    session = requests.Session()
    for _ in range(20):
        resp = session.post(gateway.url + P + "/chat", json=CHAT, timeout=30)
        assert resp.status_code == 200, resp.text
        call_id = resp.json()["data"]["requestId"]
        found = session.get(gateway.url + P + "/requests/" + call_id, timeout=30)
        assert found.status_code == 200, found.text
        assert found.json()["data"]["status"] == "success"
    usage = session.get(gateway.url + P + "/usage", timeout=30).json()["data"]
    assert usage["summary"]["totalRequests"] == 20


def test_a_worker_stopping_moves_its_last_rows(start_gunicorn, up, tmp_path):
    """gunicorn's graceful stop: the worker moves what it journalled before it exits, so the table
    holds every row without waiting for a reader or the next start."""
    gateway = start_gunicorn(LOG_JOURNAL_INTERVAL="600")
    register_openai(gateway.url, up)
    ids = []
    for _ in range(3):
        resp = requests.post(gateway.url + P + "/chat", json=CHAT, timeout=30)
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["data"]["requestId"])
    gateway.stop()
    assert gateway.proc.returncode == 0, gateway.output()
    with sqlite3.connect(tmp_path / "gateway.db") as conn:
        stored = [r[0] for r in conn.execute("SELECT request_id FROM request_log")]
    assert sorted(stored) == sorted(ids)


def test_rows_wait_in_the_journal_while_the_database_refuses_them(tmp_path, monkeypatch, caplog):
    """A move the database refuses (locked past its busy timeout, a full disk) leaves the lines where
    they are; the next move stores them, once, and the call that wrote them had its answer."""
    app = sqlite_app(tmp_path)
    with app.app_context():
        record = request_log.write(CallRecord(endpoint="chat", model="m", input_tokens=5))
    real = request_log.journal._move_once

    def locked(*args):
        raise OperationalError("database is locked")

    monkeypatch.setattr(request_log.journal, "_move_once", locked)
    with app.app_context():
        request_log.catch_up()
    assert table(app) == [] and "not moved yet" in caplog.text and len(journal_files(tmp_path)) == 1
    monkeypatch.setattr(request_log.journal, "_move_once", real)
    resp = app.test_client().get(f"{P}/requests/{record.id}")
    assert resp.status_code == 200 and resp.get_json()["data"]["inputTokens"] == 5
    with app.app_context():
        request_log.catch_up()
    assert table(app) == [(record.id,)]
