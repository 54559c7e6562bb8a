"""Neutral types that cross layer boundaries (API <-> services <-> provider adapters)."""
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self):
        return self.input_tokens + self.output_tokens


@dataclass
class ChatRequest:
    model: str
    messages: list
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    stop: Optional[list] = None
    system: Optional[str] = None


@dataclass
class Completion:
    content: str
    model: str
    usage: Usage
    finish_reason: Optional[str] = None


@dataclass
class Chunk:
    """One stream event from an adapter: a text delta, and/or usage/finish info as it becomes known.

    `usage` is the running total the provider has reported so far (not an increment)."""

    text: str = ""
    usage: Optional[Usage] = None
    finish_reason: Optional[str] = None


@dataclass
class EmbedRequest:
    model: str
    inputs: list
    dimensions: Optional[int] = None


@dataclass
class Embeddings:
    vectors: list
    model: str
    usage: Usage


@dataclass
class ImageRequest:
    model: str
    prompt: str
    size: Optional[str] = None
    n: Optional[int] = None
    quality: Optional[str] = None


@dataclass
class Image:
    b64_json: Optional[str] = None
    url: Optional[str] = None
    mime_type: Optional[str] = None
    revised_prompt: Optional[str] = None


@dataclass
class Images:
    images: list
    model: str
    usage: Optional[Usage] = None


@dataclass
class TranscribeRequest:
    model: str
    audio: bytes
    filename: str
    language: Optional[str] = None
    prompt: Optional[str] = None


@dataclass
class Transcription:
    text: str
    model: str
    language: Optional[str] = None
    usage: Optional[Usage] = None


@dataclass
class ModelInfo:
    model_id: str
    display_name: Optional[str] = None
    capabilities: list = field(default_factory=list)


@dataclass
class ProviderConfig:
    """What an adapter needs to know about a registered provider. The key is read at call time."""

    id: str
    name: str
    type: str
    base_url: str
    env_var: Optional[str] = None
    default_model: Optional[str] = None
