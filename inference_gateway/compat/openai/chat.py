"""Chat completions, pure translation: an OpenAI request body to the gateway's ChatRequest fields,
and a Completion or the gateway's stream events back to OpenAI's reply and chunks."""
import json
from dataclasses import dataclass, field

from inference_gateway.compat.openai.errors import event_error
from inference_gateway.compat.wire import (
    Fields, bad, load_model, load_stream, max_tokens, message_list, number, one_of_bool, set_field, stop_list,
    text_of_parts, unsupported)
from inference_gateway.types import ChatRequest, Message

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
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


def _messages(value, call):
    out = []
    for i, message in enumerate(message_list(value)):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad(where, "must be an object with 'role' and 'content'")
        role = message.get("role")
        if role not in ROLES:
            raise unsupported(f"{where}.role", f"role '{role}' is not supported here; use one of: "
                              + ", ".join(ROLES))
        for key in message:
            if key not in ("role", "content", "name", "refusal"):
                raise unsupported(f"{where}.{key}")
        out.append(Message(ROLES[role], text_of_parts(message.get("content"), f"{where}.content",
                                                      allow_null=role == "assistant")))
    call.fields["messages"] = out


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
    if value is None or value == {"type": "text"}:
        return
    raise unsupported("response_format", "only {\"type\": \"text\"} is supported yet")


def _tools(value, call):
    if value not in (None, []):
        raise unsupported("tools", "tool calling is not supported yet")


def _tool_choice(value, call):
    if value not in (None, "none", "auto"):
        raise unsupported("tool_choice", "tool calling is not supported yet")


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
}, IGNORED, required=("model", "messages"))


def parse(body):
    """A ChatCall from the request body; a 400 naming the field for anything it cannot honour."""
    call = ChatCall(model="")
    FIELDS.load(body, call)
    return call


def usage_body(usage):
    """OpenAI's usage object from the gateway's usage dict (the row's counts)."""
    prompt, completion = usage.get("inputTokens", 0), usage.get("outputTokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def completion_body(call_id, created, model, completion, usage):
    return {
        "id": f"chatcmpl-{call_id}", "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": completion.content,
                                             "refusal": None},
                     "logprobs": None, "finish_reason": completion.finish_reason or "stop"}],
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
    for event in events:
        kind = event["type"]
        if kind == "content_block_delta":
            yield _frame(head + '[{"index":0,"delta":{"content":' + json.dumps(event["delta"]["text"])
                         + "}" + tail)
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
