"""Embeddings: one vector per input, in input order."""
from flask import Blueprint, current_app

from ..envelope import ok
from ..request_log import capture_body
from ..schemas import embed_schema
from ..types import EmbedRequest
from .calls import keep_response, logged_call, open_adapter
from .common import json_body

bp = Blueprint("embed", __name__)


@bp.post("/embed")
def embed():
    with logged_call("embed") as record:
        body = json_body()
        record.request_body = capture_body(body, current_app.config)
        data = embed_schema.load(body)
        _, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"))
        result = adapter.embed(EmbedRequest(model=model, inputs=data["input"],
                                            dimensions=data.get("dimensions")))
        record.set_usage(result.usage)
        return ok(keep_response(record, {
            "embeddings": result.vectors,
            "model": result.model or model,
            "usage": {"inputTokens": record.input_tokens},
        }))
