"""Provider adapters: one module per provider type, and the registry from type to class."""
from .anthropic import AnthropicProvider
from .base import Provider, ProviderSettings, UpstreamFailure
from .google import GoogleProvider
from .http import HttpSettings
from .openai import OpenAIProvider
from .openai_compatible import OpenAICompatibleProvider
from .opencode import OpenCodeProvider

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
