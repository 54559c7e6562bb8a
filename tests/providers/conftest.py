"""Fixtures for the adapter tests: fast retry settings, recorded sleeps, `responses`, adapters."""
import pytest
import responses

from inference_gateway.providers import HttpSettings, Provider, ProviderSettings
from inference_gateway.types import ProviderConfig


@pytest.fixture
def settings():
    return ProviderSettings(
        http=HttpSettings(backoff_base=0.001, backoff_max=0.002, max_retries=2, retry_after_max=10.0),
        anthropic_default_max_tokens=1024, key_vars=("*_KEY", "*_KEY_FOR_TEST"))


@pytest.fixture
def sleeps(monkeypatch):
    """Waits the retry loop asked for, recorded instead of slept."""
    waits = []
    monkeypatch.setattr(Provider, "_sleep", lambda self, seconds: waits.append(seconds))
    return waits


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def make(settings, monkeypatch):
    """Build an adapter whose key sits in TEST_PROVIDER_KEY (unset with key=None)."""

    def build(cls, *, base_url=None, key="sk-test", env_var="TEST_PROVIDER_KEY", name="prov"):
        if env_var:
            if key is None:
                monkeypatch.delenv(env_var, raising=False)
            else:
                monkeypatch.setenv(env_var, key)
        config = ProviderConfig(id="prov-1", name=name, type=cls.type, base_url=base_url,
                                env_var=env_var)
        return cls(config, settings)

    return build
