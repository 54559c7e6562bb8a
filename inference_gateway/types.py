"""Neutral types that cross layer boundaries (API <-> services <-> provider adapters)."""
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class TextPart:
    text: str
    # {"type": "ephemeral"}: Anthropic's prompt-cache breakpoint; providers that cache by
    # themselves ignore it.
    cache_control: Optional[dict] = None


@dataclass
class ImagePart:
    """An image by URL (http/https) or as base64 `data` with its `mime_type`."""

    url: Optional[str] = None
    data: Optional[str] = None
    mime_type: Optional[str] = None


@dataclass
class Tool:
    name: str
    parameters: dict  # a JSON Schema object
    description: Optional[str] = None


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict
    # Opaque: what the provider needs echoed on the next turn (Gemini's thoughtSignature).
    signature: Optional[str] = None
    # The model's argument text when it is not a JSON object (then `arguments` is {}): a call cut
    # off by the token limit, or a model that wrote broken JSON. Kept, never dropped.
    raw_arguments: Optional[str] = None


@dataclass
class Thought:
    """A piece of the model's reasoning as its provider shows it: the text (a summary at some
    providers), and what must go back unchanged on the next turn: Anthropic's thinking `signature`
    or Gemini's thoughtSignature, or `redacted` (Anthropic's encrypted redacted_thinking data)."""

    text: str = ""
    signature: Optional[str] = None
    redacted: Optional[str] = None


@dataclass
class Reasoning:
    """How much the model may think before answering, as the caller asked for it. Each provider
    takes what it has an equivalent for; anything else is a 400 naming the field (never dropped).

    `mode`: "enabled" (with `budget_tokens`), "adaptive" (the model decides) or "disabled";
    `effort`: none | minimal | low | medium | high | xhigh | max; `summary`: show the reasoning
    (OpenAI's auto | concise | detailed; "omitted" keeps only the signatures)."""

    mode: Optional[str] = None
    budget_tokens: Optional[int] = None
    effort: Optional[str] = None
    summary: Optional[str] = None


# Reasoning's values, for every surface that reads them: the efforts (OpenAI's set, the widest;
# each provider takes some), and the smallest thinking budget (Anthropic's minimum budget_tokens).
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
MIN_BUDGET = 1024


@dataclass
class ResponseFormat:
    type: str  # text | json | json_schema
    name: Optional[str] = None
    schema: Optional[dict] = None
    strict: Optional[bool] = None


@dataclass
class Message:
    """One turn. `content` is a string or a list of TextPart/ImagePart. An assistant turn may carry
    `tool_calls`; a `tool` turn answers the call named by `tool_call_id`."""

    role: str  # system | user | assistant | tool
    content: object = ""
    tool_calls: list = field(default_factory=list)
    tool_call_id: Optional[str] = None
    # An assistant turn's reasoning (of Thought), sent back before its content where the provider
    # needs it (Anthropic's thinking blocks, Gemini's thought parts). A tuple by default: a plain
    # message allocates nothing for it.
    thoughts: list = ()


@dataclass
class Usage:
    """Token counts. Cached tokens are part of `input_tokens`, reasoning tokens part of
    `output_tokens` (as every provider bills them); the three details are 0 when not reported."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

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
    tools: Optional[list] = None  # of Tool
    tool_choice: object = None  # "auto" | "none" | "required" | {"name": ...}
    response_format: Optional[ResponseFormat] = None
    # Anthropic's `anthropic-beta` header as a caller sent it: forwarded to Anthropic upstreams only.
    beta: Optional[str] = None
    reasoning: Optional[Reasoning] = None
    top_k: Optional[int] = None


@dataclass
class Completion:
    content: str
    model: str
    usage: Usage
    finish_reason: Optional[str] = None
    tool_calls: list = field(default_factory=list)  # of ToolCall
    thoughts: list = ()  # of Thought, in the order they came


@dataclass
class ThoughtDelta:
    """A piece of a streamed Thought: `index` says which; `text` is the next piece of its text; the
    signature (or redacted data) comes whole, usually last."""

    index: int
    text: str = ""
    signature: Optional[str] = None
    redacted: Optional[str] = None


@dataclass
class ToolCallDelta:
    """A piece of a streamed tool call: `index` says which call; `arguments` is the next piece of
    its JSON text (the pieces joined are the whole arguments)."""

    index: int
    id: Optional[str] = None
    name: Optional[str] = None
    arguments: str = ""
    signature: Optional[str] = None


@dataclass
class Chunk:
    """One stream event from an adapter: a text delta, tool-call pieces, and/or usage/finish info
    as it becomes known.

    `usage` is the running total the provider has reported so far (not an increment)."""

    text: str = ""
    usage: Optional[Usage] = None
    finish_reason: Optional[str] = None
    tool_calls: tuple = ()  # of ToolCallDelta
    thoughts: tuple = ()  # of ThoughtDelta


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


@dataclass(frozen=True)
class RouteTarget:
    """One target of a route: a model, and the provider (id or name) serving it when given."""

    model: str
    provider_ref: Optional[str] = None
    weight: float = 1.0


@dataclass(frozen=True)
class Route:
    """A model name served by several targets (gateway/routing.py)."""

    name: str
    strategy: str
    targets: tuple  # of RouteTarget
    retry_on: frozenset
