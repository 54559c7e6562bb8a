"""Drop-in surfaces: OpenAI's and Anthropic's wire formats on /v1, over the gateway's own call path."""
from flask import Blueprint, request

from inference_gateway import errors
from inference_gateway.compat import common
from inference_gateway.compat.anthropic import errors as anthropic_errors
from inference_gateway.compat.openai import errors as openai_errors
from inference_gateway.compat.anthropic.routes import bp as anthropic_bp
from inference_gateway.compat.openai.routes import bp as openai_bp

PREFIX = "/v1"

# Unknown /v1 paths: a 404 in the format of the SDK that asked (Anthropic's always sends its
# API version header).
fallback_bp = Blueprint("compat_fallback", __name__)


@fallback_bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest):
    raise errors.NotFound(f"no such route: {request.method} /v1/{rest}")


def _render(err):
    surface = anthropic_errors if "anthropic-version" in request.headers else openai_errors
    return surface.render(err)


common.install(fallback_bp, _render)


def register(app):
    for bp in (anthropic_bp, openai_bp, fallback_bp):
        app.register_blueprint(bp, url_prefix=PREFIX)
