"""OpenAI wire format (chat completions, embeddings, images, transcription, errors): pure
translation, shared by the OpenAI, OpenAI-compatible and OpenCode adapters. Data in, data out:
no HTTP here, and errors name the provider by the `name` they are given."""
import json
import re

from inference_gateway import errors
from inference_gateway.errors import UpstreamFailure
from inference_gateway.types import (Chunk, Completion, Embeddings, Image, ImagePart, TextPart, Thought,
                                     ThoughtDelta, ToolCallDelta, Transcription, Usage)
from inference_gateway.providers.common import (event_json, header, int_or_zero, tool_call,
                                                role_and_content, stream_cut, stream_failed, text_field, unsupported)

FINISH_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter",
                  "tool_calls": "tool_calls", "function_call": "tool_calls"}


def finish_reason(value):
    if not value:
        return None
    return FINISH_REASONS.get(value, str(value).lower())


# -- chat: neutral -> OpenAI ----------------------------------------------------------------------
def image_url(part):
    """The `image_url.url` for an ImagePart: its URL, or its bytes as a data URL."""
    return part.url if part.url else f"data:{part.mime_type};base64,{part.data}"


def content_parts(content):
    """A message's content on the wire: a string stays a string; parts become OpenAI parts
    (`cacheControl` is dropped: OpenAI caches prompt prefixes by itself)."""
    if isinstance(content, str):
        return content
    return [{"type": "text", "text": part.text} if isinstance(part, TextPart)
            else {"type": "image_url", "image_url": {"url": image_url(part)}} for part in content]


def wire_message(message, name, reasoning_back=False):
    role, content = role_and_content(message)
    calls = getattr(message, "tool_calls", None)
    if role == "tool":
        if not isinstance(content, str) and any(isinstance(p, ImagePart) for p in content):
            raise unsupported(name, "images in tool results (OpenAI's tool messages take text only)")
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": content_parts(content)}
    wire = {"role": role, "content": content_parts(content)}
    if calls:
        # Content may be null beside tool calls; an empty string is refused by some servers.
        wire["content"] = wire["content"] or None
        wire["tool_calls"] = [wire_tool_call(call) for call in calls]
        text = reasoning_back and "".join(t.text for t in message.thoughts
                                          if t.signature is None and t.redacted is None)
        if text:
            wire["reasoning_content"] = text
    return wire


def wire_tool_call(call):
    wire = {"id": call.id, "type": "function", "function": {
        "name": call.name, "arguments": json.dumps(call.arguments, separators=(",", ":"))}}
    if call.signature:
        # Gemini's OpenAI-compatible API carries thoughtSignature here, and needs it back.
        wire["extra_content"] = {"google": {"thought_signature": call.signature}}
    return wire


def google_signature(call):
    """The thought_signature of a tool call from Gemini's OpenAI-compatible API, or None."""
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


def reasoning_payload(payload, req, name):
    """`reasoning_effort` and nothing else: chat completions has no thinking budget, no switch and
    no way to show the reasoning, so those are refused rather than dropped (`top_k` too)."""
    if req.top_k is not None:
        raise unsupported(name, "top_k (OpenAI's chat completions have no top-k sampling)")
    reasoning = req.reasoning
    if reasoning is None:
        return
    if reasoning.budget_tokens is not None or reasoning.mode in ("enabled", "adaptive"):
        raise unsupported(name, "a thinking budget (thinking.budget_tokens / type enabled or adaptive): "
                                "OpenAI's reasoning models take reasoning_effort")
    if reasoning.summary not in (None, "auto", "omitted"):
        raise unsupported(name, f"reasoning summaries ('{reasoning.summary}'): chat completions have no "
                                "setting for them (a server that shows its reasoning does so unasked)")
    effort = "none" if reasoning.mode == "disabled" and reasoning.effort is None else reasoning.effort
    if effort is not None:
        payload["reasoning_effort"] = effort


def tools_payload(tools):
    return [{"type": "function", "function": {
        "name": tool.name, **({"description": tool.description} if tool.description else {}),
        "parameters": tool.parameters}} for tool in tools]


def tool_choice_payload(choice):
    if isinstance(choice, dict):
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def response_format_payload(fmt):
    if fmt.type == "json":
        return {"type": "json_object"}
    if fmt.type == "json_schema":
        schema = {"name": fmt.name, "schema": fmt.schema}
        if fmt.strict is not None:
            schema["strict"] = fmt.strict
        return {"type": "json_schema", "json_schema": schema}
    return {"type": "text"}


def chat_payload(req, *, max_tokens_field="max_completion_tokens", stream=False,
                 include_usage=True, name="openai", reasoning_back=False):
    """The `/chat/completions` body for a ChatRequest.

    With `reasoning_back`, an assistant turn with tool calls carries its unsigned reasoning text
    back as `reasoning_content`: DeepSeek's thinking mode refuses the next request without it (a
    400), and ignores it on turns without tool calls, where it is not sent (DeepSeek-R1, which has
    no tool calls, refuses it there). OpenAI's own API knows no such field."""
    messages = [{"role": "system", "content": req.system}] if req.system else []
    for message in req.messages:
        if type(message.content) is str and not message.tool_calls and message.role != "tool":
            messages.append({"role": message.role, "content": message.content})  # the common case
        else:
            messages.append(wire_message(message, name, reasoning_back))
    payload = {"model": req.model, "messages": messages}
    if req.max_tokens is not None:
        payload[max_tokens_field] = req.max_tokens
    if req.temperature is not None:
        payload["temperature"] = req.temperature
    if req.top_p is not None:
        payload["top_p"] = req.top_p
    if req.stop:
        payload["stop"] = list(req.stop)
    if req.tools:
        payload["tools"] = tools_payload(req.tools)
    if req.tool_choice is not None:
        payload["tool_choice"] = tool_choice_payload(req.tool_choice)
    if req.response_format is not None:
        payload["response_format"] = response_format_payload(req.response_format)
    if req.reasoning is not None or req.top_k is not None:
        reasoning_payload(payload, req, name)
    if stream:
        payload["stream"] = True
        if include_usage:
            # Without this OpenAI streams no usage at all.
            payload["stream_options"] = {"include_usage": True}
    return payload


# -- chat: OpenAI -> neutral ----------------------------------------------------------------------
def parse_usage(usage):
    if not isinstance(usage, dict):
        return Usage()
    prompt = usage.get("prompt_tokens_details")
    completion = usage.get("completion_tokens_details")
    return Usage(int_or_zero(usage.get("prompt_tokens")), int_or_zero(usage.get("completion_tokens")),
                 cache_read_tokens=int_or_zero(prompt.get("cached_tokens")) if isinstance(prompt, dict) else 0,
                 reasoning_tokens=(int_or_zero(completion.get("reasoning_tokens"))
                                   if isinstance(completion, dict) else 0))


def parse_tool_calls(calls):
    parsed = []
    for call in calls or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        parsed.append(tool_call(call.get("id") or f"call_{len(parsed)}", function.get("name") or "",
                                function.get("arguments"), google_signature(call)))
    return parsed


def parse_chat(body, model, *, name="openai"):
    """A Completion from a `/chat/completions` reply."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise errors.UpstreamError(f"provider '{name}' sent a reply with no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content") or message.get("refusal") or ""
    thinking = reasoning_text(message) if "reasoning_content" in message or "reasoning" in message else ""
    return Completion(content=content, model=model, usage=parse_usage(body.get("usage")),
                      finish_reason=finish_reason(choice.get("finish_reason")),
                      tool_calls=parse_tool_calls(message.get("tool_calls")),
                      thoughts=[Thought(thinking)] if thinking else ())


def reasoning_text(message):
    """The model's reasoning in a message or a streamed delta, which OpenAI's format has no field for:
    DeepSeek's (and older vLLM's) `reasoning_content`, or the `reasoning` of OpenRouter, Ollama and
    newer vLLM. A server in between names sends both with the same text: one is read."""
    text = message.get("reasoning_content")
    if not text or type(text) is not str:
        text = message.get("reasoning")
    return text if text and type(text) is str else ""


def tool_call_deltas(delta):
    """ToolCallDeltas of one streamed `delta` (pieces of several calls may share a chunk)."""
    pieces = []
    for call in delta.get("tool_calls") or ():
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        pieces.append(ToolCallDelta(index=int_or_zero(call.get("index")), id=call.get("id"),
                                    name=function.get("name"), arguments=function.get("arguments") or "",
                                    signature=google_signature(call)))
    return tuple(pieces)


def iter_chunks(events, *, name="openai", require_done=True):
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
        payload = event_json(event, name)
        if not isinstance(payload, dict):
            continue
        if event.event == "error" or payload.get("error"):
            raise stream_failed(name, parse_error(200, payload, {}))
        if payload.get("type") == "ping":
            continue
        text, reason, calls, thoughts = "", None, (), ()
        for choice in payload.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") or ""
            if delta.get("tool_calls"):
                calls = tool_call_deltas(delta)
            if "reasoning_content" in delta or "reasoning" in delta:  # a plain chunk pays two lookups
                thinking = reasoning_text(delta)
                if thinking:
                    # The format has one unsigned reasoning text per reply: one thought, index 0.
                    thoughts = (ThoughtDelta(0, thinking),)
            reason = finish_reason(choice.get("finish_reason"))
        usage = payload.get("usage")
        usage = parse_usage(usage) if isinstance(usage, dict) else None
        finished = finished or reason is not None
        if text or reason or usage or calls or thoughts:
            yield Chunk(text=text, usage=usage, finish_reason=reason, tool_calls=calls, thoughts=thoughts)
    if require_done or not finished:
        raise stream_cut(name, "no [DONE]")


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


# -- embeddings and models ------------------------------------------------------------------------
def embed_payload(req):
    payload = {"model": req.model, "input": list(req.inputs)}
    if req.dimensions is not None:
        payload["dimensions"] = req.dimensions
    return payload


def parse_embeddings(body, req, *, name="openai"):
    """Embeddings in input order (the reply is sorted by `index`)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != len(req.inputs):
        raise errors.UpstreamError(
            f"provider '{name}' returned {len(data or [])} embeddings for {len(req.inputs)} inputs")
    ordered = sorted(data, key=lambda item: item.get("index", 0))
    usage = body.get("usage") or {}
    return Embeddings(vectors=[item.get("embedding") for item in ordered], model=req.model,
                      usage=Usage(int_or_zero(usage.get("prompt_tokens")), 0))


def model_id(item):
    """A listed model's id (an item of GET /models' `data`), or None for an entry without one."""
    return text_field(item, "id")


# -- images ---------------------------------------------------------------------------------------
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# Accepted sizes per image model family (OpenAI spec, CreateImageRequest.size).
IMAGE_SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": GPT_IMAGE_SIZES,  # also gpt-image-1-mini and gpt-image-1.5
}
# Accepted `quality` per family ("auto" is accepted by all; OpenAI spec, CreateImageRequest.quality).
IMAGE_QUALITIES = {
    "dall-e-2": ("standard", "auto"),
    "dall-e-3": ("standard", "hd", "auto"),
    "gpt-image-1": ("low", "medium", "high", "auto"),
    "gpt-image-2": ("low", "medium", "high", "auto"),
}
# gpt-image-2 takes any WIDTHxHEIGHT (multiples of 16, limits enforced upstream) or auto.
FREE_SIZE = re.compile(r"^(auto|\d+x\d+)$")
OUTPUT_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


def image_family(model):
    for family in ("dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-2"):
        if model.startswith(family):
            return family
    return None


def check_image_request(req, family):
    """Reject what the model cannot do before anything is sent (and billed)."""
    if req.n is not None and not 1 <= req.n <= 10:
        raise errors.BadRequest("n must be between 1 and 10")
    if family == "dall-e-3" and req.n not in (None, 1):
        raise errors.BadRequest("dall-e-3 generates one image per request: n must be 1")
    qualities = IMAGE_QUALITIES.get(family)
    if req.quality is not None and qualities is not None and req.quality not in qualities:
        raise errors.BadRequest(
            f"quality '{req.quality}' is not available for {req.model}; accepted qualities: "
            + ", ".join(qualities))
    if req.size is None:
        return
    accepted = IMAGE_SIZES.get(family)
    if accepted is not None and req.size not in accepted:
        raise errors.BadRequest(
            f"size '{req.size}' is not available for {req.model}; accepted sizes: " + ", ".join(accepted))
    if family == "gpt-image-2" and not FREE_SIZE.match(req.size):
        raise errors.BadRequest(
            f"size '{req.size}' is not available for {req.model}; use WIDTHxHEIGHT or auto")


def image_payload(req):
    """The `/images/generations` body, after check_image_request."""
    family = image_family(req.model)
    check_image_request(req, family)
    payload = {"model": req.model, "prompt": req.prompt}
    for field_name in ("n", "size", "quality"):
        if getattr(req, field_name) is not None:
            payload[field_name] = getattr(req, field_name)
    if family in ("dall-e-2", "dall-e-3"):
        # Ask for the bytes: the default is a URL that expires after 60 minutes, which a
        # client reading a stored reply (or a slow one) would find dead.
        payload["response_format"] = "b64_json"
    return payload


def parse_images(body, *, name="openai"):
    """(images, usage or None) from an `/images/generations` reply."""
    data = body.get("data") if isinstance(body, dict) else None
    if not data:
        raise errors.UpstreamError(f"provider '{name}' returned no images")
    mime = OUTPUT_MIME.get(str(body.get("output_format") or "png").lower(), "image/png")
    images = [Image(b64_json=item.get("b64_json"), url=item.get("url"),
                    mime_type=mime if item.get("b64_json") else None,
                    revised_prompt=item.get("revised_prompt"))
              for item in data if isinstance(item, dict)]
    usage = body.get("usage")
    usage = Usage(int_or_zero(usage.get("input_tokens")),
                  int_or_zero(usage.get("output_tokens"))) if isinstance(usage, dict) else None
    return images, usage


# -- transcription --------------------------------------------------------------------------------
def transcription_form(req):
    """The multipart form fields of `/audio/transcriptions` (the file goes beside them)."""
    form = {"model": req.model, "response_format": "json"}
    if req.language:
        form["language"] = req.language
    if req.prompt:
        form["prompt"] = req.prompt
    return form


def parse_transcription(body, req, *, name="openai"):
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise errors.UpstreamError(f"provider '{name}' sent a transcription with no text")
    usage = body.get("usage")
    # Token-billed models report tokens; whisper-1 reports {"type": "duration", "seconds"}.
    if isinstance(usage, dict) and ("input_tokens" in usage or usage.get("type") == "tokens"):
        usage = Usage(int_or_zero(usage.get("input_tokens")), int_or_zero(usage.get("output_tokens")))
    else:
        usage = None
    return Transcription(text=body["text"], model=req.model,
                         language=body.get("language") or req.language, usage=usage)
