"""OpenAI adapter."""
import mimetypes
import re

from inference_gateway import errors
from inference_gateway.types import Image, Images, ModelInfo, Transcription, Usage
from inference_gateway.providers import openai_format as fmt
from inference_gateway.providers.base import Provider
from inference_gateway.providers.common import int_or_zero
from inference_gateway.providers.multipart import MultipartBody

GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# Accepted sizes per image model family (OpenAI spec, CreateImageRequest.size).
IMAGE_SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": GPT_IMAGE_SIZES,  # also gpt-image-1-mini and gpt-image-1.5
}
# Accepted `quality` per family ("auto" is accepted by all; OpenAI spec, CreateImageRequest.quality).
IMAGE_QUALITIES = {
    "dall-e-2": ("standard", "auto"),
    "dall-e-3": ("standard", "hd", "auto"),
    "gpt-image-1": ("low", "medium", "high", "auto"),
    "gpt-image-2": ("low", "medium", "high", "auto"),
}
# gpt-image-2 takes any WIDTHxHEIGHT (multiples of 16, limits enforced upstream) or auto.
FREE_SIZE = re.compile(r"^(auto|\d+x\d+)$")
OUTPUT_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


def openai_capabilities(model_id):
    """What an OpenAI model id says it does; ids that fit no pattern (tts, moderation) get []."""
    mid = model_id.lower()
    if mid.startswith(("dall-e-", "gpt-image-")):
        return ["image"]
    if mid.startswith("whisper-") or "transcribe" in mid:
        return ["transcribe"]
    if mid.startswith("text-embedding-"):
        return ["embed"]
    if mid.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")) and not any(
            word in mid for word in ("tts", "realtime")):
        return ["chat"]
    return []


def image_family(model):
    for family in ("dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-2"):
        if model.startswith(family):
            return family
    return None


class OpenAIProvider(Provider):
    type = "openai"
    label = "OpenAI"
    default_base_url = "https://api.openai.com/v1"
    # `max_tokens` is deprecated upstream and refused by the reasoning models.
    max_tokens_field = "max_completion_tokens"
    require_done = True

    def auth_headers(self, key):
        return {"Authorization": f"Bearer {key}"} if key else {}

    def parse_error(self, status, body, headers):
        return fmt.parse_error(status, body, headers)

    def capabilities(self, model_id):
        return openai_capabilities(model_id)

    def list_models(self):
        body = self.request_json("GET", "/models")
        return [ModelInfo(model_id=mid, capabilities=self.capabilities(mid))
                for mid in fmt.model_ids(body)]

    def chat(self, req):
        body = self.request_json("POST", "/chat/completions", json_body=fmt.chat_payload(
            req, max_tokens_field=self.max_tokens_field))
        return fmt.parse_chat(self, body, req.model)

    def stream(self, req):
        payload = fmt.chat_payload(req, max_tokens_field=self.max_tokens_field, stream=True)
        resp = self.request("POST", "/chat/completions", json_body=payload, stream=True)
        return fmt.iter_chunks(self, self.stream_events(resp), require_done=self.require_done)

    def embed(self, req):
        body = self.request_json("POST", "/embeddings", json_body=fmt.embed_payload(req))
        return fmt.parse_embeddings(self, body, req)

    def images(self, req):
        family = image_family(req.model)
        self._check_image_request(req, family)
        payload = {"model": req.model, "prompt": req.prompt}
        for name in ("n", "size", "quality"):
            if getattr(req, name) is not None:
                payload[name] = getattr(req, name)
        if family in ("dall-e-2", "dall-e-3"):
            # Ask for the bytes: the default is a URL that expires after 60 minutes, which a
            # client reading a stored reply (or a slow one) would find dead.
            payload["response_format"] = "b64_json"
        body = self.request_json("POST", "/images/generations", json_body=payload)
        data = body.get("data") if isinstance(body, dict) else None
        if not data:
            raise errors.UpstreamError(f"provider '{self.config.name}' returned no images")
        mime = OUTPUT_MIME.get(str(body.get("output_format") or "png").lower(), "image/png")
        images = [Image(b64_json=item.get("b64_json"), url=item.get("url"),
                        mime_type=mime if item.get("b64_json") else None,
                        revised_prompt=item.get("revised_prompt"))
                  for item in data if isinstance(item, dict)]
        usage = body.get("usage")
        usage = Usage(int_or_zero(usage.get("input_tokens")),
                      int_or_zero(usage.get("output_tokens"))) if isinstance(usage, dict) else None
        return Images(images=images, model=req.model, usage=usage)

    def _check_image_request(self, req, family):
        """Reject what the model cannot do before anything is sent (and billed)."""
        if req.n is not None and not 1 <= req.n <= 10:
            raise errors.BadRequest("n must be between 1 and 10")
        if family == "dall-e-3" and req.n not in (None, 1):
            raise errors.BadRequest("dall-e-3 generates one image per request: n must be 1")
        qualities = IMAGE_QUALITIES.get(family)
        if req.quality is not None and qualities is not None and req.quality not in qualities:
            raise errors.BadRequest(
                f"quality '{req.quality}' is not available for {req.model}; accepted qualities: "
                + ", ".join(qualities))
        if req.size is None:
            return
        accepted = IMAGE_SIZES.get(family)
        if accepted is not None and req.size not in accepted:
            raise errors.BadRequest(
                f"size '{req.size}' is not available for {req.model}; accepted sizes: "
                + ", ".join(accepted))
        if family == "gpt-image-2" and not FREE_SIZE.match(req.size):
            raise errors.BadRequest(
                f"size '{req.size}' is not available for {req.model}; use WIDTHxHEIGHT or auto")

    def transcribe(self, req):
        mime = mimetypes.guess_type(req.filename)[0] or "application/octet-stream"
        form = {"model": req.model, "response_format": "json"}
        if req.language:
            form["language"] = req.language
        if req.prompt:
            form["prompt"] = req.prompt
        upload = MultipartBody(form, {"file": (req.filename, req.audio, mime)})
        body = self.request_json("POST", "/audio/transcriptions", data=upload,
                                 headers={"Content-Type": upload.content_type})
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise errors.UpstreamError(
                f"provider '{self.config.name}' sent a transcription with no text")
        usage = body.get("usage")
        # Token-billed models report tokens; whisper-1 reports {"type": "duration", "seconds"}.
        if isinstance(usage, dict) and ("input_tokens" in usage or usage.get("type") == "tokens"):
            usage = Usage(int_or_zero(usage.get("input_tokens")),
                          int_or_zero(usage.get("output_tokens")))
        else:
            usage = None
        return Transcription(text=body["text"], model=req.model,
                             language=body.get("language") or req.language, usage=usage)
