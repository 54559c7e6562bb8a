"""Routes: create, read, change, delete, and the route a model name names (gateway/resolve.py)."""
import json

from peewee import IntegrityError

from inference_gateway import errors
from inference_gateway.store import resolve_cache
from inference_gateway.store.db import database
from inference_gateway.store.provider_store import iso
from inference_gateway.store.tables import Provider, Route as RouteRow, new_id, utcnow
from inference_gateway.types import Route, RouteTarget

DEFAULT_RETRY_ON = ("connection", "timeout", "429", "5xx")


def to_route(row):
    """The neutral Route a call is routed by."""
    targets = tuple(RouteTarget(t["model"], t.get("providerId"), float(t.get("weight", 1.0)))
                    for t in json.loads(row.targets))
    retry_on = json.loads(row.retry_on) if row.retry_on else DEFAULT_RETRY_ON
    return Route(row.name, row.strategy, targets, frozenset(retry_on))


def to_dict(row):
    return {"name": row.name, "strategy": row.strategy, "targets": json.loads(row.targets),
            "retryOn": json.loads(row.retry_on) if row.retry_on else list(DEFAULT_RETRY_ON),
            "created": iso(row.created), "updated": iso(row.updated)}


def _row(name):
    return RouteRow.get_or_none(RouteRow.name_key == str(name).strip().lower())


def find(name):
    """The Route named `name` (case-insensitive), or None. Runs when the resolve cache misses."""
    row = _row(name)
    return to_route(row) if row is not None else None


def get(name):
    row = _row(name)
    if row is None:
        raise errors.NotFound(f"route '{name}' not found")
    return row


def list_all():
    return list(RouteRow.select().order_by(RouteRow.created, RouteRow.id))


def names():
    return [row.name for row in RouteRow.select(RouteRow.name).order_by(RouteRow.created, RouteRow.id)]


def _targets_json(targets):
    return json.dumps([{k: v for k, v in (("model", t["model"]), ("providerId", t.get("provider_id")),
                                          ("weight", t.get("weight"))) if v is not None} for t in targets],
                      separators=(",", ":"))


def _check_name(name, own_key=None):
    key = name.lower()
    if Provider.get_or_none(Provider.name_key == key):
        raise errors.Conflict(f"'{name}' is a provider's name: a route may not shadow it (as a model, "
                              f"'{name}' would stop meaning the provider); pick another name")
    if key != own_key and RouteRow.get_or_none(RouteRow.name_key == key):
        raise errors.Conflict(f"a route named '{name}' already exists")


def create(data):
    with database.atomic():
        _check_name(data["name"])
        now = utcnow()
        try:
            row = RouteRow.create(id=new_id(), name=data["name"], name_key=data["name"].lower(),
                                  strategy=data["strategy"], targets=_targets_json(data["targets"]),
                                  retry_on=json.dumps(data["retry_on"]) if data.get("retry_on") else None,
                                  created=now, updated=now)
        except IntegrityError:
            raise errors.Conflict(f"a route named '{data['name']}' already exists") from None
    resolve_cache.changed()
    return row


def update(row, data):
    """Replace the route's fields with `data` (a whole, validated route; the name may change)."""
    with database.atomic():
        _check_name(data["name"], row.name_key)
        row.name, row.name_key, row.strategy = data["name"], data["name"].lower(), data["strategy"]
        row.targets = _targets_json(data["targets"])
        row.retry_on = json.dumps(data["retry_on"]) if data.get("retry_on") else None
        row.updated = max(utcnow(), row.updated)
        try:
            row.save()
        except IntegrityError:
            raise errors.Conflict(f"a route named '{data['name']}' already exists") from None
    resolve_cache.changed()
    return row


def delete(row):
    row.delete_instance()
    resolve_cache.changed()
    return row


def is_route_name(name):
    """Whether a provider may not take this name (a route has it)."""
    return RouteRow.get_or_none(RouteRow.name_key == name.lower()) is not None
