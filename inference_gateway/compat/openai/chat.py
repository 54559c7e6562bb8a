"""Chat completions, pure translation: an OpenAI request body to the gateway's ChatRequest fields,
and a Completion or the gateway's stream events back to OpenAI's reply and chunks."""
import json
from dataclasses import dataclass, field

from inference_gateway.compat.openai.errors import event_error
from inference_gateway.compat.wire import (
    Fields, bad, load_model, load_stream, max_tokens, message_list, number, one_of_bool, set_field, stop_list,
    text_of_parts, typed_items, unsupported)
from inference_gateway.compat.openai.content import (
    arguments, arguments_text, function_tool, image_part, response_format, tool_choice)
from inference_gateway.compat import reasoning
from inference_gateway.types import ChatRequest, Message, TextPart, Thought, ToolCall

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
         "tool": "tool"}
# Fields that only tune delivery or bookkeeping at OpenAI: accepted and not forwarded (README).
IGNORED = frozenset({"user", "metadata", "store", "service_tier", "parallel_tool_calls",
                     "prompt_cache_key", "safety_identifier"})


@dataclass
class ChatCall:
    """A parsed /v1/chat/completions body: the model named, the ChatRequest's other fields, and
    how to deliver the answer."""

    model: str
    fields: dict = field(default_factory=dict)
    stream: bool = False
    include_usage: bool = False

    def request(self, model):
        return ChatRequest(model=model, **self.fields)


def _parts(content, where, allow_null=False):
    """A content as a string, or as neutral parts when it holds images."""
    if not isinstance(content, list) or not any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content):
        return text_of_parts(content, where, allow_null=allow_null)
    parts = []
    for i, part in enumerate(content):
        at = f"{where}[{i}]"
        if isinstance(part, dict) and part.get("type") == "image_url":
            spec = part.get("image_url")
            parts.append(image_part(spec.get("url") if isinstance(spec, dict) else spec, f"{at}.image_url.url"))
        else:
            parts.append(TextPart(text_of_parts([part], at)))
    return parts


def _tool_calls(value, where):
    if not isinstance(value, list):
        raise bad(where, "must be a list of tool calls")
    calls = []
    for i, call in enumerate(value):
        at = f"{where}[{i}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or call.get("type", "function") != "function" \
                or not isinstance(call.get("id"), str) or not isinstance(function.get("name"), str):
            raise bad(at, "must be {id, type: function, function: {name, arguments}}")
        calls.append(ToolCall(call["id"], function["name"], arguments(function.get("arguments"),
                                                                      f"{at}.function.arguments"),
                              _google_signature(call.get("extra_content"), f"{at}.extra_content")))
    return calls


def _google_signature(extra, where):
    """Gemini's thought signature of a tool call, where Google's OpenAI-compatible API puts it:
    `extra_content.google.thought_signature`."""
    if extra is None:
        return None
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    if not isinstance(signature, str):
        raise bad(where, "must be {\"google\": {\"thought_signature\": \"...\"}}")
    return signature or None


def _thinking_blocks(value, where):
    """An assistant message's `thinking_blocks` (as this gateway and LiteLLM send them): Anthropic's
    thinking and redacted_thinking blocks, to go back upstream unchanged."""
    thoughts = []
    for at, kind, block in typed_items(value, where, "thinking blocks"):
        if kind == "thinking" and isinstance(block.get("thinking"), str) \
                and isinstance(block.get("signature"), str):
            thoughts.append(Thought(block["thinking"], block["signature"] or None))
        elif kind == "redacted_thinking" and isinstance(block.get("data"), str):
            thoughts.append(Thought(redacted=block["data"]))
        else:
            raise bad(at, "must be {type: thinking, thinking, signature} or {type: redacted_thinking, data}")
    return thoughts


def _reasoning_content(value, where):
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        raise bad(where, "must be a string: the reasoning's text")
    return [Thought(value)]


MESSAGE_KEYS = {"system": ("content", "name"), "user": ("content", "name"),
                "assistant": ("content", "name", "refusal", "tool_calls", "reasoning_content",
                              "thinking_blocks"),
                "tool": ("content", "tool_call_id")}


def _message(message, where, called):
    if not isinstance(message, dict):
        raise bad(where, "must be an object with 'role' and 'content'")
    role = ROLES.get(message.get("role"))
    if role is None:
        raise unsupported(f"{where}.role", f"role '{message.get('role')}' is not supported; use one "
                          "of: " + ", ".join(ROLES))
    for key in message:
        if key != "role" and key not in MESSAGE_KEYS[role]:
            raise unsupported(f"{where}.{key}")
    content = message.get("content")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if call_id not in called:
            raise bad(f"{where}.tool_call_id", "answers no tool call of an earlier assistant message")
        return Message("tool", text_of_parts(content, f"{where}.content"), tool_call_id=call_id)
    if role == "assistant":
        calls = _tool_calls(message["tool_calls"], f"{where}.tool_calls") if message.get("tool_calls") else []
        called.update(call.id for call in calls)
        # thinking_blocks carry the reasoning as it came, signatures included; without them,
        # reasoning_content (DeepSeek's way to send it back) is one thought with no signature.
        if message.get("thinking_blocks"):
            thoughts = _thinking_blocks(message["thinking_blocks"], f"{where}.thinking_blocks")
        else:
            thoughts = _reasoning_content(message.get("reasoning_content"), f"{where}.reasoning_content")
        return Message("assistant", text_of_parts(content, f"{where}.content", allow_null=True), calls,
                       thoughts=thoughts)
    return Message(role, _parts(content, f"{where}.content") if role == "user"
                   else text_of_parts(content, f"{where}.content"))


def _messages(value, call):
    called = set()
    call.fields["messages"] = [_message(m, f"messages[{i}]", called)
                               for i, m in enumerate(message_list(value))]


def _stream_options(value, call):
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad("stream_options", "must be an object")
    for key, flag in value.items():
        if key == "include_usage":
            call.include_usage = one_of_bool(flag, "stream_options.include_usage")
        elif key != "include_obfuscation":
            raise unsupported(f"stream_options.{key}")


def _n(value, call):
    if value not in (None, 1):
        raise bad("n", "only n=1 is supported: send one request per completion")


def _max_tokens(name):
    def load(value, call):
        tokens = max_tokens(value, name)
        other = call.fields.get("max_tokens")
        if tokens is not None and other is not None and other != tokens:
            raise bad(name, "max_tokens and max_completion_tokens disagree; send one of them")
        if tokens is not None:
            call.fields["max_tokens"] = tokens
    return load


def _response_format(value, call):
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad("response_format", "must be an object with a type")
    call.fields["response_format"] = response_format(value.get("type"), value.get("json_schema"),
                                                     "response_format")


def _tools(value, call):
    if value is None:
        return
    tools = []
    for at, kind, tool in typed_items(value, "tools", "tools"):
        if kind != "function" or not isinstance(tool.get("function"), dict):
            raise unsupported(at, "only function tools are supported")
        tools.append(function_tool(tool["function"], f"{at}.function"))
    call.fields["tools"] = tools or None


def _tool_choice(value, call):
    call.fields["tool_choice"] = tool_choice(value, "tool_choice",
                                             lambda v: (v.get("function") or {}).get("name"))


def _reasoning_effort(value, call):
    chosen = reasoning.effort(value, "reasoning_effort")
    if chosen is not None:
        call.fields["reasoning"] = reasoning.merged(call.fields.get("reasoning"), effort=chosen)


def _thinking(value, call):
    """Anthropic's `thinking` (an extension here, as LiteLLM takes it): for Claude and Gemini."""
    chosen = reasoning.thinking(value)
    if chosen is not None:
        call.fields["reasoning"] = reasoning.merged(chosen, effort=(call.fields.get("reasoning") or chosen).effort)


FIELDS = Fields({
    "model": load_model,
    "messages": _messages,
    "max_tokens": _max_tokens("max_tokens"),
    "max_completion_tokens": _max_tokens("max_completion_tokens"),
    "temperature": set_field("temperature", lambda v, name: number(v, name, 0, 2)),
    "top_p": set_field("top_p", lambda v, name: number(v, name, 0, 1)),
    "stop": set_field("stop", stop_list),
    "n": _n,
    "stream": load_stream,
    "stream_options": _stream_options,
    "response_format": _response_format,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "reasoning_effort": _reasoning_effort,
    "thinking": _thinking,
}, IGNORED, required=("model", "messages"))


def parse(body):
    """A ChatCall from the request body; a 400 naming the field for anything it cannot honour."""
    call = ChatCall(model="")
    FIELDS.load(body, call)
    return call


def usage_body(usage):
    """OpenAI's usage object from the gateway's usage dict (the row's counts)."""
    prompt, completion = usage.get("inputTokens", 0), usage.get("outputTokens", 0)
    body = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if "cacheReadTokens" in usage:
        body["prompt_tokens_details"] = {"cached_tokens": usage["cacheReadTokens"]}
    if "reasoningTokens" in usage:
        body["completion_tokens_details"] = {"reasoning_tokens": usage["reasoningTokens"]}
    return body


def google_extra(signature):
    return {"google": {"thought_signature": signature}}


def tool_call_body(call):
    body = {"id": call["id"], "type": "function",
            "function": {"name": call["name"], "arguments": arguments_text(call)}}
    if call.get("signature"):
        body["extra_content"] = google_extra(call["signature"])
    return body


def thinking_block(thought):
    if thought.redacted is not None:
        return {"type": "redacted_thinking", "data": thought.redacted}
    return {"type": "thinking", "thinking": thought.text, "signature": thought.signature or ""}


def completion_body(call_id, created, model, completion, usage, tool_calls):
    """OpenAI's chat.completion; `tool_calls` are the API's tool-call dicts (gateway/chat.py). The
    model's reasoning, when the provider shows it, rides as `reasoning_content` (its text) and
    `thinking_blocks` (with the signatures to send back), as LiteLLM and DeepSeek name them."""
    message = {"role": "assistant", "content": completion.content or (None if tool_calls else ""),
               "refusal": None}
    if tool_calls:
        message["tool_calls"] = [tool_call_body(call) for call in tool_calls]
    if completion.thoughts:
        message["reasoning_content"] = "".join(t.text for t in completion.thoughts)
        message["thinking_blocks"] = [thinking_block(t) for t in completion.thoughts]
    return {
        "id": f"chatcmpl-{call_id}", "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": completion.finish_reason or "stop"}],
        "usage": usage_body(usage),
    }


def _frame(text):
    return b"data: " + text.encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def stream_frames(events, call_id, created, model, include_usage):
    """The gateway's stream events as OpenAI's SSE frames: a role chunk, one chunk per text delta,
    the finish chunk, the usage chunk (`choices: []`) when asked for, then `[DONE]`. A failure
    after the start is an `{"error": ...}` frame and the end of the body, as OpenAI does."""
    # Every chunk shares its head: built once, the text of each delta is the only encoding left.
    head = ('{"id":"chatcmpl-%s","object":"chat.completion.chunk","created":%d,"model":%s,"choices":'
            % (call_id, created, json.dumps(model)))
    tail = ',"logprobs":null,"finish_reason":null}]}'
    thoughts = None  # thought index -> its text so far, once the model shows reasoning
    for event in events:
        kind = event["type"]
        if kind == "content_block_delta":
            yield _frame(head + '[{"index":0,"delta":{"content":' + json.dumps(event["delta"]["text"])
                         + "}" + tail)
        elif kind == "tool_call_delta":
            piece = {"index": event["index"]}
            if event.get("id") or event.get("name"):
                piece.update(id=event.get("id") or f"call_{call_id}_{event['index']}", type="function")
                piece["function"] = {"name": event.get("name") or "", "arguments": event["arguments"]}
            else:
                piece["function"] = {"arguments": event["arguments"]}
            if event.get("signature"):
                piece["extra_content"] = google_extra(event["signature"])
            yield _frame(head + '[{"index":0,"delta":{"tool_calls":[' + json.dumps(piece, separators=(",", ":"))
                         + "]}" + tail)
        elif kind == "thinking_delta":
            thoughts = thoughts if thoughts is not None else {}
            yield _frame(head + '[{"index":0,"delta":' + json.dumps(thinking_delta(event, thoughts))
                         + tail)
        elif kind == "message_start":
            yield _frame(head + '[{"index":0,"delta":{"role":"assistant","content":""}' + tail)
        elif kind == "message_stop":
            reason = json.dumps(event.get("finishReason") or "stop")
            yield _frame(head + '[{"index":0,"delta":{},"logprobs":null,"finish_reason":' + reason + "}]}")
            if include_usage:
                yield _frame(head + '[],"usage":' + json.dumps(usage_body(event["usage"]),
                                                              separators=(",", ":")) + "}")
            yield DONE
        elif kind == "error":
            yield _frame(json.dumps({"error": event_error(event["error"])}, separators=(",", ":")))
            return


def thinking_delta(event, thoughts):
    """A piece of reasoning as a chunk's delta: its text as `reasoning_content`; when its signature
    (or redacted data) arrives, the whole block as `thinking_blocks`, as the message would carry it."""
    delta = {"reasoning_content": event["text"]} if event["text"] else {}
    texts = thoughts.setdefault(event["index"], [])
    texts.append(event["text"])
    if event.get("signature") or event.get("redacted") is not None:
        delta["thinking_blocks"] = [thinking_block(Thought("".join(texts), event.get("signature"),
                                                           event.get("redacted")))]
    return delta
