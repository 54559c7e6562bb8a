"""Anthropic adapter."""
from .base import Provider


class AnthropicProvider(Provider):
    type = "anthropic"
    label = "Anthropic"
    default_base_url = "https://api.anthropic.com/v1"
