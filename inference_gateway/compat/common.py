"""What both compatible surfaces share: errors in the surface's own format, JSON replies and an SSE body that closes its stream."""
from flask import current_app

from inference_gateway.gateway.chat import complete, open_stream, tool_call_dict
from inference_gateway.web.calls import keep_response, logged_call, open_adapter
from inference_gateway.web.envelope import as_gateway_error, encode_json

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def json_reply(data, status=200, headers=None):
    response = current_app.response_class(encode_json(data) + "\n", status=status,
                                          mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install(bp, render):
    """Every failure of `bp` rendered by `render(GatewayError)` as (body, status) in that surface's
    format, with the error's headers (Retry-After, Allow). The key and role are checked for every
    route by web/auth.py (Bearer or x-api-key, caller or admin); its 401/403 render here too."""

    def _error(exc):
        err = as_gateway_error(exc)
        body, status = render(err)
        return json_reply(body, status, err.headers)

    bp.register_error_handler(Exception, _error)


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


def chat_call(body, endpoint, parse, reply, frames, prepare=None):
    """The chat call every surface makes, on the gateway's one call path: parse the body, resolve
    the model, then either one completion rendered by `reply(record, call, completion, tool_calls)`
    or a stream whose events `frames(record, call, stream)` renders. `prepare(req)` may add what
    the request's headers carry. The row's endpoint is `endpoint`, `<endpoint>_stream` for streams."""
    streamed = body.get("stream") is True
    with logged_call(endpoint + "_stream" if streamed else endpoint, body) as record:
        call = parse(body)
        provider, model, adapter = open_adapter(record, call.model, None)
        req = call.request(model)
        if prepare is not None:
            prepare(req)
        if call.stream:
            stream = open_stream(record, provider.name, adapter, req)
        else:
            completion = complete(record, adapter, req)
            calls = [tool_call_dict(c) for c in completion.tool_calls]
            return json_reply(keep_response(record, reply(record, call, completion, calls)))
    return stream_response(frames(record, call, stream), stream)
