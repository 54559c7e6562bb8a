"""Models resource: sync a provider's list, and list what is synced."""
from flask import Blueprint, current_app, request

from inference_gateway import errors
from inference_gateway.gateway import model_sync
from inference_gateway.store import provider_store, route_store
from inference_gateway.web.auth import admin_required
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import UPSTREAM_ERRORS, describe
from inference_gateway.api.replies import ModelPageReply, SyncReply
from inference_gateway.api.schemas import ModelListSchema, ProviderRefSchema, model_list_schema, sync_target
from inference_gateway.api.calls import keep_response, logged_call, provider_settings
from inference_gateway.web.body import json_body

bp = Blueprint("models", __name__)


def optional_json_body():
    """The JSON object when the request carries a body; None when it has none (?provider= then)."""
    if not request.get_data(cache=True):
        return None
    return json_body()


@bp.post("/models/sync")
@admin_required
@describe("Sync a provider's model list", body=ProviderRefSchema, body_required=False, query=ProviderRefSchema,
          reply=SyncReply, errors=UPSTREAM_ERRORS,
          description="The provider (id or name) in the JSON body or as ?provider=; the list is replaced in one "
                      "transaction, so a failed sync changes nothing.")
def sync_models():
    body = optional_json_body()
    with logged_call("models_sync", body) as record:
        provider = provider_store.get(sync_target(body, request.args))
        record.set_provider(provider, None)
        record.adapter = provider_store.adapter_for(provider, provider_settings())
        result = model_sync.sync(provider, record.adapter, current_app.config["MAX_SYNCED_MODELS"])
        return ok(keep_response(record, model_sync.result_dict(result)))


@bp.get("/models")
@describe("List synced models, a page at a time", query=ModelListSchema, reply=ModelPageReply,
          errors=[(404, errors.NOT_FOUND)],
          description="`limit` models (50 unless given, at most 1000) after `cursor`, the previous page's "
                      "nextCursor (null on the last page), as /usage pages its rows. The first page of the "
                      "whole list also starts with every route (`route`: its strategy), beyond `limit`.")
def list_models():
    query = model_list_schema.load(request.args.to_dict())
    provider = provider_store.get(query["provider"]) if query.get("provider") else None
    rows, next_cursor = model_sync.page(provider, query["limit"], query.get("cursor"))
    models = [model_sync.to_dict(row) for row in rows]
    if provider is None and not query.get("cursor"):
        models = [model_sync.route_dict(row) for row in route_store.list_all()] + models
    return ok({"models": models, "nextCursor": next_cursor})
