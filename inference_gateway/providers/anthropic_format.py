"""Anthropic Messages wire format: pure translation, shared by the Anthropic and OpenCode adapters."""
from inference_gateway import errors
from inference_gateway.types import Chunk, Completion, Usage
from inference_gateway.providers.base import UpstreamFailure
from inference_gateway.providers.common import header, int_or_zero, role_and_content, stream_cut, system_texts

API_VERSION = "2023-06-01"
# Anthropic's temperature range is 0-1 where OpenAI's and Gemini's (and so the API's) is 0-2.
MAX_TEMPERATURE = 1.0

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
                "max_tokens": "length", "model_context_window_exceeded": "length",
                "tool_use": "tool_calls", "refusal": "content_filter"}


def auth_headers(key):
    return {"x-api-key": key, "anthropic-version": API_VERSION}


def finish_reason(value):
    if not value:
        return None
    return STOP_REASONS.get(value, str(value).lower())


def messages_payload(req, default_max_tokens, *, stream=False):
    """The `/messages` body: system prompts go top-level, only user/assistant turns stay."""
    messages = []
    for message in req.messages:
        role, content = role_and_content(message)
        if role in ("system", "developer"):
            continue
        messages.append({"role": role, "content": content})
    payload = {"model": req.model, "max_tokens": req.max_tokens or default_max_tokens,
               "messages": messages}
    system = system_texts(req)
    if system:
        payload["system"] = "\n\n".join(system)
    if req.temperature is not None:
        if req.temperature > MAX_TEMPERATURE:
            # Refused here, not upstream: no call is billed and the message names the field.
            raise errors.BadRequest("temperature must be between 0 and 1 for Anthropic models "
                                    f"(got {req.temperature:g})")
        payload["temperature"] = req.temperature
    if req.top_p is not None:
        payload["top_p"] = req.top_p
    if req.stop:
        payload["stop_sequences"] = list(req.stop)
    if stream:
        payload["stream"] = True
    return payload


def input_tokens(usage):
    """Input tokens billed: Anthropic counts cache reads and writes apart from `input_tokens`."""
    return (int_or_zero(usage.get("input_tokens")) + int_or_zero(usage.get("cache_creation_input_tokens"))
            + int_or_zero(usage.get("cache_read_input_tokens")))


def parse_message(provider, body, model):
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise errors.UpstreamError(f"provider '{provider.config.name}' sent a reply with no content")
    text = "".join(block.get("text") or "" for block in body["content"]
                   if isinstance(block, dict) and block.get("type") == "text")
    usage = body.get("usage") or {}
    return Completion(content=text, model=model,
                      usage=Usage(input_tokens(usage), int_or_zero(usage.get("output_tokens"))),
                      finish_reason=finish_reason(body.get("stop_reason")))


def iter_chunks(provider, events):
    """Chunks from a Messages stream; ends at `message_stop`, and a stream cut before it raises."""
    usage = Usage()
    for event in events:
        kind = event.event
        if kind == "ping":
            continue
        payload = provider.event_json(event)
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type") or kind
        if kind == "error":
            raise provider.stream_error(payload)
        if kind == "message_start":
            reported = (payload.get("message") or {}).get("usage") or {}
            usage = Usage(input_tokens(reported), int_or_zero(reported.get("output_tokens")))
            yield Chunk(usage=Usage(usage.input_tokens, usage.output_tokens))
        elif kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                yield Chunk(text=delta["text"])
        elif kind == "message_delta":
            reported = payload.get("usage") or {}
            # Cumulative counts; input_tokens appears here only on newer API versions.
            if reported.get("input_tokens") is not None:
                usage.input_tokens = input_tokens(reported)
            if reported.get("output_tokens") is not None:
                usage.output_tokens = int_or_zero(reported.get("output_tokens"))
            reason = finish_reason((payload.get("delta") or {}).get("stop_reason"))
            yield Chunk(usage=Usage(usage.input_tokens, usage.output_tokens), finish_reason=reason)
        elif kind == "message_stop":
            # OpenCode Zen sends a ping carrying the cost after this; it is not read.
            return
    raise stream_cut(provider, "no message_stop")


def parse_error(status, body, headers):
    """`{"type": "error", "error": {"type", "message"}}`; 429 and 529 are retried by status."""
    message = etype = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message, etype = err.get("message"), err.get("type")
    elif isinstance(err, str):
        message = err
    elif isinstance(body, dict):
        message = body.get("message")
    text = str(message or f"HTTP {status}")
    if etype and etype not in text:
        text = f"{text} ({etype})"
    retryable = False if str(header(headers, "x-should-retry")).lower() == "false" else None
    return UpstreamFailure(text, retryable=retryable)
