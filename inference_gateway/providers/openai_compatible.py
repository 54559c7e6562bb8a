"""OpenAI-compatible adapter (vLLM, Ollama, llama.cpp, LM Studio, ...): the OpenAI format,
with the choices that suit servers other than OpenAI's."""
from inference_gateway import errors
from inference_gateway.providers.openai import OpenAIProvider


def compatible_capabilities(model_id):
    """Local servers name models freely; guess from the id, and assume chat otherwise."""
    mid = model_id.lower()
    if "embed" in mid:
        return ["embed"]
    if "whisper" in mid or "transcribe" in mid:
        return ["transcribe"]
    return ["chat"]


class OpenAICompatibleProvider(OpenAIProvider):
    type = "openai-compatible"
    label = "OpenAI-compatible"
    default_base_url = None
    key_required = False
    # Most of these servers know `max_tokens` only; `max_completion_tokens` would be ignored.
    max_tokens_field = "max_tokens"
    # Streams still ask for `stream_options.include_usage` (vLLM, Ollama, llama.cpp and LM Studio
    # accept it and otherwise report no usage); a stream that reached its finish_reason may end at
    # EOF without `[DONE]`, which a few servers omit.
    require_done = False
    # DeepSeek (and the servers that serve it) need a tool-call turn's reasoning_content back.
    reasoning_back = True

    def capabilities(self, model_id):
        return compatible_capabilities(model_id)

    def images(self, req):
        raise errors.unsupported(self.config.name, "image generation")
