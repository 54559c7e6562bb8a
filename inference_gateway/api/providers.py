"""Providers resource: register, list, get, update, delete (changes are admin-only)."""
from flask import Blueprint, current_app

from inference_gateway.gateway import health
from inference_gateway.store import provider_store
from inference_gateway import errors
from inference_gateway.config import key_var_allowed
from inference_gateway.web.auth import admin_required
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import ProviderReply
from inference_gateway.api.schemas import ProviderSchema, provider_schema
from inference_gateway.web.body import json_body

bp = Blueprint("providers", __name__)


def check_key_var(env_var):
    """400 unless PROVIDER_KEY_VARS lets a provider send this variable's value upstream."""
    patterns = current_app.config["PROVIDER_KEY_PATTERNS"]
    if env_var and not key_var_allowed(env_var, patterns):
        message = (f"PROVIDER_KEY_VARS ({', '.join(patterns) or 'empty'}) does not allow {env_var}; "
                   "the gateway's own settings are never allowed")
        raise errors.BadRequest(f"envVar: {message}", details={"envVar": [message]})


@bp.get("/providers")
@describe("List providers", reply=ProviderReply, many=True)
def list_providers():
    providers = provider_store.list_all()
    found = health.read([p.id for p in providers], current_app.extensions.get("breakers"))
    return ok([{**provider_store.to_dict(p), "health": found[p.id]} for p in providers])


def with_health(provider):
    return {**provider_store.to_dict(provider),
            "health": health.read([provider.id], current_app.extensions.get("breakers"))[provider.id]}


@bp.post("/providers")
@admin_required
@describe("Register a provider", body=ProviderSchema, reply=ProviderReply, status=201,
          errors=[(409, errors.CONFLICT)], links={
              name: (f"providers_{view}_{method}", {"id_or_name": "$response.body#/data/id"})
              for name, view, method in (("GetProvider", "get_provider", "get"),
                                         ("UpdateProvider", "update_provider", "put"),
                                         ("DeleteProvider", "delete_provider", "delete"))} | {
              "ListItsModels": ("models_list_models_get", {"query.provider": "$response.body#/data/id"}),
              "ItsUsage": ("usage_get_usage_get", {"query.provider": "$response.body#/data/id"})})
def create_provider():
    data = provider_schema.load(json_body())
    check_key_var(data.get("env_var"))
    return ok(provider_store.to_dict(provider_store.create(data)), 201)


@bp.get("/providers/<id_or_name>")
@describe("Get a provider by id or name", reply=ProviderReply)
def get_provider(id_or_name):
    return ok(with_health(provider_store.get(id_or_name)))


@bp.put("/providers/<id_or_name>")
@admin_required
@describe("Change some of a provider's fields", body=ProviderSchema(partial=True), reply=ProviderReply,
          errors=[(409, errors.CONFLICT)],
          description="Only the fields given change; the result is validated as a whole.")
def update_provider(id_or_name):
    provider = provider_store.get(id_or_name)
    changes = json_body()
    # Validate the merged result so per-type rules (envVar, baseUrl) hold after the change.
    changed = provider_schema.load(changes, partial=True)
    merged = provider_schema.load({**provider_store.to_input(provider), **changes})
    check_key_var(merged.get("env_var"))
    data = {key: merged.get(key) for key in changed}
    return ok(provider_store.to_dict(provider_store.update(provider, data)))


@bp.delete("/providers/<id_or_name>")
@admin_required
@describe("Delete a provider (its request-log rows stay)", reply=ProviderReply)
def delete_provider(id_or_name):
    provider = provider_store.get(id_or_name)
    body = provider_store.to_dict(provider)
    provider_store.delete(provider)
    return ok(body)
