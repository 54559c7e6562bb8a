"""`flask usage generate` and `flask usage prune`, through Flask's CLI runner."""
from datetime import timedelta

import pytest
from peewee import fn

from inference_gateway.store.db import connection
from inference_gateway.store.tables import Provider, RequestLog, utcnow
from inference_gateway.store.request_log import CallRecord, catch_up, write


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_generate_inserts_rows_the_usage_api_sums_exactly(runner, api):
    result = runner.invoke(args=["usage", "generate", "--rows", "2500", "--providers", "openai,acme",
                                 "--days", "3", "--batch", "1000", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "inserted 2500 rows" in result.output
    with connection():
        kinds = {p.name: p.type for p in Provider.select()}
        inp, out, count, oldest = RequestLog.select(
            fn.SUM(RequestLog.input_tokens), fn.SUM(RequestLog.output_tokens), fn.COUNT(RequestLog.id),
            fn.MIN(RequestLog.created)).scalar(as_tuple=True)
    assert kinds == {"openai": "openai", "acme": "openai-compatible"}
    assert count == 2500 and oldest >= utcnow() - timedelta(days=3, minutes=1)
    _, body = api.get("/usage?provider=acme")
    acme = body["data"]
    assert acme["summary"]["totalRequests"] > 0
    assert {r["model"] for r in acme["requests"]} == {"llama-3.1-8b-instruct"}
    _, body = api.get("/usage")
    summary = body["data"]["summary"]
    assert (summary["totalRequests"], summary["totalInputTokens"], summary["totalOutputTokens"]) == (count, inp, out)
    assert {p["provider"] for p in body["data"]["byProvider"]} == {"openai", "acme"}
    statuses = {r["status"] for r in api.get("/usage?limit=1000")[1]["data"]["requests"]}
    assert statuses == {"success", "error", "cancelled"}


def test_generate_rejects_an_empty_provider_list(runner):
    result = runner.invoke(args=["usage", "generate", "--providers", " , "])
    assert result.exit_code == 2 and "--providers" in result.output


def add_aged(days_ago):
    with connection():
        write(CallRecord(endpoint="chat", created=utcnow() - timedelta(days=days_ago)))


def test_prune_with_days_deletes_older_rows(runner, app):
    for days in (40, 10, 2):
        add_aged(days)
    result = runner.invoke(args=["usage", "prune", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 request-log rows older than 7 days" in result.output
    with connection():
        assert RequestLog.select().count() == 1


def test_prune_without_days_needs_a_retention_setting(runner):
    add_aged(40)
    result = runner.invoke(args=["usage", "prune"])
    assert result.exit_code == 2 and "--days" in result.output
    with connection():
        catch_up()  # the row as any reader of the log has it: not deleted
        assert RequestLog.select().count() == 1


@pytest.fixture
def retention_config(app_config):
    app_config["USAGE_RETENTION_DAYS"] = 30
    return app_config


def test_prune_defaults_to_the_retention_setting(retention_config, runner):
    for days in (40, 10):
        add_aged(days)
    result = runner.invoke(args=["usage", "prune"])
    assert result.exit_code == 0 and "deleted 1 request-log rows older than 30 days" in result.output
