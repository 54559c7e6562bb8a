"""The API described: the OpenAPI document, and an explorer page whose assets come from the
swagger-ui-py package (Swagger UI 5, served by the gateway: no CDN, no copied library code)."""
import importlib.util
import os

from flask import Blueprint, current_app, jsonify, send_from_directory

from inference_gateway import errors
from inference_gateway.web.auth import public
from inference_gateway.web.openapi import build_document, describe

bp = Blueprint("docs", __name__)
openapi_bp = Blueprint("openapi", __name__)

ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})
DOCUMENT_KEY = "openapi_document"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>inference-gateway API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/api/v1/inference/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "BaseLayout"
    });
  </script>
</body>
</html>
"""


def assets_dir():
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None:
        raise errors.NotFound("the API explorer needs the swagger-ui-py package: pip install swagger-ui-py")
    return os.path.join(list(spec.submodule_search_locations)[0], "static")


def document():
    """Built once per process from the routes the app has (they do not change after start-up)."""
    doc = current_app.extensions.get(DOCUMENT_KEY)
    if doc is None:
        doc = current_app.extensions[DOCUMENT_KEY] = build_document(current_app)
    return doc


@openapi_bp.get("/openapi.json")
@describe("This document (OpenAPI 3.1)", media="application/json", tags=["docs"],
          stream="The OpenAPI 3.1 document of the native API.")
@public
def openapi_json():
    # Not in the envelope: API tools (explorers, generators, fuzzers) read the document as it is.
    return jsonify(document())


@bp.get("/docs")
@public
def explorer():
    return current_app.response_class(PAGE, mimetype="text/html")


@bp.get("/docs/assets/<name>")
@public
def asset(name):
    if name not in ASSETS:
        raise errors.NotFound(f"no such asset: {name}")
    return send_from_directory(assets_dir(), name, max_age=86400)
