"""Anthropic's error body, `{"type": "error", "error": {"type", "message"}}`, with its types per status."""
from inference_gateway import errors

# 402 is Anthropic's billing_error (its SDK raises PaymentRequiredError): a key over its budget.
TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
         404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
         529: "overloaded_error"}


def status_of(err):
    return 404 if err.code == errors.NO_PROVIDER else err.status


def error_object(err):
    status = status_of(err)
    kind = TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": err.message}}


def render(err):
    return error_object(err), status_of(err)


def event_error(error):
    """A failure after a stream started (the gateway's error event: its code and message)."""
    kind = "rate_limit_error" if error.get("code") == errors.RATE_LIMITED else "api_error"
    return {"type": "error", "error": {"type": kind, "message": error.get("message", "")}}
