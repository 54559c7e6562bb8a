"""OpenAI-compatible adapter."""
from .base import Provider


class OpenAICompatibleProvider(Provider):
    type = "openai-compatible"
    label = "OpenAI-compatible"
    default_base_url = None
    key_required = False
