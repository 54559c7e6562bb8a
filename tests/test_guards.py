"""Host and Origin in open mode (DNS rebinding, cross-site pages), ALLOWED_HOSTS, and the hop count."""
import pytest

from inference_gateway import create_app
from inference_gateway.web.guards import HostPolicy, host_name, origin_name

P = "/api/v1/inference"
HOPS = "X-Inference-Gateway-Hops"


@pytest.mark.parametrize("host", ["localhost", "localhost:3000", "127.0.0.1", "127.0.0.1:80", "[::1]",
                                  "[::1]:8080", "LOCALHOST:1"])
def test_open_mode_serves_loopback_host_names(client, host):
    assert client.get(P + "/providers", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:3000", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "10.0.0.5", "[::2]:80"])
def test_open_mode_refuses_other_host_names(client, host):
    resp = client.get(P + "/providers", headers={"Host": host})
    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert error["code"] == "FORBIDDEN" and "ALLOWED_HOSTS" in error["message"]


@pytest.mark.parametrize("origin", ["http://evil.example", "https://evil.example:443", "null",
                                    "http://localhost.evil.example", "file://", "garbage"])
def test_open_mode_refuses_foreign_origins(client, origin):
    resp = client.post(P + "/providers", headers={"Origin": origin},
                       json={"name": "x", "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1"})
    assert resp.status_code == 403
    assert "Origin" in resp.get_json()["error"]["message"]
    assert client.get(P + "/providers").get_json()["data"] == []


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1", "http://[::1]:3000"])
def test_open_mode_serves_loopback_origins(client, origin):
    assert client.get(P + "/providers", headers={"Origin": origin}).status_code == 200


def test_probes_answer_any_host(client):
    assert client.get("/healthz", headers={"Host": "10.1.2.3:3000"}).status_code == 200


def test_allowed_hosts_replaces_loopback_and_applies_with_keys(app_config):
    client = create_app({**app_config, "GATEWAY_API_KEYS": "k", "ALLOWED_HOSTS": "gw.example.com, .corp.example"}
                        ).test_client()
    key = {"Authorization": "Bearer k"}
    for host, status in [("gw.example.com", 200), ("GW.example.com:443", 200), ("a.corp.example", 200),
                         ("corp.example", 200), ("localhost", 403), ("evil.example", 403),
                         ("xcorp.example", 403)]:
        assert client.get(P + "/providers", headers={**key, "Host": host}).status_code == status, host
    # With keys, a page of another origin is a key holder's business: Origin is not checked.
    assert client.get(P + "/providers", headers={**key, "Host": "gw.example.com",
                                                 "Origin": "http://elsewhere.example"}).status_code == 200


def test_keys_without_allowed_hosts_serve_any_host(app_config):
    client = create_app({**app_config, "GATEWAY_API_KEYS": "k"}).test_client()
    assert client.get(P + "/providers", headers={"Authorization": "Bearer k", "Host": "gw.example.com",
                                                 "Origin": "http://elsewhere.example"}).status_code == 200


def test_host_parsing():
    assert host_name("[::1]:80") == "[::1]" and host_name("::1") == "[::1]"
    assert host_name("Example.COM.:8080") == "example.com"
    assert origin_name("http://[::1]:3000") == "[::1]" and origin_name("null") is None
    assert origin_name("javascript:alert(1)") is None
    policy = HostPolicy(["*"])
    assert policy.allows("anything.example")


@pytest.mark.parametrize("hops,status", [("0", 200), ("2", 200), ("3", 508), ("99", 508), ("x", 400),
                                         ("-1", 400)])
def test_hop_count_is_checked_on_every_request(client, hops, status):
    resp = client.get(P + "/providers", headers={HOPS: hops})
    assert resp.status_code == status
    if status == 508:
        error = resp.get_json()["error"]
        assert error["code"] == "LOOP_DETECTED" and "MAX_HOPS" in error["message"]


def test_max_hops_is_a_setting(app_config):
    client = create_app({**app_config, "MAX_HOPS": 1}).test_client()
    assert client.get(P + "/providers", headers={HOPS: "1"}).status_code == 508
    assert client.get(P + "/providers", headers={HOPS: "0"}).status_code == 200


@pytest.mark.parametrize("inbound,sent", [(None, "1"), ("0", "1"), ("2", "3")])
def test_every_upstream_request_carries_the_next_hop(api, client, registered, up, inbound, sent):
    headers = {HOPS: inbound} if inbound is not None else {}
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    for kind, name in registered.items():
        model = "gemini-2.0-flash" if kind == "google" else "m"
        resp = client.post(P + "/chat", headers=headers, json={**chat, "model": f"{name}/{model}"})
        assert resp.status_code == 200, (kind, resp.get_json())
        assert up.requests[-1].headers[HOPS] == sent, kind
    client.post(P + "/models/sync", headers=headers, json={"provider": "openai"})
    assert up.requests[-1].headers[HOPS] == sent
