"""Cost: every row priced from PRICES_FILE or genai-prices, the prices it used kept, null when unknown."""
import json

import pytest

from inference_gateway import create_app
from inference_gateway.gateway.pricing import PricesFileError

from .helpers import log_rows, sse_events
from .mock_provider import chunks, completion

PRICES = {"gpt-4o": {"input": 2.5, "output": 10, "cacheRead": 1.25, "cacheWrite": 3.75, "reasoning": 10},
          "house-model": {"input": 1, "output": 2}}
HELLO = {"messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def prices_file(tmp_path, app_config):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(PRICES))
    app_config["PRICES_FILE"] = str(path)
    return path


def test_a_file_price_gives_the_row_its_cost_and_keeps_the_prices(prices_file, app, api, script, openai):
    script.enqueue(completion(usage=(1000, 200)), completion(model="house-model", usage=(1_000_000, 500_000)))
    assert api.post("/chat", json={"model": "gpt-4o", **HELLO})[0] == 200
    assert api.post("/chat", json={"model": "openai/house-model", **HELLO})[0] == 200
    first, second = log_rows(app)
    assert first.cost_usd == pytest.approx(1000 * 2.5 / 1e6 + 200 * 10 / 1e6)
    assert json.loads(first.prices) == {**PRICES["gpt-4o"], "model": "gpt-4o", "source": "file"}
    # A tier the file leaves out costs what input/output cost.
    assert second.cost_usd == pytest.approx(1.0 + 1.0)
    assert json.loads(second.prices)["cacheRead"] == 1 and json.loads(second.prices)["reasoning"] == 2
    status, body = api.get(f"/requests/{first.id}")
    assert body["data"]["costUsd"] == pytest.approx(0.0045) and body["data"]["prices"]["input"] == 2.5
    summary = api.get("/usage")[1]["data"]["summary"]
    assert summary["totalCostUsd"] == pytest.approx(2.0045) and summary["unpricedRequests"] == 0


def test_streams_are_priced_too(prices_file, app, api, script, openai, client):
    script.enqueue(chunks("Hi", " there", usage=(100, 10)))
    resp = client.post("/api/v1/inference/chat/stream", json={"model": "gpt-4o", **HELLO})
    assert sse_events(resp)[-1]["type"] == "message_stop"
    [row] = log_rows(app)
    assert row.cost_usd == pytest.approx(100 * 2.5 / 1e6 + 10 * 10 / 1e6)


def test_a_later_price_change_does_not_rewrite_history(prices_file, app_config, app, api, script, openai):
    script.enqueue(completion(usage=(1000, 0)))
    api.post("/chat", json={"model": "gpt-4o", **HELLO})
    prices_file.write_text(json.dumps({"gpt-4o": {"input": 100, "output": 100}}))
    create_app(app_config)
    [row] = log_rows(app)
    assert row.cost_usd == pytest.approx(0.0025) and json.loads(row.prices)["input"] == 2.5


def test_a_model_without_any_price_costs_null_and_is_counted(prices_file, app, api, script, openai):
    script.enqueue(completion(model="no-such-model-x", usage=(50, 5)))
    assert api.post("/chat", json={"model": "openai/no-such-model-x", **HELLO})[0] == 200
    [row] = log_rows(app)
    assert row.cost_usd is None and row.prices is None
    data = api.get("/usage")[1]["data"]
    assert data["summary"]["unpricedRequests"] == 1 and data["summary"]["totalCostUsd"] == 0
    assert data["requests"][0]["costUsd"] is None
    assert data["byModel"][0]["unpricedRequests"] == 1
    price = api.get("/prices?model=openai/no-such-model-x")[1]["data"]
    assert price["price"] is None and price["source"] is None and "PRICES_FILE" in price["message"]


def test_prices_endpoint_names_the_file_or_the_package(prices_file, api, openai):
    status, body = api.get("/prices?model=gpt-4o")
    assert status == 200, body
    assert body["data"]["source"] == "file" and body["data"]["file"] == str(prices_file)
    assert body["data"]["price"]["cacheWrite"] == 3.75
    # Not in the file: genai-prices' data (gpt-4o-mini at $0.15 / $0.60 per million tokens).
    body = api.get("/prices?model=gpt-4o-mini")[1]
    assert body["data"]["source"] == "genai-prices" and body["data"]["version"]
    assert body["data"]["price"]["input"] == 0.15 and body["data"]["price"]["output"] == 0.6
    assert api.get("/prices")[0] == 400
    assert api.get("/prices?model=x&bogus=1")[0] == 400


def test_package_prices_without_a_file(app, api, script, openai):
    script.enqueue(completion(model="gpt-4o-mini", usage=(1_000_000, 1_000_000)))
    api.post("/chat", json={"model": "gpt-4o-mini", **HELLO})
    [row] = log_rows(app)
    assert row.cost_usd == pytest.approx(0.75)
    assert json.loads(row.prices)["source"] == "genai-prices"


def test_a_failed_call_costs_nothing_and_a_tokenless_success_is_unknown(prices_file, app, api, script, openai):
    from inference_gateway import errors
    script.enqueue(errors.UpstreamError("down"))
    api.post("/chat", json={"model": "gpt-4o", **HELLO})
    script.enqueue(completion(usage=(0, 0)))
    api.post("/chat", json={"model": "gpt-4o", **HELLO})
    failed, tokenless = log_rows(app)
    assert failed.cost_usd == 0
    assert tokenless.cost_usd is None


@pytest.mark.parametrize("content,message", [
    ("[1]", "JSON object"), ('{"m": {"input": 1}}', "'input' and 'output'"),
    ('{"m": {"input": 1, "output": -1}}', "'output' must be a number"),
    ('{"m": {"input": 1, "output": 1, "cached": 1}}', "unknown field 'cached'"), ("{", "PRICES_FILE")])
def test_a_bad_prices_file_stops_the_start_with_a_message(tmp_path, app_config, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PricesFileError, match=message):
        create_app({**app_config, "PRICES_FILE": str(path)})


def test_cached_and_reasoning_tokens_at_their_own_tiers(prices_file, app, api, script, openai):
    # Usage as the providers report it: 600 cached reads and 100 cache writes among the 1,000 input
    # tokens, 50 reasoning tokens among the 200 output tokens.
    script.enqueue(completion(usage=(1000, 200, 600, 100, 50)),
                   completion(model="house-model", usage=(1000, 100, 400, 0, 100)))
    api.post("/chat", json={"model": "gpt-4o", **HELLO})
    api.post("/chat", json={"model": "openai/house-model", **HELLO})
    tiered, house = log_rows(app)
    assert tiered.cost_usd == pytest.approx((300 * 2.5 + 600 * 1.25 + 100 * 3.75 + 150 * 10 + 50 * 10) / 1e6)
    # No cacheRead or reasoning tier in the file: those tokens cost what input and output cost.
    assert house.cost_usd == pytest.approx((1000 * 1 + 100 * 2) / 1e6)
