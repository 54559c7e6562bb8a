"""Small helpers the wire-format modules share: pure functions of data, no I/O."""
import json

from inference_gateway import errors, fast_json
from inference_gateway.types import ImagePart, TextPart, ToolCall


def role_and_content(message):
    """(role, content) of a Message dataclass or a plain dict."""
    if isinstance(message, dict):
        return message.get("role"), message.get("content") or ""
    return message.role, message.content or ""


def text_of(content):
    """A message's content as one string (text parts joined; a string stays as it is)."""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content if isinstance(part, TextPart))


def parts_of(content):
    """A message's content as a list of parts (a string becomes one TextPart)."""
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    return list(content)


def has_images(content):
    return not isinstance(content, str) and any(isinstance(part, ImagePart) for part in content)


def system_texts(req):
    """The request's system prompt followed by its system-role messages, as a list of strings."""
    texts = [req.system] if req.system else []
    for message in req.messages:
        role, content = role_and_content(message)
        if role in ("system", "developer") and content:
            texts.append(text_of(content))
    return texts


def stream_cut(name, what):
    exc = errors.UpstreamError(f"provider '{name}' ended the stream early ({what}); the reply is incomplete")
    exc.retry_kind = "connection"
    return exc


def stream_failed(name, failure):
    """An error that arrives inside a stream after a 200 (`failure` from the format's parse_error):
    the provider's own failure (overloaded, internal) unless its format says retrying cannot help."""
    exc = errors.UpstreamError(f"provider '{name}' failed mid-stream: {failure.message}")
    if failure.retryable is not False:
        exc.retry_kind = "5xx"
    return exc


def event_json(event, name):
    """One SSE data payload, decoded."""
    try:
        return fast_json.loads(event.data)
    except ValueError as exc:
        raise errors.UpstreamError(
            f"provider '{name}' sent a stream event that is not valid JSON") from exc


def unsupported(name, feature):
    """A feature a provider type cannot carry: refused before anything is sent, never dropped."""
    return errors.Unsupported(f"provider '{name}' does not support {feature}")


def tool_call(call_id, name, text, signature=None):
    """A ToolCall from its argument text ("" is no arguments); text that is not a JSON object is
    kept as `raw_arguments` beside empty arguments rather than failing the whole answer."""
    if not text or not text.strip():
        return ToolCall(call_id, name, {}, signature)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return ToolCall(call_id, name, {}, signature, raw_arguments=text)
    return ToolCall(call_id, name, value, signature)


class ToolCallBuffer:
    """Assembles streamed tool-call pieces (by index) into ToolCalls, in index order."""

    def __init__(self):
        self.calls = {}

    def add(self, delta):
        call = self.calls.setdefault(delta.index, {"id": None, "name": None, "arguments": [],
                                                   "signature": None})
        for key in ("id", "name", "signature"):
            value = getattr(delta, key)
            if value:
                call[key] = value
        if delta.arguments:
            call["arguments"].append(delta.arguments)

    def __bool__(self):
        return bool(self.calls)

    def result(self):
        return [tool_call(call["id"] or f"call_{index}", call["name"] or "", "".join(call["arguments"]),
                          call["signature"])
                for index, call in sorted(self.calls.items())]


def header(headers, name):
    """A response header by name, from requests' case-insensitive headers or a plain dict."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = {k.lower(): v for k, v in headers.items()}.get(name.lower())
    return value


def text_field(item, key):
    """`item[key]` when `item` is an object and that is a non-empty string, else None: a listed
    model's id or name as the provider sent it, whatever else it sent."""
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) and value else None


def int_or_zero(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
