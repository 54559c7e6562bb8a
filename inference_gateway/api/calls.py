"""The frame every proxied call runs in: one request-log row, the adapter, the settings."""
import logging
from contextlib import contextmanager

from flask import current_app, g
from marshmallow import ValidationError

from inference_gateway import errors
from inference_gateway.store import db
from inference_gateway.store import provider_store
from inference_gateway.store import request_log
from inference_gateway.web.envelope import bad_request_from
from inference_gateway.store.request_log import CallRecord, capture_body
from inference_gateway.gateway.resolve import resolve
from inference_gateway.api.common import json_body

log = logging.getLogger(__name__)


@contextmanager
def logged_call(endpoint, body=None):
    """Yield a CallRecord; write it when the block ends (unless a stream took it over)."""
    record = CallRecord(endpoint=endpoint, request_body=capture_body(body, current_app.config))
    g.call_record = record
    try:
        try:
            yield record
        except ValidationError as exc:
            raise bad_request_from(exc) from None
        except db.DATABASE_DOWN as exc:
            raise errors.database_unavailable(exc) from exc
    except errors.GatewayError as exc:
        record.fail(exc)
        raise
    except Exception:
        record.fail(errors.GatewayError("internal error"))
        raise
    finally:
        if not record.deferred or record.status != request_log.SUCCESS:
            request_log.write(record)


def provider_settings():
    return current_app.extensions["provider_settings"]


def open_adapter(record, model, provider_ref):
    """Resolve the provider for this call and return (provider, model, adapter), noting them on the record."""
    record.model = model
    try:
        provider, model = resolve(model, provider_ref, current_app.extensions["resolve_cache"])
    finally:
        # The upstream may take minutes (a slow first byte, a long stream): holding a pooled
        # connection that long let a burst of streams exhaust the pool. The log row takes its own.
        db.release()
    record.set_provider(provider, model)
    adapter = provider_store.adapter_for(provider, provider_settings())
    record.adapter = adapter
    return provider, model, adapter


def keep_response(record, data):
    record.response_body = capture_body(data, current_app.config)
    return data


def open_json_call(record, schema):
    """Read the JSON body (noted for the log), validate it with `schema` and open the adapter its
    model/providerId name: (data, model, adapter). Inside `logged_call`, so bad bodies are logged too."""
    body = json_body()
    record.request_body = capture_body(body, current_app.config)
    data = schema.load(body)
    _, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"))
    return data, model, adapter
