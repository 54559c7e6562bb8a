"""The chat body's fast path: a plainly valid body validated without marshmallow (bench/README.md).

Every chat call is validated, and ChatSchema's generic load cost 27-162 us a body where this
costs 2 (bench/fast_paths.py). It accepts only values whose type is exactly the one the schema
wants, with the field names, nullable fields and bounds read off ChatSchema; anything else, valid
or not, goes through ChatSchema, which stays the one place that words the errors.
tests/test_chat_validation.py feeds both thousands of random bodies and requires the same result."""
import math

from inference_gateway.api.schemas import (MAX_TOKENS_MAX, MODEL_MAX, NUMBER_MAX, PROVIDER_ID_MAX, STOP_MAX,
                                           chat_schema)

# The body's keys -> the names load() gives them, and the keys that may be null: read off the schema.
_CHAT_KEYS = {field.data_key or name: name for name, field in chat_schema.fields.items()}
_NULLABLE = frozenset(field.data_key or name for name, field in chat_schema.fields.items() if field.allow_none)
# The fast path takes plain text turns only; tool turns and the rich fields go through ChatSchema.
_ROLES = frozenset(("system", "user", "assistant"))
_MESSAGE_KEYS = frozenset(("role", "content"))
_RICH_KEYS = frozenset(("tools", "toolChoice", "responseFormat", "reasoning"))


def plain_chat(body):
    """ChatSchema.load's result for a body that plainly passes every one of its rules, else None."""
    data = {}
    for key, value in body.items():
        name = _CHAT_KEYS.get(key)
        if name is None or key in _RICH_KEYS:
            return None
        if value is None and key not in _NULLABLE:
            return None
        if key == "messages":
            if type(value) is not list or not value:
                return None
            for message in value:
                if (type(message) is not dict or message.keys() != _MESSAGE_KEYS
                        or message["role"] not in _ROLES or type(message["content"]) is not str):
                    return None
            value = [{"role": m["role"], "content": m["content"]} for m in value]
        elif value is None:
            pass
        elif key == "model":
            if type(value) is not str or not 1 <= len(value) <= MODEL_MAX:
                return None
        elif key == "providerId":
            if type(value) is not str or not 1 <= len(value) <= PROVIDER_ID_MAX:
                return None
        elif key == "maxTokens":
            if type(value) is not int or not 1 <= value <= MAX_TOKENS_MAX:
                return None
        elif key in NUMBER_MAX:
            if type(value) not in (int, float) or not math.isfinite(value) or not 0 <= value <= NUMBER_MAX[key]:
                return None
            value = float(value)
        elif key == "stop":
            if type(value) is str:
                value = [value]
            elif type(value) is not list or len(value) > STOP_MAX or any(type(v) is not str for v in value):
                return None
        elif type(value) is not str:  # system
            return None
        data[name] = value
    return data if "messages" in data else None


def load_chat(body):
    """The validated chat body (ChatSchema's names and types); raises its ValidationError."""
    data = plain_chat(body) if type(body) is dict else None
    return data if data is not None else chat_schema.load(body)
