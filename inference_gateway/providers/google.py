"""Google Gemini adapter."""
from .base import Provider


class GoogleProvider(Provider):
    type = "google"
    label = "Google Gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
