"""Embeddings, image generation, transcription and the model list in OpenAI's wire format: pure
translation to the neutral requests and back."""
import base64
import sys
from array import array
from datetime import timezone

from inference_gateway.compat.wire import Fields, bad, model_id, unsupported
from inference_gateway.types import EmbedRequest, ImageRequest

MAX_EMBED_INPUTS = 2048
TRANSCRIPT_FORMATS = ("json", "text")


def _keep(name, check=None):
    def load(value, out):
        if value is not None:
            out[name] = check(value, name) if check else value
    return load


def _embed_input(value, name):
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise bad(name, "must be a string or a non-empty list of strings")
    if len(items) > MAX_EMBED_INPUTS:
        raise bad(name, f"must have at most {MAX_EMBED_INPUTS} items")
    for i, item in enumerate(items):
        if isinstance(item, (int, list)):
            raise unsupported(name, "token arrays are not supported: send the text")
        if not isinstance(item, str) or not item:
            raise bad(f"{name}[{i}]", "must be a non-empty string")
    return items


def _encoding(value, name):
    if value not in ("float", "base64"):
        raise bad(name, "must be 'float' or 'base64'")
    return value


def _positive(high):
    def check(value, name):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise bad(name, f"must be an integer from 1 to {high}")
        return value
    return check


def _string(value, name):
    if not isinstance(value, str) or not value:
        raise bad(name, "must be a non-empty string")
    return value


def _one_of(*choices):
    def check(value, name):
        if value not in choices:
            raise bad(name, "must be one of: " + ", ".join(choices))
        return value
    return check


EMBED_FIELDS = Fields({
    "model": _keep("model", model_id),
    "input": _keep("input", _embed_input),
    "encoding_format": _keep("encoding_format", _encoding),
    "dimensions": _keep("dimensions", _positive(65536)),
}, ignored=("user",), required=("model", "input"))


parse_embeddings = EMBED_FIELDS.parse


def embed_request(parsed, model):
    return EmbedRequest(model=model, inputs=parsed["input"], dimensions=parsed.get("dimensions"))


def _float32_base64(vector):
    """What OpenAI sends for `encoding_format: base64`: little-endian float32s, base64."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def embeddings_body(result, model, encoding, input_tokens):
    encode = _float32_base64 if encoding == "base64" else list
    return {"object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": encode(vector)}
                     for i, vector in enumerate(result.vectors)],
            "model": model,
            "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens}}


IMAGE_FIELDS = Fields({
    "model": _keep("model", model_id),
    "prompt": _keep("prompt", _string),
    "n": _keep("n", _positive(10)),
    "size": _keep("size", _string),
    "quality": _keep("quality", _string),
    "response_format": _keep("response_format", _one_of("url", "b64_json")),
}, ignored=("user",), required=("model", "prompt"))


parse_images = IMAGE_FIELDS.parse


def image_request(parsed, model):
    return ImageRequest(model=model, prompt=parsed["prompt"], size=parsed.get("size"),
                        n=parsed.get("n"), quality=parsed.get("quality"))


def images_body(result, created, response_format):
    """OpenAI's ImagesResponse. Asked for `url` where the provider sent bytes, the url is a data
    URL of them (no image store here)."""
    data = []
    for image in result.images:
        item = {}
        if image.b64_json and response_format == "url":
            item["url"] = f"data:{image.mime_type or 'image/png'};base64,{image.b64_json}"
        elif image.b64_json:
            item["b64_json"] = image.b64_json
        else:
            item["url"] = image.url
        if image.revised_prompt:
            item["revised_prompt"] = image.revised_prompt
        data.append(item)
    return {"created": created, "data": data}


TRANSCRIBE_FIELDS = Fields({
    "model": _keep("model", model_id),
    "language": _keep("language", _string),
    "prompt": _keep("prompt", _string),
    "response_format": _keep("response_format", _one_of(*TRANSCRIPT_FORMATS)),
    "stream": _keep("stream", _one_of("false")),
}, required=("model",))


parse_transcription = TRANSCRIBE_FIELDS.parse


def transcription_body(result, usage):
    body = {"text": result.text}
    if result.usage is not None:
        body["usage"] = {"type": "tokens", "input_tokens": usage["inputTokens"],
                         "output_tokens": usage["outputTokens"],
                         "total_tokens": usage["inputTokens"] + usage["outputTokens"]}
    return body


def unique_rows(rows):
    """The synced models, each id once (the first provider to list it owns it), in listing order."""
    seen = set()
    for row in rows:
        if row.model_id not in seen:
            seen.add(row.model_id)
            yield row


def models_body(rows):
    return {"object": "list", "data": [model_body(row) for row in unique_rows(rows)]}


def model_body(row):
    return {"id": row.model_id, "object": "model", "created": int(row.synced_at.replace(tzinfo=timezone.utc).timestamp()),
            "owned_by": row.provider.name}
