"""OpenCode Zen adapter: one key, three wire formats chosen by model family."""
from dataclasses import replace
from functools import partial

from inference_gateway import errors
from inference_gateway.types import ModelInfo
from inference_gateway.providers import anthropic_format, google_format, openai_format
from inference_gateway.providers.base import Provider

ANTHROPIC, GOOGLE, OPENAI = "anthropic", "google", "openai"


def bare_id(model):
    return model[len("opencode/"):] if model.startswith("opencode/") else model


def _model_info(item):
    model_id = openai_format.model_id(item)
    return model_id and ModelInfo(model_id, capabilities=["chat"])


def family(model_id):
    """Which Zen endpoint serves a model: claude-* on /messages, gemini-* on the Gemini paths,
    everything else (gpt-* included, which Zen converts) on /chat/completions."""
    if model_id.startswith("claude-"):
        return ANTHROPIC
    if model_id.startswith("gemini-"):
        return GOOGLE
    return OPENAI


class OpenCodeProvider(Provider):
    type = "opencode"
    label = "OpenCode Zen"
    default_base_url = "https://opencode.ai/zen/v1"

    def auth_headers(self, key):
        return {"Authorization": f"Bearer {key}"} if key else {}

    def parse_error(self, status, body, headers):
        """Zen's own errors are Anthropic-shaped; the Gemini route passes Google's through."""
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, list) or (isinstance(err, dict) and ("status" in err or "details" in err)):
            return google_format.parse_error(status, body, headers)
        if isinstance(body, dict) and body.get("type") == "error":
            return anthropic_format.parse_error(status, body, headers)
        return openai_format.parse_error(status, body, headers)

    def list_models(self):
        # No key needed; with one, Zen leaves out the models the workspace disabled.
        key = self._optional_key()
        return self.request_items("/models", "data", _model_info, auth=False, headers=self.auth_headers(key))

    def _optional_key(self):
        if not self.config.env_var:
            return None
        try:
            return self.api_key()
        except errors.ProviderNotConfigured:  # listing works without a key
            return None

    def _route(self, req, stream):
        """(path, params, headers, body, reply parser, chunk parser) for a chat request; the
        parsers take the reply (or the SSE events) alone."""
        model_id = bare_id(req.model)
        if req.model != model_id:
            req = replace(req, model=model_id)
        key = self.api_key()
        name = self.config.name
        kind = family(model_id)
        if kind == ANTHROPIC:
            payload = anthropic_format.messages_payload(
                req, self.settings.anthropic_default_max_tokens, stream=stream, name=name)
            structured = anthropic_format.structured_name(req)
            return ("/messages", None, anthropic_format.auth_headers(key), payload,
                    partial(anthropic_format.parse_message, name=name, structured=structured),
                    partial(anthropic_format.iter_chunks, name=name, structured=structured))
        if kind == GOOGLE:
            method = "streamGenerateContent" if stream else "generateContent"
            return (f"/models/{model_id}:{method}", {"alt": "sse"} if stream else None,
                    google_format.auth_headers(key), google_format.generate_payload(req, name=name),
                    partial(google_format.parse_generate, name=name), partial(google_format.iter_chunks, name=name))
        # Zen serves DeepSeek on this route, which needs a tool-call turn's reasoning_content back.
        payload = openai_format.chat_payload(req, max_tokens_field="max_tokens", stream=stream, name=name,
                                             reasoning_back=True)
        return ("/chat/completions", None, self.auth_headers(key), payload,
                partial(openai_format.parse_chat, name=name), partial(openai_format.iter_chunks, name=name))

    def chat(self, req):
        path, params, headers, payload, parse, _ = self._route(req, stream=False)
        body = self.request_json("POST", path, params=params, json_body=payload, headers=headers,
                                 auth=False)
        return parse(body, req.model)

    def stream(self, req):
        path, params, headers, payload, _, chunks = self._route(req, stream=True)
        resp = self.request("POST", path, params=params, json_body=payload, headers=headers,
                            auth=False, stream=True)
        return chunks(self.stream_events(resp))
