"""OpenAI adapter."""
import mimetypes

from inference_gateway.types import Images, ModelInfo
from inference_gateway.providers import openai_format as fmt
from inference_gateway.providers.base import Provider
from inference_gateway.providers.multipart import MultipartBody


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


class OpenAIProvider(Provider):
    type = "openai"
    label = "OpenAI"
    default_base_url = "https://api.openai.com/v1"
    # `max_tokens` is deprecated upstream and refused by the reasoning models.
    max_tokens_field = "max_completion_tokens"
    require_done = True
    # Reasoning text goes back on tool-call turns (openai_format.chat_payload): not to OpenAI.
    reasoning_back = False

    def auth_headers(self, key):
        return {"Authorization": f"Bearer {key}"} if key else {}

    def parse_error(self, status, body, headers):
        return fmt.parse_error(status, body, headers)

    def capabilities(self, model_id):
        return openai_capabilities(model_id)

    def list_models(self):
        return self.request_items("/models", "data", self._model_info)

    def _model_info(self, item):
        model_id = fmt.model_id(item)
        return model_id and ModelInfo(model_id, capabilities=self.capabilities(model_id))

    def chat(self, req):
        name = self.config.name
        body = self.request_json("POST", "/chat/completions", json_body=fmt.chat_payload(
            req, max_tokens_field=self.max_tokens_field, name=name, reasoning_back=self.reasoning_back))
        return fmt.parse_chat(body, req.model, name=name)

    def stream(self, req):
        name = self.config.name
        payload = fmt.chat_payload(req, max_tokens_field=self.max_tokens_field, stream=True, name=name,
                                   reasoning_back=self.reasoning_back)
        resp = self.request("POST", "/chat/completions", json_body=payload, stream=True)
        return fmt.iter_chunks(self.stream_events(resp), name=name, require_done=self.require_done)

    def embed(self, req):
        body = self.request_json("POST", "/embeddings", json_body=fmt.embed_payload(req))
        return fmt.parse_embeddings(body, req, name=self.config.name)

    def images(self, req):
        body = self.request_json("POST", "/images/generations", json_body=fmt.image_payload(req))
        images, usage = fmt.parse_images(body, name=self.config.name)
        return Images(images=images, model=req.model, usage=usage)

    def transcribe(self, req):
        mime = mimetypes.guess_type(req.filename)[0] or "application/octet-stream"
        upload = MultipartBody(fmt.transcription_form(req), {"file": (req.filename, req.audio, mime)})
        body = self.request_json("POST", "/audio/transcriptions", data=upload,
                                 headers={"Content-Type": upload.content_type})
        return fmt.parse_transcription(body, req, name=self.config.name)
