"""OpenAI wire format (chat completions, embeddings, errors): pure translation, shared by the
OpenAI, OpenAI-compatible and OpenCode adapters."""
from inference_gateway import errors
from inference_gateway.types import Chunk, Completion, Embeddings, Usage
from inference_gateway.providers.base import UpstreamFailure
from inference_gateway.providers.common import header, int_or_zero, role_and_content, stream_cut

FINISH_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter",
                  "tool_calls": "tool_calls", "function_call": "tool_calls"}


def finish_reason(value):
    if not value:
        return None
    return FINISH_REASONS.get(value, str(value).lower())


def chat_payload(req, *, max_tokens_field="max_completion_tokens", stream=False,
                 include_usage=True):
    """The `/chat/completions` body for a ChatRequest."""
    messages = [{"role": "system", "content": req.system}] if req.system else []
    for message in req.messages:
        role, content = role_and_content(message)
        messages.append({"role": role, "content": content})
    payload = {"model": req.model, "messages": messages}
    if req.max_tokens is not None:
        payload[max_tokens_field] = req.max_tokens
    if req.temperature is not None:
        payload["temperature"] = req.temperature
    if req.top_p is not None:
        payload["top_p"] = req.top_p
    if req.stop:
        payload["stop"] = list(req.stop)
    if stream:
        payload["stream"] = True
        if include_usage:
            # Without this OpenAI streams no usage at all.
            payload["stream_options"] = {"include_usage": True}
    return payload


def parse_usage(usage):
    if not isinstance(usage, dict):
        return Usage()
    return Usage(int_or_zero(usage.get("prompt_tokens")), int_or_zero(usage.get("completion_tokens")))


def parse_chat(provider, body, model):
    """A Completion from a `/chat/completions` reply."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise errors.UpstreamError(f"provider '{provider.config.name}' sent a reply with no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content") or message.get("refusal") or ""
    return Completion(content=content, model=model, usage=parse_usage(body.get("usage")),
                      finish_reason=finish_reason(choice.get("finish_reason")))


def iter_chunks(provider, events, *, require_done=True):
    """Chunks from an OpenAI-format SSE stream; stops at `[DONE]`.

    With `require_done=False` a stream that reached a finish_reason may end at EOF without
    `[DONE]` (some OpenAI-compatible servers do); otherwise a missing `[DONE]` means a cut."""
    finished = False
    for event in events:
        if event.event == "ping":
            continue
        if event.data.strip() == "[DONE]":
            # Anything after it (OpenCode Zen sends a cost chunk) is not read.
            return
        payload = provider.event_json(event)
        if not isinstance(payload, dict):
            continue
        if event.event == "error" or payload.get("error"):
            raise provider.stream_error(payload)
        if payload.get("type") == "ping":
            continue
        text, reason = "", None
        for choice in payload.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            text = (choice.get("delta") or {}).get("content") or ""
            reason = finish_reason(choice.get("finish_reason"))
        usage = payload.get("usage")
        usage = parse_usage(usage) if isinstance(usage, dict) else None
        finished = finished or reason is not None
        if text or reason or usage:
            yield Chunk(text=text, usage=usage, finish_reason=reason)
    if require_done or not finished:
        raise stream_cut(provider, "no [DONE]")


def parse_error(status, body, headers):
    """`{"error": {"message", "type", "param", "code"}}`; a 429 for billing is not retried."""
    message = code = etype = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message, code, etype = err.get("message"), err.get("code"), err.get("type")
    elif isinstance(err, str):
        message = err
    elif isinstance(body, dict):
        message = body.get("message") or body.get("detail")
    text = str(message or f"HTTP {status}")
    label = code or etype
    if label and str(label) not in text:
        text = f"{text} ({label})"
    retryable = None
    if status == 429 and "insufficient_quota" in (code, etype):
        retryable = False
    if str(header(headers, "x-should-retry")).lower() == "false":
        retryable = False
    return UpstreamFailure(text, retryable=retryable)


def embed_payload(req):
    payload = {"model": req.model, "input": list(req.inputs)}
    if req.dimensions is not None:
        payload["dimensions"] = req.dimensions
    return payload


def parse_embeddings(provider, body, req):
    """Embeddings in input order (the reply is sorted by `index`)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != len(req.inputs):
        raise errors.UpstreamError(
            f"provider '{provider.config.name}' returned {len(data or [])} embeddings "
            f"for {len(req.inputs)} inputs")
    ordered = sorted(data, key=lambda item: item.get("index", 0))
    usage = body.get("usage") or {}
    return Embeddings(vectors=[item.get("embedding") for item in ordered], model=req.model,
                      usage=Usage(int_or_zero(usage.get("prompt_tokens")), 0))


def model_ids(body):
    data = body.get("data") if isinstance(body, dict) else None
    return [item["id"] for item in data or [] if isinstance(item, dict) and item.get("id")]
