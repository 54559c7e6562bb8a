"""OpenAI adapter."""
from .base import Provider


class OpenAIProvider(Provider):
    type = "openai"
    label = "OpenAI"
    default_base_url = "https://api.openai.com/v1"
