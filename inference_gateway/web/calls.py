"""The HTTP side of a proxied call, for the native API and the compatible surfaces alike: its record
on `g`, schema errors as 400s, the app's resolve cache and provider settings."""
from contextlib import contextmanager

from flask import current_app, g, request
from marshmallow import ValidationError

from inference_gateway.errors import bad_request_from
from inference_gateway.gateway import calls
from inference_gateway.store.request_log import CallRecord, capture_body
from inference_gateway.web.virtual_keys import current_key


@contextmanager
def logged_call(endpoint, body=None, http=True):
    """Yield a CallRecord; write it when the block ends (unless a stream took it over).

    `http`: the call is the whole HTTP request, so its row keeps the X-Request-Id (one id per
    HTTP call); a WebSocket frame's call is one of many on its socket and goes by its own id."""
    record = CallRecord(endpoint=endpoint, request_body=capture_body(body, current_app.config),
                        request_id=g.get("request_id") if http else None)
    g.call_record = record
    with calls.recorded(record):
        try:
            yield record
        except ValidationError as exc:
            raise bad_request_from(exc) from None


def provider_settings():
    return current_app.extensions["provider_settings"]


def open_adapter(record, model, provider_ref, data=None):
    """(provider, model, adapter) for this call, with the app's resolve cache and provider settings;
    a virtual key's lists and limits are enforced here for every surface. `data`: the request body
    its tokens are estimated from (by default the request's JSON)."""
    key = current_key()
    if key is not None and data is None:
        data = request.get_json(silent=True) if request.is_json else None
    extensions = current_app.extensions
    return calls.open_adapter(record, model, provider_ref, extensions["resolve_cache"], provider_settings(),
                              extensions["prices"], extensions["gate"], key, data, extensions["router"])


def keep_response(record, data):
    record.response_body = capture_body(data, current_app.config)
    return data
