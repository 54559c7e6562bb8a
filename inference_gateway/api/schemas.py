"""Marshmallow input schemas (unknown fields are rejected) for the API's request bodies."""
import base64
import binascii

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from inference_gateway.gateway import model_sync
from inference_gateway.gateway.routing import RETRY_KINDS, STRATEGIES as ROUTE_STRATEGIES
from inference_gateway.providers import PROVIDER_TYPES, TYPE_ALIASES
from inference_gateway.types import EFFORTS, MIN_BUDGET
from inference_gateway.web.strict import StrictSchema

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"


class WholeRegexp(validate.Regexp):
    """Regexp matched against the whole value: Python's `$` also matches before a trailing newline
    ("GATEWAY_API_KEYS\n" got through). The pattern stays as it is for the OpenAPI document,
    where `$` means the end."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def plain_base_url(value):
    # The adapter appends paths ("/chat/completions") to the baseUrl: after a '?' or '#' they
    # would land in a query string or fragment and reach another path than intended.
    if "?" in value or "#" in value:
        raise ValidationError("must not contain a query string or fragment ('?' or '#')")


class ProviderSchema(StrictSchema):
    name = fields.String(required=True, validate=WholeRegexp(
        NAME_PATTERN, error="must be 1-64 characters of a-z, 0-9, '.', '_' or '-', "
                            "starting with a letter or digit"))
    type = fields.String(required=True, validate=validate.OneOf(
        sorted(PROVIDER_TYPES), error="must be one of: {choices}"))
    default_model = fields.String(data_key="defaultModel", allow_none=True,
                                  validate=validate.Length(min=1, max=200))
    env_var = fields.String(data_key="envVar", allow_none=True, validate=WholeRegexp(
        ENV_VAR_PATTERN, error="must be an environment variable name like OPENAI_API_KEY "
                               "(A-Z, 0-9, _; not starting with a digit)"))
    base_url = fields.String(data_key="baseUrl", allow_none=True, validate=[
        validate.Length(max=500),
        validate.URL(schemes={"http", "https"}, require_tld=False,
                     error="must be an http:// or https:// URL"),
        plain_base_url])

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
    openapi = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise self.make_error("invalid")


ROLES = ("system", "user", "assistant", "tool")
# Bounds of the chat body, shared by ChatSchema and its fast path (api/fast_chat.py).
MODEL_MAX, PROVIDER_ID_MAX, MAX_TOKENS_MAX, STOP_MAX = 300, 64, 1_000_000, 4
NUMBER_MAX = {"temperature": 2, "topP": 1}
# What every provider takes for a tool or schema name (OpenAI's and Anthropic's rule; Gemini's is wider).
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TOOL_NAME_ERROR = "must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'"
MAX_TOOLS = 128  # OpenAI's limit per request
IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
# Decoded bytes per inline image: OpenAI's and Gemini's per-request ceiling; Anthropic takes 5 MB
# and says so itself.
IMAGE_MAX_BYTES = 20 * 1024 * 1024
URL_MAX = 4096


class CacheControlSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["ephemeral"], error="must be one of: {choices}"))
    ttl = fields.String(validate=validate.OneOf(["5m", "1h"], error="must be one of: {choices}"))


class TextPartSchema(StrictSchema):
    type = fields.String(required=True)
    text = fields.String(required=True)
    cache_control = fields.Nested(CacheControlSchema, data_key="cacheControl")


class ImagePartSchema(StrictSchema):
    type = fields.String(required=True)
    url = fields.String(validate=[
        validate.Length(max=URL_MAX),
        validate.URL(schemes={"http", "https"}, require_tld=False,
                     error="must be an http:// or https:// URL (send other images as data + mimeType)")])
    data = fields.String()
    mime_type = fields.String(data_key="mimeType", validate=validate.OneOf(
        IMAGE_MIME_TYPES, error="must be one of: {choices}"))

    @validates_schema
    def _one_source(self, data, **kwargs):
        if ("url" in data) == ("data" in data):
            raise ValidationError("an image part needs either url or data (with mimeType), not both", "url")
        if "data" not in data:
            if "mime_type" in data:
                raise ValidationError("goes with data, not url", "mimeType")
            return
        if "mime_type" not in data:
            raise ValidationError("is required with data", "mimeType")
        # Checked by length first: decoding a huge body only to refuse it would waste the CPU.
        if len(data["data"]) // 4 * 3 - data["data"][-2:].count("=") > IMAGE_MAX_BYTES:
            raise ValidationError(f"image is larger than the {IMAGE_MAX_BYTES} bytes this gateway accepts",
                                  "data")
        try:
            base64.b64decode(data["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("must be base64 (standard alphabet, padded)", "data") from None


PART_SCHEMAS = {"text": TextPartSchema(), "image": ImagePartSchema()}


class Content(fields.Field):
    """A message's content: a string, or a non-empty list of text and image parts."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"description": 'a string, or a list of parts: {"type": "text", "text", '
                                                  '"cacheControl"?}, {"type": "image", "url"} or {"type": '
                                                  '"image", "data": <base64>, "mimeType"}'}, **kwargs)

    default_error_messages = {"invalid": "must be a string or a list of parts"}
    openapi = {"oneOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["type"], "properties": {"type": {"enum": ["text", "image"]}},
        "description": "{type: text, text} or {type: image, url | data + mimeType}"}}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        if not isinstance(value, list) or not value:
            raise self.make_error("invalid")
        parts, problems = [], {}
        for index, part in enumerate(value):
            kind = part.get("type") if isinstance(part, dict) else None
            # Only a string can name a part type (a dict or list would not even hash).
            schema = PART_SCHEMAS.get(kind) if isinstance(kind, str) else None
            if not isinstance(part, dict):
                problems[index] = ["must be an object"]
            elif schema is None:
                problems[index] = {"type": [f"unknown part type {part.get('type')!r}: must be one of: "
                                            + ", ".join(PART_SCHEMAS)]}
            else:
                try:
                    parts.append(schema.load(part))
                except ValidationError as exc:
                    problems[index] = exc.messages
        if problems:
            raise ValidationError(problems)
        return parts


class ToolCallSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=256))
    name = fields.String(required=True, validate=validate.Regexp(TOOL_NAME_PATTERN, error=TOOL_NAME_ERROR))
    arguments = fields.Dict(required=True, error_messages={"invalid": "must be a JSON object"})
    signature = fields.String(allow_none=True)


class ThoughtSchema(StrictSchema):
    """A piece of the model's reasoning as a reply gave it, sent back unchanged on the next turn."""

    error_messages = {"type": "must be an object: {text, signature?} or {redacted}, as the reply gave it"}
    text = fields.String()
    signature = fields.String(allow_none=True, metadata={"description": "opaque: as received"})
    redacted = fields.String(metadata={"description": "Anthropic's redacted thinking, as received"})

    @validates_schema
    def _redacted_alone(self, data, **kwargs):
        if "redacted" in data and (data.get("text") or data.get("signature")):
            raise ValidationError("a redacted thought carries its data alone, with no text or signature",
                                  "redacted")


class MessageSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="must be one of: {choices}"))
    content = Content()
    tool_calls = fields.List(fields.Nested(ToolCallSchema), data_key="toolCalls")
    tool_call_id = fields.String(data_key="toolCallId", validate=validate.Length(min=1, max=256))
    thoughts = fields.List(fields.Nested(ThoughtSchema), metadata={
        "description": "an assistant message's thoughts as the reply gave them (the signed ones go back "
                       "upstream: Anthropic and Gemini need them beside tool calls)"})

    @validates_schema
    def _per_role(self, data, **kwargs):
        role = data.get("role")
        if data.get("tool_calls") and role != "assistant":
            raise ValidationError("only an assistant message carries tool calls", "toolCalls")
        if "thoughts" in data and role != "assistant":
            raise ValidationError("only an assistant message carries thoughts", "thoughts")
        if role == "tool" and "tool_call_id" not in data:
            raise ValidationError("is required in a tool message: the id of the call it answers", "toolCallId")
        if role != "tool" and "tool_call_id" in data:
            raise ValidationError("belongs to tool messages only", "toolCallId")
        if "content" not in data and not (role == "assistant" and (data.get("tool_calls") or data.get("thoughts"))):
            raise ValidationError("Missing data for required field.", "content")
        content = data.get("content")
        if role in ("system", "assistant") and isinstance(content, list) and any(
                part["type"] != "text" for part in content):
            raise ValidationError(f"a {role} message takes text parts only", "content")


class ToolSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(TOOL_NAME_PATTERN, error=TOOL_NAME_ERROR))
    description = fields.String(validate=validate.Length(max=10000))
    parameters = fields.Dict(error_messages={"invalid": "must be a JSON Schema object"})

    @validates_schema
    def _object_schema(self, data, **kwargs):
        kind = (data.get("parameters") or {}).get("type", "object")
        if kind != "object":
            raise ValidationError(f'must be a JSON Schema of type "object" (got type {kind!r})', "parameters")


class ToolChoice(fields.Field):
    """`auto`, `none`, `required`, or `{"name": ...}` naming one of the request's tools."""

    default_error_messages = {"invalid": 'must be "auto", "none", "required" or {{"name": "<tool name>"}}'}

    def __init__(self, **kwargs):
        super().__init__(metadata={"description": '"auto", "none", "required" or {"name": "<tool name>"}'},
                         **kwargs)
    openapi = {"oneOf": [{"enum": ["auto", "none", "required"]}, {
        "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}},
        "additionalProperties": False}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("auto", "none", "required"):
            return value
        if isinstance(value, dict) and value.keys() == {"name"} and isinstance(value["name"], str):
            return {"name": value["name"]}
        raise self.make_error("invalid")


class ResponseFormatSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(
        ["text", "json", "json_schema"], error="must be one of: {choices}"))
    name = fields.String(validate=validate.Regexp(TOOL_NAME_PATTERN, error=TOOL_NAME_ERROR))
    schema = fields.Dict(error_messages={"invalid": "must be a JSON Schema object"})
    strict = fields.Boolean()

    @validates_schema
    def _per_type(self, data, **kwargs):
        if data.get("type") == "json_schema":
            for name, key in (("name", "name"), ("schema", "schema")):
                if name not in data:
                    raise ValidationError("is required with type json_schema", key)
        else:
            for name in ("name", "schema", "strict"):
                if name in data:
                    raise ValidationError("goes with type json_schema only", name)


REASONING_MODES = ("enabled", "adaptive", "disabled")
SUMMARIES = ("auto", "concise", "detailed", "omitted")


class ReasoningSchema(StrictSchema):
    """How much the model thinks and which thoughts it shows (README "Reasoning"): each provider
    takes them as its own setting; one it has no setting for is a 400 UNSUPPORTED."""

    error_messages = {"type": "must be an object: {effort?, mode?, budgetTokens?, summary?}"}
    effort = fields.String(validate=validate.OneOf(EFFORTS, error="must be one of: {choices}"))
    mode = fields.String(validate=validate.OneOf(REASONING_MODES, error="must be one of: {choices}"),
                         metadata={"description": "enabled (with budgetTokens, which implies it), adaptive "
                                                  "(the model decides) or disabled"})
    budget_tokens = fields.Integer(data_key="budgetTokens", strict=True, validate=validate.Range(
        min=MIN_BUDGET, max=MAX_TOKENS_MAX, error="must be an integer from {min} to {max}"))
    summary = fields.String(validate=validate.OneOf(SUMMARIES, error="must be one of: {choices}"),
                            metadata={"description": "show the thoughts (auto, concise, detailed), or omitted: "
                                                     "their signatures only"})

    @validates_schema
    def _budget_and_mode(self, data, **kwargs):
        mode = data.get("mode")
        if mode == "enabled" and "budget_tokens" not in data:
            raise ValidationError("is required with mode enabled", "budgetTokens")
        if mode in ("adaptive", "disabled") and "budget_tokens" in data:
            raise ValidationError(f"goes with mode enabled, not {mode}", "budgetTokens")


class ChatSchema(StrictSchema):
    model = fields.String(validate=validate.Length(min=1, max=MODEL_MAX),
                          metadata={"examples": ["gpt-4o", "claude-sonnet-4-20250514", "gemini-2.0-flash"]})
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
    tools = fields.List(fields.Nested(ToolSchema), allow_none=True, validate=validate.Length(
        max=MAX_TOOLS, error=f"must have at most {MAX_TOOLS} tools"))
    tool_choice = ToolChoice(data_key="toolChoice", allow_none=True)
    response_format = fields.Nested(ResponseFormatSchema, data_key="responseFormat", allow_none=True)
    reasoning = fields.Nested(ReasoningSchema, allow_none=True)

    @validates_schema
    def _tools_and_results(self, data, **kwargs):
        tools = data.get("tools") or []
        names = [tool["name"] for tool in tools]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValidationError({"tools": {index: {"name": [f"{name!r} is declared twice"]}}})
        choice = data.get("tool_choice")
        if isinstance(choice, dict) and choice["name"] not in names:
            raise ValidationError(f"names {choice['name']!r}, which is not one of the request's tools",
                                  "toolChoice")
        if choice == "required" and not tools:
            raise ValidationError("is required but the request declares no tools", "toolChoice")
        called = set()
        for index, message in enumerate(data.get("messages") or []):
            called.update(call["id"] for call in message.get("tool_calls") or ())
            call_id = message.get("tool_call_id")
            if call_id is not None and call_id not in called:
                raise ValidationError({"messages": {index: {"toolCallId": [
                    f"{call_id!r} matches no tool call of an earlier assistant message"]}}})


chat_schema = ChatSchema()

MAX_EMBED_INPUTS = 2048  # OpenAI's limit per request; Gemini's batch takes fewer and says so


class EmbedInput(fields.Field):
    """`input`: a string or a list of 1-2048 strings, none empty; loaded as a list."""

    openapi = {"oneOf": [{"type": "string", "minLength": 1}, {
        "type": "array", "minItems": 1, "maxItems": MAX_EMBED_INPUTS,
        "items": {"type": "string", "minLength": 1}}]}

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


class Upload(fields.Field):
    """A multipart file part: read by the view itself (never loaded from the text fields)."""

    openapi = {"type": "string", "format": "binary"}


class TranscribeFormSchema(TranscribeSchema):
    """The multipart form: the same fields, the audio as the file part `file` instead of base64."""

    class Meta:
        exclude = ("audio",)

    file = Upload(required=True)


transcribe_schema = TranscribeSchema()
transcribe_form_schema = TranscribeFormSchema(exclude=("file",))


# /models: the sync body and the listing's query string.
MISSING_PROVIDER = ('is required: send {"provider": "<id or name>"} as JSON, '
                    "or ?provider=<id or name> in the URL")


class ProviderRefSchema(StrictSchema):
    """`provider` (id or name), the only field; anything else is a mistake worth reporting."""
    provider = fields.String(validate=validate.Length(min=1, max=64, error="must be a provider id or name"))


provider_ref_schema = ProviderRefSchema()


def sync_target(body, args):
    """The provider a sync names, from the JSON body and/or ?provider= (which must then agree)."""
    from_body = provider_ref_schema.load(body).get("provider") if body is not None else None
    from_query = provider_ref_schema.load(args.to_dict()).get("provider")
    if from_body and from_query and from_body.strip().lower() != from_query.strip().lower():
        raise ValidationError({"provider": [f"given twice and differently ('{from_body}' in the body, "
                                            f"'{from_query}' in the URL): give it once"]})
    ref = from_body or from_query
    if not ref:
        raise ValidationError({"provider": [MISSING_PROVIDER]})
    return ref


class Cursor(fields.Field):
    """A page's `cursor`: the previous page's nextCursor, read by `decode` (ValueError if not one)."""
    openapi = {"type": "string", "description": "the previous page's nextCursor"}
    default_error_messages = {"invalid": "is not a cursor this API returned; pass the previous page's "
                                         "nextCursor unchanged, with the same filters"}

    def __init__(self, decode, **kwargs):
        super().__init__(**kwargs)
        self.decode = decode

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.decode(str(value))
        except ValueError:
            raise self.make_error("invalid") from None


class ModelListSchema(ProviderRefSchema):
    """The listing's query: an optional provider, and a page of it as /usage pages its rows."""
    limit = fields.Integer(load_default=50, validate=validate.Range(
        min=1, max=1000, error="must be between {min} and {max}"))
    cursor = Cursor(model_sync.decode_cursor)


model_list_schema = ModelListSchema()


class RouteTargetSchema(StrictSchema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=MODEL_MAX))
    provider_id = fields.String(data_key="providerId", validate=validate.Length(min=1, max=PROVIDER_ID_MAX),
                                metadata={"description": "the provider's id or name; without it the model "
                                                         "resolves as a chat call's would"})
    weight = fields.Float(validate=validate.Range(min=0, max=1_000_000), allow_nan=False,
                          metadata={"description": "weighted routes: the target's share (1 unless given)"})


class RouteSchema(StrictSchema):
    name = fields.String(required=True, validate=WholeRegexp(
        NAME_PATTERN, error="must be 1-64 characters of a-z, 0-9, '.', '_' or '-', "
                            "starting with a letter or digit"))
    strategy = fields.String(required=True, validate=validate.OneOf(ROUTE_STRATEGIES,
                                                                     error="must be one of: {choices}"))
    targets = fields.List(fields.Nested(RouteTargetSchema), required=True,
                          validate=validate.Length(min=1, max=16, error="must list 1 to 16 targets"))
    retry_on = fields.List(fields.String(validate=validate.OneOf(RETRY_KINDS, error="must be one of: {choices}")),
                           data_key="retryOn", validate=validate.Length(min=1),
                           metadata={"description": "what moves a call to the next target (all four unless "
                                                    "given); never a 4xx or a content-filter refusal"})

    @validates_schema
    def weights(self, data, **kwargs):
        if data.get("strategy") == "weighted" and not any(t.get("weight", 1.0) > 0 for t in data.get("targets", ())):
            raise ValidationError("a weighted route needs a target with a weight above 0", "targets")


route_schema = RouteSchema()
