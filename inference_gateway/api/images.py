"""Image generation: base64 images (or URLs where the provider only gives those)."""
from flask import Blueprint

from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import UPSTREAM_ERRORS, describe
from inference_gateway.api.replies import ImagesReply
from inference_gateway.api.schemas import ImageSchema, image_schema
from inference_gateway.types import ImageRequest
from inference_gateway.api.calls import keep_response, logged_call, open_json_call

bp = Blueprint("images", __name__)

DEFAULT_MIME = "image/png"  # what every provider returns unless asked otherwise


def image_dict(image):
    out = {"b64Json": image.b64_json} if image.b64_json else {"url": image.url}
    out["mimeType"] = image.mime_type or DEFAULT_MIME
    if image.revised_prompt:
        out["revisedPrompt"] = image.revised_prompt
    return out


@bp.post("/images")
@describe("Image generation", body=ImageSchema, reply=ImagesReply, errors=UPSTREAM_ERRORS)
def images():
    with logged_call("images") as record:
        data, model, adapter = open_json_call(record, image_schema)
        result = adapter.images(ImageRequest(model=model, prompt=data["prompt"], size=data.get("size"),
                                             n=data.get("n"), quality=data.get("quality")))
        record.set_usage(result.usage)
        record.response_model = result.model or model
        reply = {"images": [image_dict(image) for image in result.images],
                 "model": result.model or model}
        if result.usage is not None:
            reply["usage"] = record.usage_dict()
        # The log keeps the reply without the image bytes (they would fill LOG_BODY_MAX_BYTES).
        keep_response(record, {**reply, "images": [
            {k: v for k, v in item.items() if k != "b64Json"} for item in reply["images"]]})
        return ok(reply)
