"""Every failure under /api answers with the error envelope, never a traceback."""
import logging

import pytest

P = "/api/v1/inference"


def test_unknown_route_is_404_envelope(client):
    resp = client.get(P + "/nothing-here")
    assert resp.status_code == 404
    assert resp.get_json() == {"success": False,
                               "error": {"code": "NOT_FOUND", "message": "no such resource"}}


def test_wrong_method_is_405_envelope(client):
    resp = client.patch(P + "/providers")
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in resp.headers["Allow"]


@pytest.mark.parametrize("kwargs,needle", [
    ({"data": "{not json", "content_type": "application/json"}, "not valid JSON"),
    ({"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, "Content-Type"),
    ({"data": "[1, 2]", "content_type": "application/json"}, "JSON object"),
])
def test_bad_bodies_are_400(client, kwargs, needle):
    resp = client.post(P + "/providers", **kwargs)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"]["code"] == "BAD_REQUEST"
    assert needle in body["error"]["message"]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAX_REQUEST_BYTES": 1024}


def test_oversized_body_is_413_envelope(client):
    resp = client.post(P + "/providers", data="x" * 5000, content_type="application/json")
    assert resp.status_code == 413
    body = resp.get_json()
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert "1024" in body["error"]["message"]


def test_unexpected_exception_hides_detail_but_logs_it(app, client, caplog, monkeypatch):
    from inference_gateway.store import provider_store

    def boom():
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(provider_store, "list_all", boom)
    logging.getLogger("inference_gateway").propagate = True
    with caplog.at_level(logging.ERROR):
        resp = client.get(P + "/providers")
    assert resp.status_code == 500
    body = resp.get_json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret internal detail" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    assert "secret internal detail" in caplog.text


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/v1/inference/providers", None),
    ("post", "/api/v1/inference/chat", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
    ("get", "/api/v1/inference/usage", None),
])
def test_database_outage_is_503_that_says_what_to_check(client, database_down, method, path, body):
    resp = getattr(client, method)(path, json=body)
    assert resp.status_code == 503
    error = resp.get_json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert "DATABASE_URL" in error["message"]
    text = resp.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text
