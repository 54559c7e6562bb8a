"""OpenAI's error body, `{"error": {"message", "type", "param", "code"}}`: the SDK picks its
exception class from the status, so the status is the gateway's own."""
from inference_gateway import errors

# What OpenAI itself sends per status (type) and, for the common cases, its `code`.
# 402 (a key over its budget) has no OpenAI status; its type says what OpenAI calls running out.
TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 402: "insufficient_quota",
         403: "permission_error",
         404: "invalid_request_error", 409: "invalid_request_error", 413: "invalid_request_error",
         429: "rate_limit_error"}
CODES = {errors.UNAUTHORIZED: "invalid_api_key", errors.NO_PROVIDER: "model_not_found",
         errors.RATE_LIMITED: "rate_limit_exceeded"}


def status_of(err):
    # No provider serves the model: OpenAI's own answer to an unknown model is a 404.
    return 404 if err.code == errors.NO_PROVIDER else err.status


def param_of(err):
    """The request field the error is about, when it names one (validation details are per field)."""
    if isinstance(err.details, dict) and err.details:
        name = next(iter(err.details))
        return None if name.startswith("_") else name
    return getattr(err, "param", None)


def error_object(err):
    return _object(status_of(err), err.code, err.message, param_of(err))


def _object(status, code, message, param=None):
    return {"message": message,
            "type": TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param, "code": CODES.get(code, code.lower())}


def event_error(error):
    """A failure after a stream started (the gateway's error event: its code and message)."""
    code = error.get("code") or errors.INTERNAL_ERROR
    return _object(429 if code == errors.RATE_LIMITED else 502, code, error.get("message", ""))


def render(err):
    return {"error": error_object(err)}, status_of(err)
