"""OpenCode Zen adapter."""
from .base import Provider


class OpenCodeProvider(Provider):
    type = "opencode"
    label = "OpenCode Zen"
    default_base_url = "https://opencode.ai/zen/v1"
