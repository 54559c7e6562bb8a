"""Responses, stateless, pure translation: a /v1/responses body to the gateway's ChatRequest fields,
and a Completion back to OpenAI's response object and its output items (the stream's events are
response_events.py's). Nothing is stored: `store` is honoured as false and `previous_response_id` (which
needs a stored response) is a 400."""
from dataclasses import dataclass, field

from inference_gateway.compat.openai.content import (
    arguments, arguments_text, function_tool, image_part, response_format, tool_choice)
from inference_gateway.compat.wire import (
    Fields, bad, load_model, load_stream, max_tokens, number, one_of_bool, set_field, typed_items, unsupported)
from inference_gateway.compat import reasoning
from inference_gateway.types import ChatRequest, Message, TextPart, Thought, ToolCall

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


def assistant_turn(messages, previous):
    """The assistant message the next output item belongs to: items of one turn (reasoning, the
    message, function calls) arrive as consecutive items."""
    last = messages[-1] if messages else None
    if last is not None and last.role == "assistant" and previous in ("reasoning", "function_call", "message"):
        if not isinstance(last.thoughts, list):
            last.thoughts = list(last.thoughts)
        return last
    messages.append(Message("assistant", "", thoughts=[]))
    return messages[-1]


def _function_call(item, where, messages, previous):
    for key in ("call_id", "name"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise bad(f"{where}.{key}", "must be a non-empty string")
    call = ToolCall(item["call_id"], item["name"], arguments(item.get("arguments"), f"{where}.arguments"))
    turn = assistant_turn(messages, previous)
    reasoning.claim_signature(turn.thoughts, call, previous == "reasoning")
    turn.tool_calls.append(call)


# A redacted thought (Anthropic's redacted_thinking) travels as encrypted_content with this prefix;
# any other encrypted_content is the thought's signature as the provider gave it.
REDACTED = "redacted_thinking:"


def _reasoning_item(item, where, messages, previous):
    texts = []
    for at, kind, part in typed_items(item.get("summary") or [], f"{where}.summary", "summary parts"):
        if kind != "summary_text" or not isinstance(part.get("text"), str):
            raise bad(at, "must be {type: summary_text, text}")
        texts.append(part["text"])
    secret = item.get("encrypted_content")
    if secret is not None and not isinstance(secret, str):
        raise bad(f"{where}.encrypted_content", "must be a string")
    if secret and secret.startswith(REDACTED):
        thought = Thought(redacted=secret[len(REDACTED):])
    else:
        thought = Thought("".join(texts), secret or None)
    assistant_turn(messages, previous).thoughts.append(thought)


def _input(value, call):
    if isinstance(value, str):
        call.fields["messages"] = [Message("user", value)]
        return
    if not isinstance(value, list) or not value:
        raise bad("input", "must be a string or a non-empty list of items")
    messages, called, previous = [], set(), None
    for i, item in enumerate(value):
        where = f"input[{i}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message":
            role = ROLES.get(item.get("role"))
            if role is None:
                raise bad(f"{where}.role", "must be user, assistant, system or developer")
            content = _content(item.get("content"), f"{where}.content", role)
            last = messages[-1] if messages else None
            if role == "assistant" and previous == "reasoning" and not last.content and not last.tool_calls:
                last.content = content  # the message its reasoning items came before
            else:
                messages.append(Message(role, content))
        elif kind == "function_call":
            _function_call(item, where, messages, previous)
            called.add(item["call_id"])
        elif kind == "reasoning":
            _reasoning_item(item, where, messages, previous)
        elif kind == "function_call_output":
            if item.get("call_id") not in called:
                raise bad(f"{where}.call_id", "answers no function_call earlier in the input")
            messages.append(Message("tool", _content(item.get("output"), f"{where}.output", "tool"),
                                    tool_call_id=item["call_id"]))
        elif kind == "item_reference":
            raise unsupported(f"{where}.type", "this gateway stores no items: send them in full")
        else:
            raise unsupported(f"{where}.type", f"'{kind}' items are not supported")
        previous = kind
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
    """{effort?, summary? (or the deprecated generate_summary)}: forwarded to each provider as its own
    setting (gateway/README's field table); `context` and `mode` have no equivalent."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad("reasoning", "must be an object")
    for key in value:
        if key not in ("effort", "summary", "generate_summary"):
            raise unsupported(f"reasoning.{key}")
    summary = value.get("summary", value.get("generate_summary"))
    if summary is not None and summary not in reasoning.SUMMARIES:
        raise bad("reasoning.summary", "must be one of: " + ", ".join(reasoning.SUMMARIES))
    chosen = reasoning.effort(value.get("effort"), "reasoning.effort")
    if chosen is not None or summary is not None:
        call.fields["reasoning"] = reasoning.merged(None, effort=chosen, summary=summary)
        call.echo["reasoning"] = {"effort": chosen, "summary": summary}


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
        **({"reasoning": echo["reasoning"]} if "reasoning" in echo else {}),
    }


def text_part(text):
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id, text, status="completed"):
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [text_part(text)] if text is not None else []}


def call_item(item_id, call_id, name, args, status="completed"):
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
            "arguments": args, "status": status}


def reasoning_item(item_id, thought, status="completed"):
    """A Thought as a reasoning item: its text as the summary, its signature (or redacted data,
    prefixed) as encrypted_content, which a client sends back in `input` on the next turn."""
    if thought.redacted is not None:
        secret, summary = REDACTED + thought.redacted, []
    else:
        secret = thought.signature
        summary = [{"type": "summary_text", "text": thought.text}] if thought.text else []
    return {"type": "reasoning", "id": item_id, "summary": summary, "encrypted_content": secret,
            "status": status}


def output_items(call_id, completion, tool_calls):
    items = [reasoning_item(f"rs_{call_id}_{i}", t) for i, t in enumerate(completion.thoughts)]
    if completion.content or not tool_calls:
        items.append(message_item(f"msg_{call_id}", completion.content))
    for i, c in enumerate(tool_calls):
        if c.get("signature"):
            items.append(reasoning_item(f"rs_{call_id}_fc{i}", Thought("", c["signature"])))
        items.append(call_item(f"fc_{call_id}_{i}", c["id"], c["name"], arguments_text(c)))
    return items
