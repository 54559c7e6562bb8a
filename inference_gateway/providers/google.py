"""Google Gemini adapter."""
from dataclasses import replace

from inference_gateway import errors
from inference_gateway.types import Embeddings, Images, Usage
from inference_gateway.providers import google_format as fmt
from inference_gateway.providers.base import Provider

PAGE_SIZE = 1000  # the largest pageSize GET /models accepts
# ":batchEmbedContents" refuses more ("at most 100 requests can be in one batch"); our API takes 2048.
EMBED_BATCH = 100


class GoogleProvider(Provider):
    type = "google"
    label = "Google Gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"

    def auth_headers(self, key):
        return fmt.auth_headers(key)

    def parse_error(self, status, body, headers):
        return fmt.parse_error(status, body, headers)

    def list_models(self):
        token = None
        while True:
            params = {"pageSize": PAGE_SIZE}
            if token:
                params["pageToken"] = token
            page = yield from self.request_items("/models", "models", fmt.model_info, ("nextPageToken",),
                                                 params=params)
            next_token = page.get("nextPageToken")
            if not next_token or next_token == token:
                return
            token = next_token

    def _path(self, model, method):
        return f"/models/{fmt.bare_model(model)}:{method}"

    def chat(self, req):
        name = self.config.name
        body = self.request_json("POST", self._path(req.model, "generateContent"),
                                 json_body=fmt.generate_payload(req, name=name))
        return fmt.parse_generate(body, req.model, name=name)

    def stream(self, req):
        name = self.config.name
        resp = self.request("POST", self._path(req.model, "streamGenerateContent"), params={"alt": "sse"},
                            json_body=fmt.generate_payload(req, name=name), stream=True)
        return fmt.iter_chunks(self.stream_events(resp), name=name)

    def embed(self, req):
        if not req.inputs:
            raise errors.BadRequest("nothing to embed: inputs is empty")
        vectors = []
        for start in range(0, len(req.inputs), EMBED_BATCH):
            batch = replace(req, inputs=req.inputs[start:start + EMBED_BATCH])
            suffix, payload = fmt.embed_payload(batch)
            body = self.request_json("POST", f"/models/{fmt.bare_model(req.model)}{suffix}",
                                     json_body=payload)
            vectors.extend(fmt.parse_embeddings(body, len(batch.inputs), name=self.config.name))
        # The Gemini API reports no token usage for embeddings.
        return Embeddings(vectors=vectors, model=req.model, usage=Usage(0, 0))

    def images(self, req):
        if req.n not in (None, 1):
            raise errors.BadRequest("Gemini image models generate one image per request: n must be 1")
        ratio = fmt.aspect_ratio(req.size)
        # `quality` has no Gemini equivalent and is ignored.
        body = self.request_json("POST", self._path(req.model, "generateContent"),
                                 json_body=fmt.image_payload(req.prompt, ratio))
        images, usage = fmt.parse_images(body, name=self.config.name)
        return Images(images=images, model=req.model, usage=usage)
