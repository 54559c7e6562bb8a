"""Shared fixtures: the app on a fresh database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set)."""
import os
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

from inference_gateway import create_app
from inference_gateway.store import provider_store
from inference_gateway.store.db import database, make_database

from .fake_upstream import FakeUpstream
from .live import Gunicorn
from .mock_provider import MockProvider, Script

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
NO_POSTGRES = "TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
# A port nothing listens on; the password must never reach a response.
DEAD_DATABASE = "postgresql://postgres:hunter2@127.0.0.1:1/gone"


def _admin_connect(url):
    import psycopg2

    parsed = urlparse(url)
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432,
                            user=parsed.username or "postgres", password=parsed.password,
                            dbname=parsed.path.lstrip("/") or "postgres")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    name = f"igw_test_{uuid.uuid4().hex[:10]}"
    conn = _admin_connect(POSTGRES_URL)
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(POSTGRES_URL)
    yield urlunparse(parsed._replace(path="/" + name))
    if database.obj is not None:
        if not database.is_closed():
            database.close()
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _reset_postgres(url):
    conn = _admin_connect(url)
    cur = conn.cursor()
    cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Every app-level test runs on SQLite, and on PostgreSQL when it is available."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gateway.db"
    url = request.getfixturevalue("postgres_url")
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()
    _reset_postgres(url)
    return url


@pytest.fixture
def app_config(db_url, tmp_path):
    """Overrides for create_app; tests may add to this before asking for `app`."""
    # The tests' key variables are named *_TEST_KEY, *_HOT_KEY, K...: PROVIDER_KEY_VARS lets them
    # through; tests/test_key_vars.py tests the default.
    return {"DATABASE_URL": db_url, "DATA_DIR": str(tmp_path), "TESTING": True, "GATEWAY_API_KEYS": "",
            "GATEWAY_ADMIN_KEYS": "", "PROVIDER_KEY_VARS": "*_KEY,K",
            "UPSTREAM_RETRY_BACKOFF": 0.01, "UPSTREAM_MAX_RETRIES": 2}


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    yield app
    if not database.is_closed():
        database.close()
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    """A small client for /api/v1/inference that returns (status, json)."""

    class Api:
        prefix = "/api/v1/inference"

        def __getattr__(self, method):
            def call(path, **kwargs):
                resp = getattr(client, method)(self.prefix + path, **kwargs)
                return resp.status_code, resp.get_json()
            return call

    return Api()


@pytest.fixture
def live_server(app):
    """The app on a real socket (werkzeug, threaded), for WebSocket and disconnect tests."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def upstream():
    """The fake provider server (every provider kind on one local port), for the whole run."""
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def up(upstream):
    """The fake upstream with scripts, recorded requests and settings reset around each test."""
    upstream.reset()
    yield upstream
    upstream.reset()


@pytest.fixture
def script(app, monkeypatch):
    """Replace every provider adapter with a scripted one (tests/mock_provider.py)."""
    script = Script()
    monkeypatch.setattr(provider_store, "adapter_for",
                        lambda provider, settings: MockProvider(
                            provider_store.config_of(provider), settings, script))
    return script


@pytest.fixture
def openai(api):
    """A registered OpenAI provider (serve it with `script`)."""
    status, body = api.post("/providers", json={"name": "openai", "type": "openai",
                                                "envVar": "OPENAI_API_KEY", "defaultModel": "gpt-4o"})
    assert status == 201
    return body["data"]


@pytest.fixture
def database_down(app):
    """The app's database replaced by one that refuses connections, for the test's duration."""
    original = database.obj
    database.initialize(make_database(DEAD_DATABASE))
    yield
    database.initialize(original)


@pytest.fixture
def start_gunicorn(tmp_path):
    """Start gunicorn instances (on a fresh SQLite file unless given a database); all are
    stopped at the end."""
    started = []

    def start(database_url=f"sqlite:///{tmp_path}/gateway.db", **env):
        server = Gunicorn(tmp_path, database_url, **env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


# Provider type -> the name the `registered` fixture gives it (a model "<name>/<id>" reaches it).
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "google": "google", "opencode": "opencode",
                  "openai-compatible": "local"}


@pytest.fixture
def registered(api, up, monkeypatch):
    """One provider of every type, each pointed at the fake upstream; the key of `name` is
    `key-for-<name>` in the variable `<NAME>_TEST_KEY`. Returns {type: name}."""
    for kind, name in PROVIDER_NAMES.items():
        fake = "compat" if kind == "openai-compatible" else kind
        payload = {"name": name, "type": kind, "baseUrl": up.base_url(fake)}
        if kind != "openai-compatible":
            payload["envVar"] = env = f"{name.upper()}_TEST_KEY"
            monkeypatch.setenv(env, f"key-for-{name}")
        status, body = api.post("/providers", json=payload)
        assert status == 201, body
    return PROVIDER_NAMES
