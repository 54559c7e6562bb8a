"""gateway/fast_prices.py: the compact price table finds what genai-prices itself finds, for every model."""
import json
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone

import pytest
from genai_prices import data_snapshot, types

from inference_gateway.gateway import fast_prices, pricing

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def snapshot():
    return data_snapshot.get_snapshot()


@pytest.fixture(scope="module")
def compact(snapshot):
    # Through JSON, as the subprocess hands it over.
    return fast_prices.CompactPrices(json.loads(json.dumps(fast_prices.build(snapshot))))


def names(snapshot):
    """Every model id in the data, and the forms a caller may send it in."""
    out = set()
    for provider in snapshot.providers:
        for model in provider.models:
            out.update({model.id, model.id.upper(), f"{provider.id}/{model.id}", f"{model.id}-20250101"})
    return sorted(out | {"", "gpt-4o", "claude-3-5-sonnet-20241022", "gemini-2.5-pro", "no-such-model-x"})


def test_every_model_is_priced_as_the_package_prices_it(snapshot, compact):
    compared = 0
    for name in names(snapshot):
        for provider_type in ("openai", "anthropic", "google", None):
            slow = pricing.package_price(name, provider_type, NOW)
            assert pricing.package_price(name, provider_type, NOW, compact=compact) == slow, (name, provider_type)
            compared += slow is not None
    assert compared > 4000  # the data is there: thousands of the names have a price


def boundaries(snapshot):
    """Instants on both sides of every date and hour a price starts or ends at."""
    instants = set()
    for provider in snapshot.providers:
        for model in provider.models:
            for conditional in model.prices if isinstance(model.prices, list) else ():
                constraint = conditional.constraint
                if isinstance(constraint, types.StartDateConstraint):
                    day = datetime.combine(constraint.start_date, time(), timezone.utc)
                    instants.update({day - timedelta(seconds=1), day})
                elif isinstance(constraint, types.TimeOfDateConstraint):
                    for at in (constraint.start_time, constraint.end_time):
                        moment = datetime.combine(NOW.date(), at.replace(tzinfo=at.tzinfo or timezone.utc))
                        instants.update({moment - timedelta(minutes=1), moment})
    return sorted(instants)


def test_prices_that_depend_on_the_date_or_hour_follow_the_package(snapshot, compact):
    dated = [(p, m) for p in snapshot.providers for m in p.models if isinstance(m.prices, list)]
    instants = boundaries(snapshot)
    assert dated and len(instants) > 10
    for provider, model in dated:
        for now in instants:
            for name, provider_type in ((model.id, None), (model.id, "openai")):
                assert (pricing.package_price(name, provider_type, now, compact=compact)
                        == pricing.package_price(name, provider_type, now)), (name, provider_type, now)


def test_a_process_gets_its_prices_without_importing_the_package():
    code = ("import sys; from inference_gateway.gateway import fast_prices, pricing; "
            "price = pricing.PriceTable().lookup('gpt-4o-mini', 'openai'); "
            "print(price.tiers[:2], 'genai_prices.data' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(('input', 0.15), ('output', 0.6)) False"


def test_without_the_table_prices_come_from_the_package(monkeypatch):
    def broken():
        raise ValueError("genai-prices match rule ClauseNew is not known to the compact table")

    monkeypatch.setattr(fast_prices, "_table", None)
    monkeypatch.setattr(fast_prices, "_build_in_subprocess", broken)
    price = pricing.PriceTable().lookup("gpt-4o-mini", "openai")
    assert price.source == pricing.PACKAGE and dict(price.tiers)["output"] == 0.6
