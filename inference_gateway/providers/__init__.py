"""Provider adapters: one module per provider type, and the registry from type to class."""
from inference_gateway.providers.anthropic import AnthropicProvider
from inference_gateway.providers.base import Provider, ProviderSettings, UpstreamFailure
from inference_gateway.providers.google import GoogleProvider
from inference_gateway.providers.http import HttpSettings
from inference_gateway.providers.openai import OpenAIProvider
from inference_gateway.providers.openai_compatible import OpenAICompatibleProvider
from inference_gateway.providers.opencode import OpenCodeProvider

PROVIDER_TYPES = {
    cls.type: cls
    for cls in (OpenAIProvider, AnthropicProvider, GoogleProvider, OpenCodeProvider,
                OpenAICompatibleProvider)
}

# Names people use for a type, mapped to the stored one.
TYPE_ALIASES = {"gemini": "google"}


def provider_class(type_name):
    return PROVIDER_TYPES[type_name]


__all__ = ["PROVIDER_TYPES", "TYPE_ALIASES", "Provider", "ProviderSettings", "UpstreamFailure",
           "HttpSettings", "provider_class"]
