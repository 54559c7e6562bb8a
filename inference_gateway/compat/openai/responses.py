"""Responses, stateless, pure translation: a /v1/responses body to the gateway's ChatRequest fields,
and a Completion or the gateway's stream events back to OpenAI's response object and its typed,
numbered events. Nothing is stored: `store` is honoured as false and `previous_response_id` (which
needs a stored response) is a 400."""
import json
from dataclasses import dataclass, field

from inference_gateway.compat.openai.content import (
    arguments, arguments_text, function_tool, image_part, response_format, tool_choice)
from inference_gateway.compat.openai.errors import event_error
from inference_gateway.compat.wire import (
    Fields, bad, load_model, load_stream, max_tokens, number, one_of_bool, set_field, typed_items, unsupported)
from inference_gateway.types import ChatRequest, Message, TextPart, ToolCall

ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
TEXT_PARTS = ("input_text", "output_text")
# Accepted and not forwarded: they tune delivery or bookkeeping (README). `include` asks for extra
# output (encrypted reasoning, logprobs) that no provider-neutral answer has.
IGNORED = frozenset({"user", "metadata", "service_tier", "parallel_tool_calls", "truncation",
                     "safety_identifier", "prompt_cache_key", "include", "stream_options"})
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


@dataclass
class ResponsesCall:
    model: str = ""
    fields: dict = field(default_factory=dict)
    stream: bool = False
    # What the response object repeats of the request.
    echo: dict = field(default_factory=dict)

    def request(self, model):
        return ChatRequest(model=model, **self.fields)


def _content(content, where, role):
    if isinstance(content, str):
        return content
    parts = []
    for at, kind, part in typed_items(content, where, "content parts"):
        if kind in TEXT_PARTS or kind == "refusal":
            text = part.get("text", part.get("refusal"))
            if not isinstance(text, str):
                raise bad(f"{at}.text", "must be a string")
            parts.append(TextPart(text))
        elif kind == "input_image" and role == "user":
            parts.append(image_part(part.get("image_url"), f"{at}.image_url"))
        else:
            raise unsupported(f"{at}.type", f"'{kind}' parts are not supported here")
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts)
    return parts


def _function_call(item, where, messages):
    for key in ("call_id", "name"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise bad(f"{where}.{key}", "must be a non-empty string")
    call = ToolCall(item["call_id"], item["name"], arguments(item.get("arguments"), f"{where}.arguments"))
    last = messages[-1] if messages else None
    if last is not None and last.role == "assistant":
        last.tool_calls.append(call)  # calls of one turn arrive as consecutive items
    else:
        messages.append(Message("assistant", "", [call]))


def _input(value, call):
    if isinstance(value, str):
        call.fields["messages"] = [Message("user", value)]
        return
    if not isinstance(value, list) or not value:
        raise bad("input", "must be a string or a non-empty list of items")
    messages, called = [], set()
    for i, item in enumerate(value):
        where = f"input[{i}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message":
            role = ROLES.get(item.get("role"))
            if role is None:
                raise bad(f"{where}.role", "must be user, assistant, system or developer")
            messages.append(Message(role, _content(item.get("content"), f"{where}.content", role)))
        elif kind == "function_call":
            _function_call(item, where, messages)
            called.add(item["call_id"])
        elif kind == "function_call_output":
            if item.get("call_id") not in called:
                raise bad(f"{where}.call_id", "answers no function_call earlier in the input")
            messages.append(Message("tool", _content(item.get("output"), f"{where}.output", "tool"),
                                    tool_call_id=item["call_id"]))
        elif kind == "item_reference":
            raise unsupported(f"{where}.type", "this gateway stores no items: send them in full")
        else:
            raise unsupported(f"{where}.type", f"'{kind}' items are not supported")
    call.fields["messages"] = messages


def _instructions(value, call):
    if value is not None and not isinstance(value, str):
        raise bad("instructions", "must be a string")
    call.fields["system"] = value or None
    call.echo["instructions"] = value


def _tools(value, call):
    if value is None:
        return
    tools = []
    for at, kind, tool in typed_items(value, "tools", "tools"):
        if kind != "function":
            raise unsupported(f"{at}.type", "only function tools are supported")
        tools.append(function_tool(tool, at))
    call.fields["tools"] = tools or None
    call.echo["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                           "parameters": t.parameters, "strict": value[i].get("strict")}
                          for i, t in enumerate(tools)]


def _tool_choice(value, call):
    call.fields["tool_choice"] = tool_choice(value, "tool_choice", lambda v: v.get("name"))
    call.echo["tool_choice"] = value if value is not None else "auto"


def _text(value, call):
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad("text", "must be an object")
    for key in value:
        if key not in ("format", "verbosity"):
            raise unsupported(f"text.{key}")
    fmt = value.get("format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            raise bad("text.format", "must be an object with a type")
        call.fields["response_format"] = response_format(fmt.get("type"), fmt, "text.format")
        call.echo["text"] = {"format": fmt}


def _store(value, call):
    one_of_bool(value, "store")  # honoured as false: nothing is ever stored


def _previous(value, call):
    if value is not None:
        raise bad("previous_response_id", "this gateway is stateless and keeps no responses: send "
                                          "the whole conversation in `input` (with store: false)")


def _reasoning(value, call):
    if value not in (None, {}):
        raise unsupported("reasoning", "reasoning settings have no provider-neutral equivalent")


def _echoed(name, check):
    store = set_field(name, check)

    def load(value, call):
        store(value, call)
        call.echo[name] = value
    return load


FIELDS = Fields({
    "model": load_model,
    "input": _input,
    "instructions": _instructions,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "text": _text,
    "max_output_tokens": _echoed("max_tokens", lambda v, name: max_tokens(v, "max_output_tokens")),
    "temperature": _echoed("temperature", lambda v, name: number(v, name, 0, 2)),
    "top_p": _echoed("top_p", lambda v, name: number(v, name, 0, 1)),
    "stream": load_stream,
    "store": _store,
    "previous_response_id": _previous,
    "reasoning": _reasoning,
}, IGNORED, required=("model", "input"))


def parse(body):
    return FIELDS.load(body, ResponsesCall())


# -- the response object ------------------------------------------------------------------------
def usage_body(usage):
    read = usage.get("cacheReadTokens", 0)
    prompt, completion = usage.get("inputTokens", 0), usage.get("outputTokens", 0)
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": read, "cache_write_tokens": usage.get("cacheWriteTokens", 0)},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": usage.get("reasoningTokens", 0)},
            "total_tokens": prompt + completion}


def response_body(response_id, created, model, call, status, output=(), usage=None, finish=None,
                  error=None):
    echo = call.echo
    reason = INCOMPLETE.get(finish)
    if status == "completed" and reason:
        status = "incomplete"
    return {
        "id": response_id, "object": "response", "created_at": created, "status": status,
        "error": error, "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        "instructions": echo.get("instructions"), "max_output_tokens": echo.get("max_output_tokens"),
        "model": model, "output": list(output), "parallel_tool_calls": True,
        "previous_response_id": None, "store": False,
        "temperature": echo.get("temperature"), "top_p": echo.get("top_p"),
        "text": echo.get("text", {"format": {"type": "text"}}),
        "tool_choice": echo.get("tool_choice", "auto"), "tools": echo.get("tools", []),
        "metadata": {}, **({"usage": usage_body(usage)} if usage is not None else {}),
    }


def text_part(text):
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id, text, status="completed"):
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [text_part(text)] if text is not None else []}


def call_item(item_id, call_id, name, args, status="completed"):
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
            "arguments": args, "status": status}


def output_items(call_id, completion, tool_calls):
    items = [message_item(f"msg_{call_id}", completion.content)] if completion.content or not tool_calls else []
    items += [call_item(f"fc_{call_id}_{i}", c["id"], c["name"], arguments_text(c))
              for i, c in enumerate(tool_calls)]
    return items


# -- the stream ---------------------------------------------------------------------------------
class ResponseEvents:
    """The gateway's stream events as the Responses API's typed events, numbered from 0."""

    def __init__(self, call_id, created, model, call):
        self.call_id, self.created, self.model, self.call = call_id, created, model, call
        self.seq = 0
        self.output = []  # finished items
        self.open = None  # ("text", item, texts) or ("tool", item, pieces, tool index)

    def frame(self, kind, **data):
        data = {"type": kind, **data, "sequence_number": self.seq}
        self.seq += 1
        return (b"event: " + kind.encode() + b"\ndata: "
                + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n")

    def response(self, status, usage=None, finish=None, error=None):
        return response_body(f"resp_{self.call_id}", self.created, self.model, self.call, status,
                             self.output, usage, finish, error)

    def close_open(self):
        if self.open is None:
            return
        kind, item, pieces = self.open[:3]
        index = len(self.output)
        if kind == "text":
            text = "".join(pieces)
            item = message_item(item["id"], text)
            yield self.frame("response.output_text.done", item_id=item["id"], output_index=index,
                             content_index=0, text=text, logprobs=[])
            yield self.frame("response.content_part.done", item_id=item["id"], output_index=index,
                             content_index=0, part=text_part(text))
        else:
            args = "".join(pieces)
            item = {**item, "arguments": args, "status": "completed"}
            yield self.frame("response.function_call_arguments.done", item_id=item["id"],
                             output_index=index, name=item["name"], arguments=args)
        yield self.frame("response.output_item.done", output_index=index, item=item)
        self.output.append(item)
        self.open = None

    def text(self, delta):
        if self.open is None or self.open[0] != "text":
            yield from self.close_open()
            item = message_item(f"msg_{self.call_id}_{len(self.output)}", None, "in_progress")
            self.open = ("text", item, [])
            index = len(self.output)
            yield self.frame("response.output_item.added", output_index=index, item=item)
            yield self.frame("response.content_part.added", item_id=item["id"], output_index=index,
                             content_index=0, part=text_part(""))
        self.open[2].append(delta)
        yield self.frame("response.output_text.delta", item_id=self.open[1]["id"],
                         output_index=len(self.output), content_index=0, delta=delta, logprobs=[])

    def tool(self, event):
        if self.open is None or self.open[0] != "tool" or self.open[3] != event["index"]:
            yield from self.close_open()
            item = call_item(f"fc_{self.call_id}_{len(self.output)}",
                             event.get("id") or f"call_{self.call_id}_{event['index']}",
                             event.get("name") or "", "", "in_progress")
            self.open = ("tool", item, [], event["index"])
            yield self.frame("response.output_item.added", output_index=len(self.output), item=item)
        if event.get("arguments"):
            self.open[2].append(event["arguments"])
            yield self.frame("response.function_call_arguments.delta", item_id=self.open[1]["id"],
                             output_index=len(self.output), delta=event["arguments"])

    def frames(self, events):
        for event in events:
            kind = event["type"]
            if kind == "content_block_delta":
                yield from self.text(event["delta"]["text"])
            elif kind == "tool_call_delta":
                yield from self.tool(event)
            elif kind == "message_start":
                yield self.frame("response.created", response=self.response("in_progress"))
                yield self.frame("response.in_progress", response=self.response("in_progress"))
            elif kind == "message_stop":
                yield from self.close_open()
                body = self.response("completed", event["usage"], event.get("finishReason"))
                yield self.frame(f"response.{body['status']}", response=body)
            elif kind == "error":
                yield from self.close_open()
                error = event_error(event["error"])
                yield self.frame("response.failed", response=self.response(
                    "failed", error={"code": error["code"], "message": error["message"]}))
                return
