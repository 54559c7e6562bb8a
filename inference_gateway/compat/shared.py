"""The /v1 routes both SDKs call: the model list (each in its own format) and the answer to an
unknown path. A request that carries `anthropic-version` comes from Anthropic's SDK (it always
sends it) and gets Anthropic's formats, errors included; any other gets OpenAI's."""
from flask import Blueprint, request

from inference_gateway import errors
from inference_gateway.compat import common
from inference_gateway.compat.anthropic import errors as anthropic_errors, models as anthropic_models
from inference_gateway.compat.openai import errors as openai_errors, media as openai_models
from inference_gateway.gateway import model_sync
from inference_gateway.gateway.admission import model_allowed, provider_allowed, route_allowed
from inference_gateway.store import route_store
from inference_gateway.web.virtual_keys import current_key

bp = Blueprint("compat_shared", __name__)


def anthropic_sdk():
    return "anthropic-version" in request.headers


def usable_models():
    """The routes and synced models this request's key may use: a virtual key with a model or provider
    list sees only what it may call (others get a 403 when they call it; a route by its name);
    other keys see them all. Routes come first: a route's name wins over a synced id."""
    rows, routes, key = model_sync.list_models(), route_store.list_all(), current_key()
    if key is None or (key.models is None and key.providers is None):
        return model_sync.with_routes(rows, routes)
    return model_sync.with_routes(
        [row for row in rows if provider_allowed(key, row.provider) and model_allowed(key, row.provider, row.model_id)],
        [route for route in routes if route_allowed(key, route.name)])


@bp.get("/models")
def list_models():
    rows = usable_models()
    surface = anthropic_models if anthropic_sdk() else openai_models
    return common.json_reply(surface.models_body(rows))


@bp.get("/models/<path:model_id>")
def get_model(model_id):
    for row in usable_models():
        if row.model_id == model_id:
            surface = anthropic_models if anthropic_sdk() else openai_models
            return common.json_reply(surface.model_body(row))
    raise errors.GatewayError(f"the model '{model_id}' does not exist", status=404,
                              code=errors.NO_PROVIDER)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest):
    raise errors.NotFound(f"no such route: {request.method} /v1/{rest}")


def _render(err):
    return (anthropic_errors if anthropic_sdk() else openai_errors).render(err)


common.install(bp, _render)
