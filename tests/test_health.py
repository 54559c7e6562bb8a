"""Liveness and readiness probes, outside /api and without a key."""
import sqlite3
import time

import psycopg2
import pytest
import requests

from inference_gateway.store import db
from inference_gateway.store.db import make_database



@pytest.fixture
def app_config(app_config):
    return {**app_config, "GATEWAY_API_KEYS": "k1"}


def test_healthz_is_ok_without_a_key(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"success": True, "data": {"status": "ok"}}


def test_readyz_checks_the_database(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["data"] == {"status": "ready", "database": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(client, database_down):
    resp = client.get("/readyz")
    assert resp.status_code == 503
    error = resp.get_json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert "DATABASE_URL" in error["message"] and "hunter2" not in resp.get_data(as_text=True)


def test_liveness_and_metrics_do_not_depend_on_the_database(client, database_down):
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer k1"}).status_code == 200
    # The API itself needs the database, and still says so in the envelope.
    resp = client.get("/api/v1/inference/providers", headers={"Authorization": "Bearer k1"})
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_readyz_recovers_when_the_database_returns(client, database_down):
    assert client.get("/readyz").status_code == 503
    back = make_database(client.application.config["DATABASE_URL"])
    db.database.initialize(back)
    assert client.get("/readyz").status_code == 200
    back.close_all()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_only_get(client, path):
    resp = client.post(path)
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in resp.headers["Allow"]


def test_readyz_is_503_while_the_database_does_not_take_writes(start_gunicorn, db_url):
    """A writer lock held elsewhere (SQLite) or a table lock (PostgreSQL): every call's row would
    wait, so the instance is not ready, within READY_WRITE_TIMEOUT, and ready again once it is free."""
    gateway = start_gunicorn(db_url, READY_WRITE_TIMEOUT="0.3", LOG_LEVEL="warning")
    assert requests.get(gateway.url + "/readyz", timeout=5).status_code == 200
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url[len("sqlite:///"):], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg2.connect(db_url)
        holder.cursor().execute("LOCK TABLE request_log IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        resp = requests.get(gateway.url + "/readyz", timeout=10)
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert time.monotonic() - started < 3
        assert requests.get(gateway.url + "/healthz", timeout=5).status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert requests.get(gateway.url + "/readyz", timeout=5).status_code == 200
