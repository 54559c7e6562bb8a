"""What both compatible surfaces share: the caller's key (either header), errors in the surface's
own format, JSON replies and an SSE body that closes its stream."""
from flask import current_app, request

from inference_gateway import errors
from inference_gateway.web import auth
from inference_gateway.web.envelope import as_gateway_error, encode_json

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def presented_key():
    """The key from `Authorization: Bearer` (OpenAI's SDK) or `x-api-key` (Anthropic's), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip() or None


def require_caller():
    """Caller role: any configured gateway key. Open when GATEWAY_API_KEYS is empty, as /api is."""
    keys = current_app.config["API_KEYS"]
    if not keys:
        return
    key = presented_key()
    if key is None:
        raise errors.Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'")
    if not auth.key_matches(key, keys):
        raise errors.Unauthorized("invalid API key")


def json_reply(data, status=200, headers=None):
    response = current_app.response_class(encode_json(data) + "\n", status=status,
                                          mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install(bp, render):
    """Caller auth before every view of `bp`, and every failure rendered by `render(GatewayError)`
    as (body, status) in that surface's format, with the error's headers (Retry-After, Allow)."""

    def _error(exc):
        err = as_gateway_error(exc)
        body, status = render(err)
        return json_reply(body, status, err.headers)

    bp.register_error_handler(Exception, _error)
    bp.before_request(require_caller)


class FrameBody:
    """A streamed body of pre-encoded frames; closing it closes the frames and the call's stream
    (which writes the row however the stream ended)."""

    def __init__(self, frames, stream):
        self.frames = frames
        self.stream = stream

    def __iter__(self):
        return self.frames

    def close(self):
        try:
            self.frames.close()
        finally:
            self.stream.close()


def stream_response(frames, stream):
    return current_app.response_class(FrameBody(frames, stream), mimetype="text/event-stream",
                                      headers=SSE_HEADERS)
