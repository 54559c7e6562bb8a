"""Reading a compatible surface's JSON body, field by field: each known field has a loader, the
fields that only tune delivery are accepted and dropped, and anything else is a 400 naming it.

Written out rather than as marshmallow schemas: these bodies are polymorphic (a content is a string
or a list of typed parts), and a generic load was a twentieth of a chat call's CPU (see
api/fast_chat.py); one pass here both validates and builds the neutral request."""
import math

from inference_gateway import errors

MAX_TOKENS = 1_000_000
MAX_STOP = 4
MODEL_MAX = 300


def bad(param, message):
    """A 400 about one request field, which the surfaces report as the error's `param`."""
    return errors.BadRequest(f"{param}: {message}", details={param: [message]})


def unsupported(param, why=None):
    message = why or "is not supported by this gateway (no provider-neutral equivalent)"
    return errors.Unsupported(f"{param}: {message}", details={param: [message]})


class Fields:
    """Loaders by field name, plus the names accepted and ignored."""

    def __init__(self, loaders, ignored=(), required=()):
        self.loaders = loaders
        self.ignored = frozenset(ignored)
        self.required = required

    def load(self, body, target):
        for name, value in body.items():
            loader = self.loaders.get(name)
            if loader is not None:
                loader(value, target)
            elif name not in self.ignored:
                raise unsupported(name)
        for name in self.required:
            if body.get(name) is None:
                raise bad(name, "is required")
        return target

    def parse(self, body):
        """The loaded fields as a dict (loaders store into it by name)."""
        return self.load(body, {})


def one_of_bool(value, name):
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(name, "must be true or false")
    return value


def number(value, name, low, high):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise bad(name, f"must be a number from {low} to {high}")
    return float(value)


def max_tokens(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS:
        raise bad(name, f"must be an integer from 1 to {MAX_TOKENS}")
    return value


def stop_list(value, name):
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and len(value) <= MAX_STOP and all(isinstance(v, str) for v in value):
        return value or None
    raise bad(name, f"must be a string or a list of at most {MAX_STOP} strings")


def model_id(value, name="model"):
    if not isinstance(value, str) or not value.strip() or len(value) > MODEL_MAX:
        raise bad(name, f"must be a model id of 1-{MODEL_MAX} characters")
    return value


def typed_items(value, where, what):
    """(path, type, item) for each object of a list of typed objects (content parts, blocks,
    tools); a 400 naming `where` when it is not a list."""
    if not isinstance(value, list):
        raise bad(where, f"must be a list of {what}")
    for i, item in enumerate(value):
        yield f"{where}[{i}]", (item.get("type") if isinstance(item, dict) else None), item


def text_of_parts(content, where, allow_null=False):
    """A message content as text: a string, or a list of text parts joined."""
    if isinstance(content, str):
        return content
    if content is None and allow_null:
        return ""
    if not isinstance(content, list):
        raise bad(where, "must be a string or a list of content parts")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise bad(f"{where}[{i}]", "must be an object with a 'type'")
        if part["type"] != "text":
            raise unsupported(f"{where}[{i}].type", f"'{part['type']}' parts are not supported yet")
        if not isinstance(part.get("text"), str):
            raise bad(f"{where}[{i}].text", "must be a string")
        texts.append(part["text"])
    return "".join(texts)


# Loaders shared by the chat surfaces, for a call object with `model`, `fields` and `stream`.
def set_field(name, check):
    """A loader that stores `check(value, name)` as the ChatRequest field `name` (None: absent)."""
    def load(value, call):
        loaded = check(value, name)
        if loaded is not None:
            call.fields[name] = loaded
    return load


def load_model(value, call):
    call.model = model_id(value)


def load_stream(value, call):
    call.stream = one_of_bool(value, "stream")


def message_list(value):
    if not isinstance(value, list) or not value:
        raise bad("messages", "must be a non-empty list of messages")
    return value
