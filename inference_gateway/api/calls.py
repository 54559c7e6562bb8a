"""The native API's side of the call frame (web/calls.py): reading and validating a JSON body."""
from flask import current_app

from inference_gateway.store.request_log import capture_body
from inference_gateway.web.body import json_body
from inference_gateway.web.calls import keep_response, logged_call, open_adapter, provider_settings

# The frame's names stay importable from here for the native views.
__all__ = ["keep_response", "logged_call", "open_adapter", "open_json_call", "provider_settings"]


def open_json_call(record, schema):
    """Read the JSON body (noted for the log), validate it with `schema` and open the adapter its
    model/providerId name: (data, model, adapter). Inside `logged_call`, so bad bodies are logged too."""
    body = json_body()
    record.request_body = capture_body(body, current_app.config)
    data = schema.load(body)
    _, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"))
    return data, model, adapter
