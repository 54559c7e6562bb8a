"""One gunicorn gateway per test module for the compatible surfaces: every provider type registered
against the fake upstream, a gateway key required, upstream retries off (errors surface at once)."""
import anthropic
import openai
import requests

from .conftest import PROVIDER_NAMES
from .live import P, Gunicorn

GATEWAY_KEY = "gw-test-key"
ADMIN_KEY = "gw-admin-key"  # registers the providers; the tests call with the caller key
# Provider type -> a model that reaches it (through `name/model`, as a user would write it).
MODELS = {"openai": "openai/gpt-4o", "anthropic": "anthropic/claude-sonnet-4-20250514",
          "google": "google/gemini-2.5-flash", "opencode": "opencode/kimi-k2",
          "openai-compatible": "local/llama3"}
FAKE_KIND = {"openai-compatible": "compat"}
KINDS = sorted(MODELS)
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]
ANSWER = "The capital of France is Paris."  # the fake upstream's default reply


class Gateway:
    def __init__(self, server):
        self.server = server
        self.url = server.url
        self.headers = {"Authorization": f"Bearer {GATEWAY_KEY}"}

    def native(self, method, path, key=GATEWAY_KEY, **kwargs):
        resp = requests.request(method, self.url + P + path, headers={"Authorization": f"Bearer {key}"},
                                timeout=30, **kwargs)
        assert resp.status_code < 300, resp.text
        return resp.json()["data"]

    def rows(self, endpoint):
        """The newest request-log rows of one endpoint, as /usage lists them."""
        return self.native("GET", "/usage", params={"endpoint": endpoint})["requests"]


def run_gateway(tmp_path_factory, upstream):
    """The module fixture's body: `gateway = pytest.fixture(scope="module")(run_gateway)`."""
    yield from serve(tmp_path_factory.mktemp("compat"), upstream)


def serve(tmp, upstream, **settings):
    """A gateway with every provider registered; `settings` are more of its environment."""
    env = {f"{name.upper()}_TEST_KEY": f"key-for-{name}" for name in PROVIDER_NAMES.values()}
    server = Gunicorn(tmp, f"sqlite:///{tmp}/gateway.db", GATEWAY_API_KEYS=GATEWAY_KEY,
                      GATEWAY_ADMIN_KEYS=ADMIN_KEY, UPSTREAM_MAX_RETRIES="0", **env, **settings).start()
    gw = Gateway(server)
    try:
        for kind, name in PROVIDER_NAMES.items():
            payload = {"name": name, "type": kind, "baseUrl": upstream.base_url(FAKE_KIND.get(kind, kind))}
            if kind != "openai-compatible":
                payload["envVar"] = f"{name.upper()}_TEST_KEY"
            gw.native("POST", "/providers", key=ADMIN_KEY, json=payload)
        yield gw
    finally:
        server.stop()


def openai_client(gateway, up):
    """The official openai SDK on /v1 with the caller key (a fixture's body: `pytest.fixture(openai_client)`)."""
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=GATEWAY_KEY, max_retries=0, timeout=20) as client:
        yield client


def anthropic_client(gateway, up):
    """The official anthropic SDK with the caller key (a fixture's body)."""
    with anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0, timeout=20) as client:
        yield client
