"""Anthropic Messages wire format: pure translation, shared by the Anthropic and OpenCode adapters.
Data in, data out: no HTTP here, and errors name the provider by the `name` they are given."""
import json
import re

from inference_gateway import errors
from inference_gateway.errors import UpstreamFailure
from inference_gateway.types import (Chunk, Completion, ModelInfo, TextPart, Thought, ThoughtDelta, Tool, ToolCall,
                                     ToolCallDelta, Usage)
from inference_gateway.providers.common import (event_json, header, int_or_zero, parts_of, role_and_content,
                                                stream_cut, stream_failed, text_field, unsupported)

API_VERSION = "2023-06-01"
# Anthropic's temperature range is 0-1 where OpenAI's and Gemini's (and so the API's) is 0-2.
MAX_TEMPERATURE = 1.0

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
                "max_tokens": "length", "model_context_window_exceeded": "length",
                "tool_use": "tool_calls", "refusal": "content_filter"}
# Models with native structured output (`output_config.format`, generally available): Claude
# Opus/Sonnet/Haiku 4.5 and later. Older ones get a forced tool whose input is the schema.
NATIVE_STRUCTURED = re.compile(r"^claude-(opus|sonnet|haiku)-(4-[5-9]|[5-9])(\b|-)")
# The forced tool's name for `{"type": "json"}` (no schema of the caller's own).
JSON_TOOL = "json_response"


def auth_headers(key):
    return {"x-api-key": key, "anthropic-version": API_VERSION}


def beta_headers(req):
    """The caller's `anthropic-beta` features (compat/anthropic), passed on as sent."""
    return {"anthropic-beta": req.beta} if req.beta else None


def counted_tokens(body, name):
    """`input_tokens` of a /messages/count_tokens reply."""
    if not isinstance(body, dict) or not isinstance(body.get("input_tokens"), int):
        raise errors.UpstreamError(f"provider '{name}' sent a token count with no input_tokens")
    return body["input_tokens"]


def finish_reason(value):
    if not value:
        return None
    return STOP_REASONS.get(value, str(value).lower())


# -- neutral -> Anthropic -------------------------------------------------------------------------
def block(part):
    """A text or image content block for a TextPart or ImagePart."""
    if isinstance(part, TextPart):
        wire = {"type": "text", "text": part.text}
        if part.cache_control:
            wire["cache_control"] = dict(part.cache_control)
        return wire
    source = ({"type": "url", "url": part.url} if part.url else
              {"type": "base64", "media_type": part.mime_type, "data": part.data})
    return {"type": "image", "source": source}


def content_blocks(content):
    """A string stays a string (the common case); parts become blocks."""
    return content if isinstance(content, str) else [block(part) for part in content]


def thinking_block(thought):
    """A Thought as the block it came as; None for one without a signature (another provider's
    summary, which Anthropic would refuse and has no use for)."""
    if thought.redacted:
        return {"type": "redacted_thinking", "data": thought.redacted}
    if thought.signature:
        return {"type": "thinking", "thinking": thought.text, "signature": thought.signature}
    return None


def assistant_turn(message):
    """Thinking blocks first (Anthropic checks them, unchanged and in order), then text, then tool
    calls; a call's own signature is the thinking block (with no text) that preceded it."""
    blocks = [b for b in map(thinking_block, message.thoughts) if b is not None]
    blocks += [block(part) for part in parts_of(message.content)]
    for call in message.tool_calls:
        if call.signature:
            blocks.append({"type": "thinking", "thinking": "", "signature": call.signature})
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
    return {"role": "assistant", "content": blocks}


# Anthropic's output_config.effort values.
EFFORTS = ("low", "medium", "high", "xhigh", "max")


def reasoning_payload(payload, req, name):
    """`thinking` ({type: enabled, budget_tokens} | adaptive | disabled, with `display`),
    `output_config.effort` and `top_k`; what has no Anthropic equivalent is refused."""
    if req.top_k is not None:
        payload["top_k"] = req.top_k
    reasoning = req.reasoning
    if reasoning is None:
        return
    thinking = None
    if reasoning.mode == "enabled" or reasoning.budget_tokens is not None:
        if reasoning.budget_tokens is None:
            raise unsupported(name, "thinking without budget_tokens (Anthropic's enabled thinking needs one)")
        thinking = {"type": "enabled", "budget_tokens": reasoning.budget_tokens}
    elif reasoning.mode in ("adaptive", "disabled"):
        thinking = {"type": reasoning.mode}
    if reasoning.summary is not None:
        display = {"omitted": "omitted"}.get(reasoning.summary, "summarized")
        if thinking is None or thinking["type"] == "disabled":
            # Asking to see the reasoning turns thinking on: Claude decides how much.
            thinking = {"type": "adaptive"}
        thinking["display"] = display
    if thinking is not None:
        payload["thinking"] = thinking
    if reasoning.effort is not None:
        if reasoning.effort not in EFFORTS:
            raise unsupported(name, f"reasoning effort '{reasoning.effort}' (Anthropic's output_config.effort "
                                    "takes " + ", ".join(EFFORTS) + ")")
        payload.setdefault("output_config", {})["effort"] = reasoning.effort


def structured_tool(fmt, model, has_tools, name):
    """The forced tool that carries a response format on a model without the native mode, or None."""
    if fmt is None or fmt.type == "text" or (fmt.type == "json_schema" and NATIVE_STRUCTURED.match(model)):
        return None
    if has_tools:
        raise unsupported(name, f"a JSON response format together with tools on {model} (no native "
                                "structured output: the format is carried by a forced tool)")
    if fmt.type == "json":
        return Tool(JSON_TOOL, {"type": "object"}, "Give the answer as this tool's input: one JSON object.")
    return Tool(fmt.name, fmt.schema, "Give the answer as this tool's input, following its schema.")


def system_payload(req):
    """Top-level `system`: one string, or blocks when a part carries cache_control."""
    parts = [TextPart(req.system)] if req.system else []
    for message in req.messages:
        if message.role in ("system", "developer"):
            parts.extend(part for part in parts_of(message.content) if part.text)
    if any(part.cache_control for part in parts):
        return [block(part) for part in parts]
    return "\n\n".join(part.text for part in parts) if parts else None


def tool_choice_payload(choice):
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice["name"]}
    return {"type": {"auto": "auto", "none": "none", "required": "any"}[choice]}


def messages_payload(req, default_max_tokens, *, stream=False, name="anthropic"):
    """The `/messages` body: system prompts go top-level, tool results become user turns (consecutive
    ones merged into one), and a response format without native support becomes a forced tool."""
    messages = []
    for message in req.messages:
        role, content = role_and_content(message)
        if role in ("system", "developer"):
            continue
        if role == "tool":
            result = {"type": "tool_result", "tool_use_id": message.tool_call_id,
                      "content": content_blocks(content)}
            last = messages[-1] if messages else None
            if last and last["role"] == "user" and isinstance(last["content"], list) and all(
                    b["type"] == "tool_result" for b in last["content"]):
                last["content"].append(result)
            else:
                messages.append({"role": "user", "content": [result]})
        elif role == "assistant" and (message.tool_calls or message.thoughts):
            messages.append(assistant_turn(message))
        else:
            messages.append({"role": role, "content": content_blocks(content)})
    payload = {"model": req.model, "max_tokens": req.max_tokens or default_max_tokens,
               "messages": messages}
    system = system_payload(req)
    if system:
        payload["system"] = system
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
    tools = list(req.tools or ())
    forced = structured_tool(req.response_format, req.model, bool(tools), name)
    if forced is not None:
        tools.append(forced)
    if tools:
        payload["tools"] = [{"name": tool.name, **({"description": tool.description} if tool.description else {}),
                             "input_schema": tool.parameters} for tool in tools]
    if forced is not None:
        payload["tool_choice"] = {"type": "tool", "name": forced.name}
    elif req.tool_choice is not None:
        payload["tool_choice"] = tool_choice_payload(req.tool_choice)
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and forced is None:
        payload["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
    if req.reasoning is not None or req.top_k is not None:
        reasoning_payload(payload, req, name)
    if stream:
        payload["stream"] = True
    return payload


def structured_name(req):
    """The forced tool's name whose input is the answer, or None (see structured_tool)."""
    fmt = req.response_format
    if fmt is None or fmt.type == "text" or (fmt.type == "json_schema" and NATIVE_STRUCTURED.match(req.model)):
        return None
    return JSON_TOOL if fmt.type == "json" else fmt.name


# -- Anthropic -> neutral -------------------------------------------------------------------------
def model_info(item):
    """A listed model (an item of GET /models' `data`), or None for an entry without an id."""
    model_id = text_field(item, "id")
    return model_id and ModelInfo(model_id, text_field(item, "display_name"), ["chat"])


def parse_usage(usage):
    """Anthropic counts cache reads and writes apart from `input_tokens`; ours include them."""
    read = int_or_zero(usage.get("cache_read_input_tokens"))
    write = int_or_zero(usage.get("cache_creation_input_tokens"))
    return Usage(int_or_zero(usage.get("input_tokens")) + read + write, int_or_zero(usage.get("output_tokens")),
                 cache_read_tokens=read, cache_write_tokens=write)


def input_tokens(usage):
    return parse_usage(usage).input_tokens


def parse_message(body, model, *, name="anthropic", structured=None):
    """A Completion; with `structured` (the forced tool's name) its input is the answer's text."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise errors.UpstreamError(f"provider '{name}' sent a reply with no content")
    texts, calls, thoughts = [], [], []
    reason = finish_reason(body.get("stop_reason"))
    for item in body["content"]:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text":
            texts.append(item.get("text") or "")
        elif item.get("type") == "thinking":
            thoughts.append(Thought(item.get("thinking") or "", item.get("signature") or None))
        elif item.get("type") == "redacted_thinking":
            thoughts.append(Thought(redacted=item.get("data") or ""))
        elif item.get("type") == "tool_use":
            arguments = item.get("input") if isinstance(item.get("input"), dict) else {}
            if structured is not None and item.get("name") == structured:
                texts.append(json.dumps(arguments, ensure_ascii=False))
                reason = "stop" if reason == "tool_calls" else reason
            else:
                calls.append(ToolCall(item.get("id") or f"call_{len(calls)}", item.get("name") or "", arguments))
    return Completion(content="".join(texts), model=model, usage=parse_usage(body.get("usage") or {}),
                      finish_reason=reason, tool_calls=calls, thoughts=thoughts)


def iter_chunks(events, *, name="anthropic", structured=None):
    """Chunks from a Messages stream; ends at `message_stop`, and a stream cut before it raises.

    Tool calls are numbered in the order their blocks start; their `input_json_delta` pieces are
    forwarded as they come (for the forced structured-output tool, as text)."""
    usage = Usage()
    tools, as_text = {}, set()  # content block index -> tool call index; blocks that are the answer
    thoughts = {}  # content block index -> thought index
    for event in events:
        kind = event.event
        if kind == "ping":
            continue
        payload = event_json(event, name)
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type") or kind
        if kind == "error":
            raise stream_failed(name, parse_error(200, payload, {}))
        if kind == "message_start":
            usage = parse_usage((payload.get("message") or {}).get("usage") or {})
            yield Chunk(usage=Usage(**vars(usage)))
        elif kind == "content_block_start":
            started = payload.get("content_block") or {}
            if started.get("type") in ("thinking", "redacted_thinking"):
                thoughts[payload.get("index")] = len(thoughts)
                if started["type"] == "redacted_thinking":
                    yield Chunk(thoughts=(ThoughtDelta(len(thoughts) - 1, redacted=started.get("data") or ""),))
            elif started.get("type") == "tool_use":
                if structured is not None and started.get("name") == structured:
                    as_text.add(payload.get("index"))
                else:
                    tools[payload.get("index")] = len(tools)
                    yield Chunk(tool_calls=(ToolCallDelta(len(tools) - 1, id=started.get("id"),
                                                          name=started.get("name")),))
        elif kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                yield Chunk(text=delta["text"])
            elif delta.get("type") == "thinking_delta" and payload.get("index") in thoughts:
                yield Chunk(thoughts=(ThoughtDelta(thoughts[payload["index"]], delta.get("thinking") or ""),))
            elif delta.get("type") == "signature_delta" and payload.get("index") in thoughts:
                yield Chunk(thoughts=(ThoughtDelta(thoughts[payload["index"]],
                                                   signature=delta.get("signature") or None),))
            elif delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                index = payload.get("index")
                if index in as_text:
                    yield Chunk(text=delta["partial_json"])
                elif index in tools:
                    yield Chunk(tool_calls=(ToolCallDelta(tools[index], arguments=delta["partial_json"]),))
        elif kind == "message_delta":
            reported = payload.get("usage") or {}
            # Cumulative counts; input_tokens appears here only on newer API versions.
            if reported.get("input_tokens") is not None:
                usage = Usage(**{**vars(parse_usage(reported)), "output_tokens": usage.output_tokens})
            if reported.get("output_tokens") is not None:
                usage.output_tokens = int_or_zero(reported.get("output_tokens"))
            reason = finish_reason((payload.get("delta") or {}).get("stop_reason"))
            if reason == "tool_calls" and as_text and not tools:
                reason = "stop"
            yield Chunk(usage=Usage(**vars(usage)), finish_reason=reason)
        elif kind == "message_stop":
            # OpenCode Zen sends a ping carrying the cost after this; it is not read.
            return
    raise stream_cut(name, "no message_stop")


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
