"""Messages, pure translation: an Anthropic request body to the gateway's ChatRequest fields, and a
Completion or the gateway's stream events back to Anthropic's message and its typed events."""
import json
from dataclasses import dataclass, field
from typing import Optional

from inference_gateway.compat import reasoning
from inference_gateway.compat.anthropic.errors import event_error
from inference_gateway.compat.wire import (
    Fields, bad, load_model, load_stream, max_tokens, message_list, number, set_field, stop_list, typed_items,
    unsupported)
from inference_gateway.providers.common import text_of
from inference_gateway.types import (ChatRequest, ImagePart, Message, ResponseFormat, TextPart, Thought, Tool,
                                     ToolCall)

# Fields that only tune delivery or bookkeeping: accepted and not forwarded (README).
IGNORED = frozenset({"metadata", "service_tier", "speed", "inference_geo", "diagnostics",
                     "user_profile_id", "workspace_id"})
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "content_filter": "refusal"}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
CHOICES = {"auto": "auto", "any": "required", "none": "none"}


@dataclass
class MessagesCall:
    """A parsed /v1/messages body: the model named, the ChatRequest's other fields, system blocks
    (kept as parts: their cache_control must reach Anthropic) and whether to stream."""

    model: str = ""
    fields: dict = field(default_factory=dict)
    system_parts: list = field(default_factory=list)
    stream: bool = False
    cache_control: Optional[dict] = None

    def request(self, model):
        fields = self.fields
        if self.system_parts:
            fields = {**fields, "messages": [Message("system", self.system_parts)] + fields["messages"]}
        if self.cache_control:
            mark_last_block(fields["messages"], self.cache_control)
        return ChatRequest(model=model, **fields)


def mark_last_block(messages, control):
    """Top-level cache_control: the marker goes on the last text block of the last turn that has
    one (Anthropic's own rule is the last cacheable block)."""
    for message in reversed(messages):
        if isinstance(message.content, str) and message.content:
            message.content = [TextPart(message.content)]
        for part in reversed(message.content):
            if isinstance(part, TextPart):
                part.cache_control = dict(control)
                return


def _cache(block, where):
    control = block.get("cache_control")
    if control is None:
        return None
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise bad(f"{where}.cache_control" if where else "cache_control", "must be {\"type\": \"ephemeral\"} (with an optional ttl)")
    return dict(control)


def _text(block, where):
    if not isinstance(block.get("text"), str):
        raise bad(f"{where}.text", "must be a string")
    return TextPart(block["text"], _cache(block, where))


def _image(block, where):
    source = block.get("source")
    if not isinstance(source, dict):
        raise bad(f"{where}.source", "must be an object")
    if source.get("type") == "base64":
        if source.get("media_type") not in IMAGE_TYPES or not isinstance(source.get("data"), str):
            raise bad(f"{where}.source", "needs media_type (" + ", ".join(IMAGE_TYPES) + ") and base64 data")
        return ImagePart(data=source["data"], mime_type=source["media_type"])
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return ImagePart(url=source["url"])
    raise unsupported(f"{where}.source.type", "only base64 and url image sources are supported")


def _parts(content, where, kinds=("text", "image")):
    """Text and image blocks as neutral parts (a string stays a string)."""
    if isinstance(content, str):
        return content
    parts = []
    for at, kind, block in typed_items(content, where, "content blocks"):
        if kind not in kinds:
            raise unsupported(f"{at}.type", f"'{kind}' blocks are not supported here")
        parts.append(_text(block, at) if kind == "text" else _image(block, at))
    return parts


def _user_turn(content, where, out):
    """A user turn: tool_result blocks become tool messages (in order), the rest one user message."""
    if isinstance(content, str):
        out.append(Message("user", content))
        return
    if not isinstance(content, list):
        raise bad(where, "must be a string or a list of content blocks")
    rest = []
    for i, block in enumerate(content):
        at = f"{where}[{i}]"
        if isinstance(block, dict) and block.get("type") == "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                raise bad(f"{at}.tool_use_id", "must be the id of an earlier tool_use block")
            result = _parts(block.get("content", ""), f"{at}.content")
            if block.get("is_error"):
                # No neutral flag for a failed tool: the model reads it from the text.
                result = "Error: " + (result if isinstance(result, str) else text_of(result))
            out.append(Message("tool", result, tool_call_id=block["tool_use_id"]))
        else:
            rest.append(block)
    if rest:
        out.append(Message("user", _parts(rest, where)))


def _assistant_turn(content, where, out):
    if isinstance(content, str):
        out.append(Message("assistant", content))
        return
    if not isinstance(content, list):
        raise bad(where, "must be a string or a list of content blocks")
    parts, calls, thoughts, previous = [], [], [], None
    for i, block in enumerate(content):
        at = f"{where}[{i}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str) \
                    or not isinstance(block.get("input"), dict):
                raise bad(at, "a tool_use block needs id, name and an object input")
            calls.append(ToolCall(block["id"], block["name"], block["input"]))
            reasoning.claim_signature(thoughts, calls[-1], previous == "thinking")
        elif kind == "text":
            parts.append(_text(block, at))
        elif kind == "thinking":
            if not isinstance(block.get("thinking"), str) or not isinstance(block.get("signature"), str):
                raise bad(at, "a thinking block needs its thinking text and signature, as received")
            thoughts.append(Thought(block["thinking"], block["signature"] or None))
        elif kind == "redacted_thinking":
            if not isinstance(block.get("data"), str):
                raise bad(f"{at}.data", "must be the redacted data, as received")
            thoughts.append(Thought(redacted=block["data"]))
        else:
            raise unsupported(f"{at}.type", f"'{kind}' blocks are not supported in assistant turns")
        previous = kind
    out.append(Message("assistant", parts, calls, thoughts=thoughts))


def _messages(value, call):
    out = []
    for i, message in enumerate(message_list(value)):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise bad(f"{where}.role", "must be 'user' or 'assistant' (the system prompt is top-level)")
        for key in message:
            if key not in ("role", "content"):
                raise unsupported(f"{where}.{key}")
        (_user_turn if message["role"] == "user" else _assistant_turn)(
            message.get("content"), f"{where}.content", out)
    call.fields["messages"] = out


def _system(value, call):
    if value is None:
        return
    parts = _parts(value, "system", kinds=("text",))
    if isinstance(parts, str):
        call.fields["system"] = parts or None
    else:
        call.system_parts = parts


def _tools(value, call):
    if value is None:
        return
    if not isinstance(value, list):
        raise bad("tools", "must be a list of tools")
    tools = []
    for i, tool in enumerate(value):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise bad(where, "must be an object")
        if tool.get("type") not in (None, "custom"):
            raise unsupported(f"{where}.type", f"server tool '{tool.get('type')}' is not supported: "
                                               "only client tools with an input_schema")
        schema = tool.get("input_schema")
        if not isinstance(tool.get("name"), str) or not isinstance(schema, dict):
            raise bad(where, "needs a name and an input_schema object")
        for key in tool:
            if key not in ("type", "name", "description", "input_schema", "cache_control"):
                raise unsupported(f"{where}.{key}")
        tools.append(Tool(tool["name"], schema, tool.get("description")))
    call.fields["tools"] = tools or None


def _tool_choice(value, call):
    if value is None:
        return
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "tool":
        if not isinstance(value.get("name"), str):
            raise bad("tool_choice.name", "must name a tool")
        call.fields["tool_choice"] = {"name": value["name"]}
    elif kind in CHOICES:
        call.fields["tool_choice"] = CHOICES[kind]
    else:
        raise bad("tool_choice.type", "must be one of: auto, any, tool, none")
    # disable_parallel_tool_use only tunes delivery: accepted, not forwarded.


def _output_config(value, call):
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad("output_config", "must be an object")
    for key, fmt in value.items():
        if key == "effort":
            chosen = reasoning.effort(fmt, "output_config.effort")
            if chosen is not None:
                call.fields["reasoning"] = reasoning.merged(call.fields.get("reasoning"), effort=chosen)
            continue
        if key != "format":
            raise unsupported(f"output_config.{key}")
        if fmt is None:
            continue
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise bad("output_config.format", "must be {\"type\": \"json_schema\", \"schema\": {...}}")
        call.fields["response_format"] = ResponseFormat("json_schema", "response", fmt["schema"])


def _thinking(value, call):
    chosen = reasoning.thinking(value)
    if chosen is not None:
        call.fields["reasoning"] = reasoning.merged(chosen, effort=(call.fields.get("reasoning") or chosen).effort)


def _top_cache_control(value, call):
    call.cache_control = _cache({"cache_control": value}, "")


FIELDS = Fields({
    "model": load_model,
    "messages": _messages,
    "max_tokens": set_field("max_tokens", max_tokens),
    "system": _system,
    "temperature": set_field("temperature", lambda v, name: number(v, name, 0, 1)),
    "top_p": set_field("top_p", lambda v, name: number(v, name, 0, 1)),
    "stop_sequences": set_field("stop", lambda v, name: stop_list(v, "stop_sequences")),
    "tools": _tools,
    "tool_choice": _tool_choice,
    "stream": load_stream,
    "output_config": _output_config,
    "cache_control": _top_cache_control,
    "thinking": _thinking,
    "top_k": set_field("top_k", reasoning.top_k),
}, IGNORED, required=("model", "messages", "max_tokens"))
# count_tokens takes the request without the generation settings.
COUNT_FIELDS = Fields({name: FIELDS.loaders[name] for name in (
    "model", "messages", "system", "tools", "tool_choice", "output_config", "cache_control", "thinking")},
                      required=("model", "messages"))


def parse(body):
    """A MessagesCall from the request body; a 400 naming the field for anything it cannot honour."""
    return FIELDS.load(body, MessagesCall())


def parse_count(body):
    return COUNT_FIELDS.load(body, MessagesCall())


def usage_body(usage):
    """Anthropic's usage from the gateway's usage dict: its input_tokens leave cache reads and
    writes out (ours include them)."""
    read, write = usage.get("cacheReadTokens", 0), usage.get("cacheWriteTokens", 0)
    return {"input_tokens": usage.get("inputTokens", 0) - read - write,
            "output_tokens": usage.get("outputTokens", 0),
            "cache_creation_input_tokens": write, "cache_read_input_tokens": read}


def stop_reason(finish):
    return STOP_REASONS.get(finish or "stop", "end_turn")


def tool_use_block(call):
    return {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call["arguments"]}


def thinking_block(thought):
    """A Thought as Anthropic's block; another provider's unsigned summary gets an empty signature
    (the SDK's ThinkingBlock needs one) and is not sent upstream again."""
    if thought.redacted is not None:
        return {"type": "redacted_thinking", "data": thought.redacted}
    return {"type": "thinking", "thinking": thought.text, "signature": thought.signature or ""}


def message_body(call_id, model, completion, usage, tool_calls):
    content = [thinking_block(t) for t in completion.thoughts]
    if completion.content or not tool_calls:
        content.append({"type": "text", "text": completion.content})
    for c in tool_calls:
        if c.get("signature"):
            content.append(thinking_block(Thought("", c["signature"])))
        content.append(tool_use_block(c))
    return {"id": f"msg_{call_id}", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason(completion.finish_reason),
            "stop_sequence": None, "usage": usage_body(usage)}


def _frame(kind, data):
    return b"event: " + kind.encode() + b"\ndata: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def stream_frames(events, call_id, model):
    """The gateway's stream events as Anthropic's: message_start, ping, one content block per run of
    text or per tool call (input_json_delta pieces as they come), message_delta with the stop
    reason and usage, message_stop. A failure after the start is an `error` event."""
    index, open_kind, open_tool = -1, None, None
    for event in events:
        kind = event["type"]
        if kind == "content_block_delta":
            if open_kind != "text":
                if open_kind:
                    yield _frame("content_block_stop", {"type": "content_block_stop", "index": index})
                index, open_kind, open_tool = index + 1, "text", None
                yield _frame("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {"type": "text", "text": ""}})
            yield _frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                "type": "text_delta", "text": event["delta"]["text"]}})
        elif kind == "tool_call_delta":
            if event.get("signature"):
                frames, index, open_kind, open_tool = thinking_frames(event, index, open_kind, open_tool)
                yield from frames
            if open_kind != "tool" or open_tool != event["index"]:
                if open_kind:
                    yield _frame("content_block_stop", {"type": "content_block_stop", "index": index})
                index, open_kind, open_tool = index + 1, "tool", event["index"]
                yield _frame("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {
                    "type": "tool_use", "id": event.get("id") or f"toolu_{call_id}_{event['index']}",
                    "name": event.get("name") or "", "input": {}}})
            if event.get("arguments"):
                yield _frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                    "type": "input_json_delta", "partial_json": event["arguments"]}})
        elif kind == "thinking_delta":
            frames, index, open_kind, open_tool = thinking_frames(event, index, open_kind, open_tool)
            yield from frames
        elif kind == "message_start":
            yield _frame("message_start", {"type": "message_start", "message": {
                "id": f"msg_{call_id}", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}})
            yield _frame("ping", {"type": "ping"})
        elif kind == "message_stop":
            if open_kind:
                yield _frame("content_block_stop", {"type": "content_block_stop", "index": index})
            yield _frame("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": stop_reason(event.get("finishReason")), "stop_sequence": None},
                "usage": usage_body(event["usage"])})
            yield _frame("message_stop", {"type": "message_stop"})
        elif kind == "error":
            yield _frame("error", event_error(event["error"]))
            return


def thinking_frames(event, index, open_kind, open_tool):
    """A reasoning piece as thinking-block events: content_block_start (a redacted block whole),
    thinking_delta for its text, signature_delta for its signature. A tool call's own signature
    is a thinking block with no text right before the call's block. Returns the frames and the
    new (index, open kind, open thought)."""
    frames = []
    is_call = event["type"] == "tool_call_delta"
    if is_call or open_kind != "thinking" or open_tool != event["index"]:
        if open_kind:
            frames.append(_frame("content_block_stop", {"type": "content_block_stop", "index": index}))
        index, open_kind, open_tool = index + 1, "thinking", None if is_call else event["index"]
        block = ({"type": "redacted_thinking", "data": event["redacted"]} if event.get("redacted") is not None
                 else {"type": "thinking", "thinking": "", "signature": ""})
        frames.append(_frame("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": block}))
    if not is_call and event["text"]:
        frames.append(_frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
            "type": "thinking_delta", "thinking": event["text"]}}))
    if event.get("signature"):
        frames.append(_frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
            "type": "signature_delta", "signature": event["signature"]}}))
    if is_call:
        frames.append(_frame("content_block_stop", {"type": "content_block_stop", "index": index}))
        open_kind = None
    return frames, index, open_kind, open_tool
