"""The gateway's error hierarchy: every failure a client sees is one of these."""
from dataclasses import dataclass
from typing import Optional

# Codes are part of the public contract; define them once.
BAD_REQUEST = "BAD_REQUEST"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
CONFLICT = "CONFLICT"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
UNSUPPORTED = "UNSUPPORTED"
NO_PROVIDER = "NO_PROVIDER"
PROVIDER_NOT_CONFIGURED = "PROVIDER_NOT_CONFIGURED"
RATE_LIMITED = "RATE_LIMITED"
BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
UPSTREAM_ERROR = "UPSTREAM_ERROR"
UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT"
INTERNAL_ERROR = "INTERNAL_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
# Only in a stream's or WebSocket's final error event (and the request log): the client stopped it.
CANCELLED = "CANCELLED"
# Only in the request log: a stream whose worker died before it ended (closed by a later sweep).
INTERRUPTED = "INTERRUPTED"
LOOP_DETECTED = "LOOP_DETECTED"


# Error messages returned, logged and kept in request-log rows are at most this long: upstream
# bodies can be megabytes.
MESSAGE_MAX = 2000
TRUNCATED = " [truncated]"
REDACTED = "[redacted]"
# A secret shorter than this is not searched for: it would rewrite ordinary words of a message.
SECRET_MIN = 6


def cap(message, limit=MESSAGE_MAX):
    """`message` cut to at most `limit` characters (ending in ' [truncated]' when cut)."""
    if message is None or len(message) <= limit:
        return message
    return message[:limit - len(TRUNCATED)] + TRUNCATED


def redact(text, *secrets):
    """`text` with every occurrence of each secret (a provider key's value) replaced by [redacted]."""
    for secret in secrets:
        if secret and len(secret) >= SECRET_MIN and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def clean(text, *secrets):
    """Upstream text made fit to return, log and store: secrets redacted, then capped."""
    return cap(redact(text, *secrets))


def mask_url(url):
    """A URL with any `user:password@` shown as `***@` (baseUrls may carry credentials)."""
    if not url or "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{path}"


class GatewayError(Exception):
    """An error with an HTTP status, a stable code and a message a person can act on."""

    status = 500
    code = INTERNAL_ERROR
    # Set on failures of the provider itself (providers/base.py): "connection", "timeout", "429" or
    # "5xx". Routes move to their next target on these, breakers count them, health reports them.
    retry_kind = None
    # The provider's own HTTP status, when it answered with an error.
    upstream_status = None

    def __init__(self, message, *, status=None, code=None, details=None, headers=None):
        message = cap(message)
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.details = details
        self.headers = dict(headers or {})

    def to_dict(self):
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"success": False, "error": error}


class BadRequest(GatewayError):
    status, code = 400, BAD_REQUEST


class Unauthorized(GatewayError):
    status, code = 401, UNAUTHORIZED


class Forbidden(GatewayError):
    status, code = 403, FORBIDDEN


class NotFound(GatewayError):
    status, code = 404, NOT_FOUND


class Conflict(GatewayError):
    status, code = 409, CONFLICT


class PayloadTooLarge(GatewayError):
    status, code = 413, PAYLOAD_TOO_LARGE


class Unsupported(GatewayError):
    status, code = 400, UNSUPPORTED


class NoProvider(GatewayError):
    status, code = 400, NO_PROVIDER


class ProviderNotConfigured(GatewayError):
    status, code = 400, PROVIDER_NOT_CONFIGURED


class BudgetExceeded(GatewayError):
    status, code = 402, BUDGET_EXCEEDED


class RateLimited(GatewayError):
    status, code = 429, RATE_LIMITED

    def __init__(self, message, *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, int(round(retry_after))))


class UpstreamError(GatewayError):
    status, code = 502, UPSTREAM_ERROR


class UpstreamTimeout(GatewayError):
    status, code = 504, UPSTREAM_TIMEOUT


class ServiceUnavailable(GatewayError):
    status, code = 503, SERVICE_UNAVAILABLE


@dataclass
class UpstreamFailure:
    """What a wire format makes of an upstream error reply (the adapter maps it to an error)."""

    message: str
    retry_after: Optional[float] = None
    retryable: Optional[bool] = None  # None: decide from the status


class LoopDetected(GatewayError):
    status, code = 508, LOOP_DETECTED


def unsupported(provider_name, operation):
    return Unsupported(f"provider '{provider_name}' does not support {operation}")


def body_too_large(limit):
    return PayloadTooLarge(f"request body is larger than the {limit} bytes this gateway accepts")


def database_unavailable(exc):
    """The 503 for a database that cannot be reached or is out of connections.

    The URL is not repeated: it may carry a password."""
    return ServiceUnavailable(
        f"the gateway's database is not reachable ({type(exc).__name__}); check DATABASE_URL and that "
        "the database server is up, then try again")


def flatten_messages(messages):
    """marshmallow's nested messages as {dotted field path: [plain sentences]}:
    {"messages": {0: {"content": [...]}}} becomes {"messages.0.content": [...]}."""
    flat = {}

    def walk(path, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{path}.{key}" if path else str(key), sub)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(path, item)
        else:
            flat.setdefault(path or "_schema", []).append(str(value))

    walk("", messages)
    return flat


def validation_message(details):
    """One readable sentence from flattened details: 'name: Missing data...; other: ...'."""
    return "; ".join(f"{path}: {' '.join(texts)}" for path, texts in details.items()) or "invalid request"


def bad_request_from(exc):
    """A marshmallow ValidationError as our 400, with per-field details under dotted paths
    (marshmallow is not imported here: only the exception's `messages` are read)."""
    details = flatten_messages(exc.messages)
    return BadRequest(validation_message(details), details=details)
