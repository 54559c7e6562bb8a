"""What the API answers, as marshmallow schemas: the OpenAPI document's response bodies.

Views build their answers as plain dicts (the hot path has no room for a dump); these schemas
describe them, and the schemathesis run checks every answer against them. Replies may gain
fields (INCLUDE), so a client must ignore what it does not know."""
from marshmallow import INCLUDE, Schema, fields, validate

from inference_gateway.providers import PROVIDER_TYPES
from inference_gateway.store import usage


class Reply(Schema):
    class Meta:
        unknown = INCLUDE


def text(**kwargs):
    return fields.String(required=True, **kwargs)


def maybe(field_cls=fields.String, **kwargs):
    """A key that is always present but may be null."""
    return field_cls(required=True, allow_none=True, **kwargs)


def timestamp(**kwargs):
    return fields.String(metadata={"format": "date-time"}, **kwargs)


class ProviderHealthReply(Reply):
    state = text(validate=validate.OneOf(["healthy", "degraded", "open"]))
    errorRate = maybe(fields.Float, metadata={"description": "provider failures / calls over the last 5 minutes"})
    p50LatencyMs = maybe(fields.Integer)
    p50TtftMs = maybe(fields.Integer)
    lastError = maybe()
    lastErrorAt = maybe(metadata={"format": "date-time"})


class ProviderReply(Reply):
    id = text()
    name = text()
    type = text(validate=validate.OneOf(sorted(PROVIDER_TYPES)))
    defaultModel = maybe()
    envVar = maybe()
    baseUrl = maybe()
    keyConfigured = fields.Boolean(required=True)
    created = timestamp(required=True)
    updated = timestamp(required=True)
    health = fields.Nested(ProviderHealthReply, metadata={
        "description": "GET /providers and /providers/{id} only: the last 5 minutes' calls"})


class ModelReply(Reply):
    id = text()
    providerId = maybe(metadata={"description": "null for a route"})
    provider = maybe(metadata={"description": "null for a route"})
    modelId = text()
    displayName = maybe()
    capabilities = fields.List(fields.String(), required=True)
    syncedAt = timestamp(required=True)
    route = fields.String(metadata={"description": "a route's entry only: its strategy"})


class RouteTargetReply(Reply):
    model = text()
    providerId = fields.String()
    weight = fields.Float()


class RouteReply(Reply):
    name = text()
    strategy = text()
    targets = fields.List(fields.Nested(RouteTargetReply), required=True)
    retryOn = fields.List(fields.String(), required=True)
    created = timestamp(required=True)
    updated = timestamp(required=True)


class ModelPageReply(Reply):
    models = fields.List(fields.Nested(ModelReply), required=True)
    nextCursor = maybe()


class SyncReply(Reply):
    provider = text()
    providerId = text()
    added = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    total = fields.Integer(required=True)
    models = fields.List(fields.Nested(ModelReply), required=True)


class TokensReply(Reply):
    inputTokens = maybe(fields.Integer)
    outputTokens = maybe(fields.Integer)
    # Parts of the two above, present when the provider reported them.
    cacheReadTokens = fields.Integer()
    cacheWriteTokens = fields.Integer()
    reasoningTokens = fields.Integer()


class ToolCallReply(Reply):
    id = text()
    name = text()
    arguments = fields.Dict(required=True)
    signature = fields.String(metadata={"description": "opaque; send it back unchanged on the next turn"})
    rawArguments = fields.String(metadata={"description": "the model's argument text when it is not a JSON "
                                                          "object (arguments is then {})"})


class ThoughtReply(Reply):
    text = text()
    signature = fields.String(metadata={"description": "opaque; send it back unchanged on the next turn"})
    redacted = fields.String(metadata={"description": "Anthropic's redacted thinking; send it back unchanged"})


class ChatReply(Reply):
    content = maybe()
    model = maybe()
    usage = fields.Nested(TokensReply, required=True)
    finishReason = maybe()
    toolCalls = fields.List(fields.Nested(ToolCallReply), required=True)
    reasoning = fields.String(metadata={"description": "the reasoning the provider showed, when it showed any"})
    thoughts = fields.List(fields.Nested(ThoughtReply), metadata={
        "description": "with reasoning: its pieces with their signatures, for an assistant message's thoughts"})
    provider = text()
    requestId = text()


class EmbedUsageReply(Reply):
    inputTokens = maybe(fields.Integer)


class EmbedReply(Reply):
    embeddings = fields.List(fields.List(fields.Float()), required=True)
    model = maybe()
    usage = fields.Nested(EmbedUsageReply, required=True)


class ImageReply(Reply):
    b64Json = fields.String()
    url = fields.String()
    mimeType = text()
    revisedPrompt = fields.String()


class ImagesReply(Reply):
    images = fields.List(fields.Nested(ImageReply), required=True)
    model = maybe()
    usage = fields.Nested(TokensReply)


class TranscribeReply(Reply):
    text = text()
    model = maybe()
    language = fields.String()
    usage = fields.Nested(TokensReply)


class CountersReply(Reply):
    totalRequests = fields.Integer(required=True)
    totalErrors = fields.Integer(required=True)
    totalInputTokens = fields.Integer(required=True)
    totalOutputTokens = fields.Integer(required=True)
    totalTokens = fields.Integer(required=True)
    totalCacheReadTokens = fields.Integer(required=True)
    totalCacheWriteTokens = fields.Integer(required=True)
    totalReasoningTokens = fields.Integer(required=True)
    avgDurationMs = fields.Integer(required=True)
    totalCostUsd = fields.Float(required=True)
    unpricedRequests = fields.Integer(required=True)


class KeyCountersReply(CountersReply):
    keyId = maybe()


class ProviderCountersReply(CountersReply):
    providerId = maybe()
    provider = maybe()


class ModelCountersReply(CountersReply):
    model = maybe()


class RequestRowReply(Reply):
    id = text()
    created = timestamp(required=True)
    providerId = maybe()
    provider = maybe()
    model = maybe()
    endpoint = text(validate=validate.OneOf(usage.ENDPOINTS))
    status = text(validate=validate.OneOf(usage.STATUSES))
    httpStatus = maybe(fields.Integer)
    inputTokens = maybe(fields.Integer)
    outputTokens = maybe(fields.Integer)
    totalTokens = fields.Integer(required=True)
    cacheReadTokens = fields.Integer(required=True)
    cacheWriteTokens = fields.Integer(required=True)
    reasoningTokens = fields.Integer(required=True)
    durationMs = maybe(fields.Integer)
    ttftMs = maybe(fields.Integer)
    stream = fields.Boolean(required=True)
    errorCode = maybe()
    errorMessage = maybe()
    keyId = maybe()
    costUsd = maybe(fields.Float)
    prices = maybe(fields.Dict)


class PriceReply(Reply):
    model = text()
    providerType = maybe()
    price = maybe(fields.Dict)
    source = maybe(validate=validate.OneOf(["file", "genai-prices"]))


class KeyReply(Reply):
    id = text()
    name = text()
    role = text(validate=validate.OneOf(["caller", "admin"]))
    prefix = text()
    models = maybe(fields.List, cls_or_instance=fields.String())
    providers = maybe(fields.List, cls_or_instance=fields.String())
    rpm = maybe(fields.Integer)
    tpm = maybe(fields.Integer)
    maxConcurrent = maybe(fields.Integer)
    budgetUsd = maybe(fields.Float)
    budgetPeriod = text(validate=validate.OneOf(["day", "month", "total"]))
    expiresAt = maybe(fields.String)
    metadata = maybe(fields.Dict)
    created = timestamp(required=True)
    updated = timestamp(required=True)
    revokedAt = maybe(fields.String)


class NewKeyReply(KeyReply):
    key = text()


class KeyWithSpendReply(KeyReply):
    spentUsd = maybe(fields.Float)


class RequestReply(RequestRowReply):
    """One request-log row with the bodies LOG_BODIES stored (absent otherwise)."""

    requestBody = fields.String()
    responseBody = fields.String()
    route = maybe(metadata={"description": "the route the call was made through (null: a direct call)"})
    attempts = fields.Integer(required=True)
    failedAttempts = fields.List(fields.Dict(), required=True, metadata={
        "description": "a routed call's failed attempts: {provider, providerId, model, code, status, "
                       "retried?, rowId?} (rowId: the attempt's own row, when it was billed)"})


class UsageReply(Reply):
    summary = fields.Nested(CountersReply, required=True)
    byProvider = fields.List(fields.Nested(ProviderCountersReply), required=True)
    byModel = fields.List(fields.Nested(ModelCountersReply), required=True)
    byKey = fields.List(fields.Nested(KeyCountersReply), required=True)
    requests = fields.List(fields.Nested(RequestRowReply), required=True)
    nextCursor = maybe()


class HealthReply(Reply):
    status = text()
    database = fields.String()
