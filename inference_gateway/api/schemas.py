"""Marshmallow input schemas (unknown fields are rejected) for the API's request bodies."""
import math

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from inference_gateway.providers import PROVIDER_TYPES, TYPE_ALIASES
from inference_gateway.web.strict import StrictSchema

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"


class ProviderSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(
        NAME_PATTERN, error="must be 1-64 characters of a-z, 0-9, '.', '_' or '-', "
                            "starting with a letter or digit"))
    type = fields.String(required=True, validate=validate.OneOf(
        sorted(PROVIDER_TYPES), error="must be one of: {choices}"))
    default_model = fields.String(data_key="defaultModel", allow_none=True,
                                  validate=validate.Length(min=1, max=200))
    env_var = fields.String(data_key="envVar", allow_none=True, validate=validate.Regexp(
        ENV_VAR_PATTERN, error="must be an environment variable name like OPENAI_API_KEY "
                               "(A-Z, 0-9, _; not starting with a digit)"))
    base_url = fields.String(data_key="baseUrl", allow_none=True, validate=[
        validate.Length(max=500),
        validate.URL(schemes={"http", "https"}, require_tld=False,
                     error="must be an http:// or https:// URL")])

    @pre_load
    def _aliases(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            kind = data["type"].strip().lower()
            data = {**data, "type": TYPE_ALIASES.get(kind, kind)}
        return data

    @validates_schema
    def _per_type(self, data, partial=None, **kwargs):
        if partial:
            return
        kind = data.get("type")
        if kind == "openai-compatible":
            if not data.get("base_url"):
                raise ValidationError("is required for openai-compatible providers", "baseUrl")
        elif kind in PROVIDER_TYPES and not data.get("env_var"):
            raise ValidationError(
                f"is required for {kind} providers: name the environment variable holding the key",
                "envVar")


provider_schema = ProviderSchema()


class StringOrList(fields.Field):
    """A string or a list of strings, loaded as a list (e.g. `stop`)."""

    default_error_messages = {"invalid": "must be a string or a list of strings"}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise self.make_error("invalid")


ROLES = ("system", "user", "assistant")
# Bounds of the chat body, shared by ChatSchema and its fast path below.
MODEL_MAX, PROVIDER_ID_MAX, MAX_TOKENS_MAX, STOP_MAX = 300, 64, 1_000_000, 4
NUMBER_MAX = {"temperature": 2, "topP": 1}


class MessageSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="must be one of: {choices}"))
    content = fields.String(required=True)


class ChatSchema(StrictSchema):
    model = fields.String(validate=validate.Length(min=1, max=MODEL_MAX))
    provider_id = fields.String(data_key="providerId", validate=validate.Length(min=1, max=PROVIDER_ID_MAX))
    messages = fields.List(fields.Nested(MessageSchema), required=True,
                           validate=validate.Length(min=1, error="must contain at least one message"))
    max_tokens = fields.Integer(data_key="maxTokens", strict=True, allow_none=True,
                                validate=validate.Range(min=1, max=MAX_TOKENS_MAX))
    temperature = fields.Float(allow_none=True, validate=validate.Range(min=0, max=NUMBER_MAX["temperature"]))
    top_p = fields.Float(data_key="topP", allow_none=True, validate=validate.Range(min=0, max=NUMBER_MAX["topP"]))
    stop = StringOrList(allow_none=True, validate=validate.Length(
        max=STOP_MAX, error=f"must have at most {STOP_MAX} stop sequences"))
    system = fields.String(allow_none=True)


chat_schema = ChatSchema()

# The body's keys -> the names load() gives them, and the keys that may be null: read off the schema.
_CHAT_KEYS = {field.data_key or name: name for name, field in chat_schema.fields.items()}
_NULLABLE = frozenset(field.data_key or name for name, field in chat_schema.fields.items() if field.allow_none)
_ROLES = frozenset(ROLES)
_MESSAGE_KEYS = frozenset(MessageSchema._declared_fields)


def _plain_chat(body):
    """ChatSchema.load's result for a body that plainly passes every one of its rules, else None.

    Every chat call is validated, and marshmallow's generic load was a twentieth of a call's CPU.
    This accepts only values whose type is exactly the one the schema wants; anything else,
    valid or not, goes through ChatSchema, which stays the one place that words the errors (a
    test feeds both the same bodies)."""
    data = {}
    for key, value in body.items():
        name = _CHAT_KEYS.get(key)
        if name is None:
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
    data = _plain_chat(body) if type(body) is dict else None
    return data if data is not None else chat_schema.load(body)


MAX_EMBED_INPUTS = 2048  # OpenAI's limit per request; Gemini's batch takes fewer and says so


class EmbedInput(fields.Field):
    """`input`: a string or a list of 1-2048 strings, none empty; loaded as a list."""

    default_error_messages = {
        "invalid": "must be a string or a list of strings",
        "empty": "must not be empty",
        "too_many": f"must have at most {MAX_EMBED_INPUTS} items",
        "empty_item": "item {index} is empty: every input must have some text",
        "not_string": "item {index} is not a string",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise self.make_error("invalid")
        if not items or items == [""]:
            raise self.make_error("empty")
        if len(items) > MAX_EMBED_INPUTS:
            raise self.make_error("too_many")
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise self.make_error("not_string", index=index)
            if not item:
                raise self.make_error("empty_item", index=index)
        return items


class MediaSchema(StrictSchema):
    """What every non-chat operation takes to pick a provider."""

    model = fields.String(validate=validate.Length(min=1, max=300))
    provider_id = fields.String(data_key="providerId", validate=validate.Length(min=1, max=64))


class EmbedSchema(MediaSchema):
    input = EmbedInput(required=True)
    dimensions = fields.Integer(strict=True, allow_none=True,
                                validate=validate.Range(min=1, max=65536))


embed_schema = EmbedSchema()

# `auto`, WIDTHxHEIGHT (OpenAI) or an aspect ratio W:H (Gemini); which ones a model takes is the
# adapter's check, made before anything is sent.
IMAGE_SIZE_PATTERN = r"^(auto|[1-9]\d{0,4}x[1-9]\d{0,4}|[1-9]\d?:[1-9]\d?)$"
IMAGE_QUALITIES = ["auto", "low", "medium", "high", "standard", "hd"]


class ImageSchema(MediaSchema):
    prompt = fields.String(required=True, validate=validate.Length(
        min=1, max=32000, error="must be 1-32000 characters"))
    size = fields.String(allow_none=True, validate=validate.Regexp(
        IMAGE_SIZE_PATTERN, error="must be auto, WIDTHxHEIGHT (1024x1024) or an aspect ratio (16:9)"))
    n = fields.Integer(strict=True, allow_none=True, validate=validate.Range(
        min=1, max=10, error="must be between 1 and 10"))
    quality = fields.String(allow_none=True, validate=validate.OneOf(
        IMAGE_QUALITIES, error="must be one of: {choices}"))


image_schema = ImageSchema()


class TranscribeSchema(MediaSchema):
    # Base64 in JSON bodies; multipart bodies send the bytes as the `file` part instead.
    audio = fields.String(required=True)
    language = fields.String(allow_none=True, validate=validate.Regexp(
        r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})?$",
        error="must be a language code such as en, de or pt-BR (ISO-639-1)"))
    prompt = fields.String(allow_none=True, validate=validate.Length(max=10000))
    filename = fields.String(allow_none=True, validate=validate.Length(min=1, max=255))


transcribe_schema = TranscribeSchema()
transcribe_form_schema = TranscribeSchema(exclude=("audio",))
