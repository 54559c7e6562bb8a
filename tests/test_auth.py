"""GATEWAY_API_KEYS protects /api routes."""
import pytest

from inference_gateway.web.auth import key_matches

P = "/api/v1/inference/providers"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "GATEWAY_API_KEYS": "key-one, key-two"}


def test_missing_key_is_401_envelope(client):
    resp = client.get(P)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_wrong_key_is_401(client):
    resp = client.get(P, headers={"Authorization": "Bearer key-three"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "invalid API key"


def test_any_configured_key_is_accepted(client):
    for key in ("key-one", "key-two"):
        assert client.get(P, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_unknown_routes_also_need_the_key(client):
    assert client.get("/api/v1/inference/nope").status_code == 401


def test_key_matches_checks_every_key():
    assert key_matches("b", ["a", "b"])
    assert not key_matches("c", ["a", "b"])
    assert not key_matches("", ["a"])
