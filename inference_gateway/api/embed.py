"""Embeddings: one vector per input, in input order."""
from flask import Blueprint

from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import UPSTREAM_ERRORS, describe
from inference_gateway.api.replies import EmbedReply
from inference_gateway.api.schemas import EmbedSchema, embed_schema
from inference_gateway.types import EmbedRequest
from inference_gateway.api.calls import keep_response, logged_call, open_json_call

bp = Blueprint("embed", __name__)


@bp.post("/embed")
@describe("Embeddings, one vector per input in input order", body=EmbedSchema, reply=EmbedReply,
          errors=UPSTREAM_ERRORS)
def embed():
    with logged_call("embed") as record:
        data, model, adapter = open_json_call(record, embed_schema)
        result = adapter.embed(EmbedRequest(model=model, inputs=data["input"],
                                            dimensions=data.get("dimensions")))
        record.set_usage(result.usage)
        record.response_model = result.model or model
        return ok(keep_response(record, {
            "embeddings": result.vectors,
            "model": result.model or model,
            "usage": {"inputTokens": record.input_tokens},
        }))
