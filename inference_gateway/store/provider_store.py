"""Registered providers: lookup by id or name, create, update, delete, and the adapter for one."""
import os

from peewee import Case, IntegrityError, fn

from inference_gateway import errors
from inference_gateway.config import key_var_allowed
from inference_gateway.store import resolve_cache
from inference_gateway.store.db import database
from inference_gateway.store.tables import Provider, ProviderModel, new_id, utcnow
from inference_gateway.providers import PROVIDER_TYPES
from inference_gateway.types import ProviderConfig

FIELDS = ("name", "type", "default_model", "env_var", "base_url")

# PROVIDER_KEY_VARS as the app set it (`configure`): keyConfigured is false for a variable no
# longer allowed, without telling whether it is set.
_key_vars = ("*_API_KEY",)


def configure(key_vars):
    global _key_vars
    _key_vars = tuple(key_vars)


def key_configured(env_var):
    return bool(env_var and key_var_allowed(env_var, _key_vars) and os.environ.get(env_var))


def iso(dt):
    """ISO-8601 UTC with milliseconds and Z, as the API reference shows."""
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def effective_base_url(provider):
    return provider.base_url or PROVIDER_TYPES[provider.type].default_base_url


def to_dict(provider):
    return {
        "id": provider.id,
        "name": provider.name,
        "type": provider.type,
        "defaultModel": provider.default_model,
        "envVar": provider.env_var,
        "baseUrl": errors.mask_url(effective_base_url(provider)),
        "keyConfigured": key_configured(provider.env_var),
        "created": iso(provider.created),
        "updated": iso(provider.updated),
    }


def to_input(provider):
    """The provider as schema input, so an update can be validated as a whole."""
    return {"name": provider.name, "type": provider.type, "defaultModel": provider.default_model,
            "envVar": provider.env_var, "baseUrl": provider.base_url}


def find(id_or_name):
    """The provider with this id or (case-insensitive) name, or None."""
    if not id_or_name:
        return None
    key = str(id_or_name).strip()
    # One query; an id match wins over a name match, as two lookups in that order would. A call
    # runs it only when the resolve cache misses (once a second per model and process by default).
    return (Provider.select().where((Provider.id == key) | (Provider.name_key == key.lower()))
            .order_by(Case(None, [(Provider.id == key, 0)], 1)).first())


def get(id_or_name):
    provider = find(id_or_name)
    if provider is None:
        raise errors.NotFound(f"provider '{id_or_name}' not found")
    return provider


def list_all():
    return list(Provider.select().order_by(Provider.created, Provider.id))


def synced_models():
    """{provider id: (models stored, when the last sync stored them)} for providers that have any."""
    query = (ProviderModel.select(ProviderModel.provider, fn.COUNT(ProviderModel.id), fn.MAX(ProviderModel.synced_at))
             .group_by(ProviderModel.provider).tuples())
    return {provider_id: (count, synced) for provider_id, count, synced in query}


def first_of_type(type_name):
    """The earliest-registered provider of a type (auto-resolution picks this one)."""
    return (Provider.select().where(Provider.type == type_name)
            .order_by(Provider.created, Provider.id).first())


def _conflict(name):
    return errors.Conflict(f"a provider named '{name}' already exists")


def _route_conflict(name):
    from inference_gateway.store.tables import Route

    if Route.get_or_none(Route.name_key == name.lower()):
        raise errors.Conflict(f"'{name}' is a route's name: a provider may not take it (the route "
                              "answers to it as a model); rename or delete the route first")


def create(data):
    with database.atomic():
        if Provider.get_or_none(Provider.name_key == data["name"].lower()):
            raise _conflict(data["name"])
        _route_conflict(data["name"])
        now = utcnow()
        for _ in range(5):
            pid = new_id()
            if not Provider.get_or_none(Provider.id == pid):
                break
        try:
            provider = Provider.create(id=pid, name_key=data["name"].lower(), created=now, updated=now,
                                       **{f: data.get(f) for f in FIELDS})
        except IntegrityError:
            raise _conflict(data["name"]) from None
    resolve_cache.changed()
    return provider


def update(provider, data):
    with database.atomic():
        if "name" in data and data["name"].lower() != provider.name_key:
            if Provider.get_or_none(Provider.name_key == data["name"].lower()):
                raise _conflict(data["name"])
            _route_conflict(data["name"])
            provider.name_key = data["name"].lower()
        for field in FIELDS:
            if field in data:
                setattr(provider, field, data[field])
        provider.updated = max(utcnow(), provider.updated)
        try:
            provider.save()
        except IntegrityError:
            raise _conflict(data["name"]) from None
    resolve_cache.changed()
    return provider


def delete(provider):
    with database.atomic():
        ProviderModel.delete().where(ProviderModel.provider == provider.id).execute()
        provider.delete_instance()
    resolve_cache.changed()
    return provider


def config_of(provider):
    return ProviderConfig(id=provider.id, name=provider.name, type=provider.type,
                          base_url=effective_base_url(provider), env_var=provider.env_var,
                          default_model=provider.default_model)


def adapter_for(provider, settings):
    """A fresh adapter instance for one call."""
    return PROVIDER_TYPES[provider.type](config_of(provider), settings)
