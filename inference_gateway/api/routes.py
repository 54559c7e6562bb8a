"""Routes resource: a model name served by several targets (fallbacks, load balancing); admin-only
changes, readable by callers (who may use a route's name as their model)."""
from flask import Blueprint

from inference_gateway import errors
from inference_gateway.gateway.routing import check_targets
from inference_gateway.store import route_store
from inference_gateway.web.auth import admin_required
from inference_gateway.web.body import json_body
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import RouteReply
from inference_gateway.api.schemas import RouteSchema, route_schema

bp = Blueprint("routes", __name__)


def load_route(body):
    data = route_schema.load(body)
    check_targets(data["targets"])
    return data


@bp.get("/routes")
@describe("List routes", reply=RouteReply, many=True)
def list_routes():
    return ok([route_store.to_dict(row) for row in route_store.list_all()])


@bp.post("/routes")
@admin_required
@describe("Create a route", body=RouteSchema, reply=RouteReply, status=201, errors=[(409, errors.CONFLICT)],
          description="`name` is then usable as `model` on every chat surface. It may not be a provider's "
                      "name. Each target's model (with its providerId, if given) must resolve now.",
          links={name: (f"routes_{view}_{method}", {"name": "$response.body#/data/name"})
                 for name, view, method in (("GetRoute", "get_route", "get"),
                                            ("UpdateRoute", "update_route", "put"),
                                            ("DeleteRoute", "delete_route", "delete"))})
def create_route():
    return ok(route_store.to_dict(route_store.create(load_route(json_body()))), 201)


@bp.get("/routes/<name>")
@describe("Get a route by name", reply=RouteReply)
def get_route(name):
    return ok(route_store.to_dict(route_store.get(name)))


@bp.put("/routes/<name>")
@admin_required
@describe("Replace a route", body=RouteSchema, reply=RouteReply, errors=[(409, errors.CONFLICT)],
          description="The whole route, as for POST (its name may change).")
def update_route(name):
    row = route_store.get(name)
    return ok(route_store.to_dict(route_store.update(row, load_route(json_body()))))


@bp.delete("/routes/<name>")
@admin_required
@describe("Delete a route", reply=RouteReply)
def delete_route(name):
    return ok(route_store.to_dict(route_store.delete(route_store.get(name))))
