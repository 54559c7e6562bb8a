"""Gemini API wire format: pure translation, shared by the Google and OpenCode adapters."""
from math import gcd

from inference_gateway import errors
from inference_gateway.types import Chunk, Completion, Image, Usage
from inference_gateway.providers.base import UpstreamFailure
from inference_gateway.providers.common import int_or_zero, role_and_content, stream_cut, system_texts

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
FILTERED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
# imageConfig.aspectRatio values the Gemini image models take.
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def auth_headers(key):
    return {"x-goog-api-key": key}


def bare_model(model):
    return model[len("models/"):] if model.startswith("models/") else model


def finish_reason(value):
    if not value:
        return None
    if value in FILTERED:
        return "content_filter"
    return FINISH_REASONS.get(value, str(value).lower())


def generate_payload(req):
    """The `:generateContent` body: assistant turns are `model`, system text is `systemInstruction`."""
    contents = []
    for message in req.messages:
        role, content = role_and_content(message)
        if role in ("system", "developer"):
            continue
        contents.append({"role": "model" if role == "assistant" else "user",
                         "parts": [{"text": content}]})
    payload = {"contents": contents}
    system = system_texts(req)
    if system:
        payload["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = {}
    if req.max_tokens is not None:
        config["maxOutputTokens"] = req.max_tokens
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if req.top_p is not None:
        config["topP"] = req.top_p
    if req.stop:
        config["stopSequences"] = list(req.stop)
    if config:
        payload["generationConfig"] = config
    return payload


def parse_usage(meta):
    if not isinstance(meta, dict):
        return Usage()
    # Thinking tokens are billed as output but not counted in candidatesTokenCount.
    return Usage(int_or_zero(meta.get("promptTokenCount")),
                 int_or_zero(meta.get("candidatesTokenCount"))
                 + int_or_zero(meta.get("thoughtsTokenCount")))


def blocked(provider, body):
    """The error for a reply without candidates (the prompt itself was blocked)."""
    feedback = body.get("promptFeedback") or {} if isinstance(body, dict) else {}
    reason = feedback.get("blockReason")
    if reason:
        detail = feedback.get("blockReasonMessage")
        why = f"{reason}: {detail}" if detail else reason
        return errors.UpstreamError(
            f"provider '{provider.config.name}' blocked the prompt ({why})", status=400)
    return errors.UpstreamError(f"provider '{provider.config.name}' sent a reply with no candidates")


def candidate_parts(body):
    """The first candidate and its parts, without `thought` parts."""
    candidates = body.get("candidates") if isinstance(body, dict) else None
    if not candidates or not isinstance(candidates[0], dict):
        return None, []
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    return candidate, [part for part in parts if isinstance(part, dict) and not part.get("thought")]


def parse_generate(provider, body, model):
    candidate, parts = candidate_parts(body)
    if candidate is None:
        raise blocked(provider, body)
    text = "".join(part.get("text") or "" for part in parts)
    return Completion(content=text, model=model, usage=parse_usage(body.get("usageMetadata")),
                      finish_reason=finish_reason(candidate.get("finishReason")))


def iter_chunks(provider, events):
    """Chunks from `:streamGenerateContent?alt=sse`, which ends at EOF with no terminator.

    Every complete stream carries a finishReason on its last chunk; EOF before one is a cut."""
    finished = False
    for event in events:
        if event.event == "ping":
            continue
        payload = provider.event_json(event)
        if isinstance(payload, list):  # a JSON-array error body
            payload = payload[0] if payload else {}
        if not isinstance(payload, dict):
            continue
        if payload.get("error"):
            raise provider.stream_error(payload)
        if payload.get("type") == "ping":  # OpenCode Zen's closing cost chunk
            continue
        candidate, parts = candidate_parts(payload)
        if candidate is None and (payload.get("promptFeedback") or {}).get("blockReason"):
            raise blocked(provider, payload)
        for part in parts:
            if part.get("text"):
                yield Chunk(text=part["text"])
        reason = finish_reason((candidate or {}).get("finishReason"))
        finished = finished or reason is not None
        meta = payload.get("usageMetadata")
        usage = parse_usage(meta) if isinstance(meta, dict) else None
        if usage or reason:
            yield Chunk(usage=usage, finish_reason=reason)
    if not finished:
        raise stream_cut(provider, "no finishReason")


def parse_duration(value):
    """A protobuf Duration string ("37s", "1.5s") in seconds, or None."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return max(0.0, float(value.strip().rstrip("s")))
    except ValueError:
        return None


def parse_error(status, body, headers):
    """`{"error": {"code", "message", "status", "details"}}`; RetryInfo gives the wait."""
    if isinstance(body, list):
        body = body[0] if body else None
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        message = err if isinstance(err, str) else None
        return UpstreamFailure(str(message or f"HTTP {status}"))
    text = str(err.get("message") or f"HTTP {status}")
    if err.get("status") and err["status"] not in text:
        text = f"{text} ({err['status']})"
    retry_after = None
    for detail in err.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == RETRY_INFO:
            retry_after = parse_duration(detail.get("retryDelay"))
    return UpstreamFailure(text, retry_after=retry_after)


def content(text):
    return {"parts": [{"text": text}]}


def embed_payload(req):
    """(path suffix, body): `:embedContent` for one input, `:batchEmbedContents` for several."""
    model = bare_model(req.model)
    extra = {"outputDimensionality": req.dimensions} if req.dimensions is not None else {}
    if len(req.inputs) == 1:
        return ":embedContent", {"content": content(req.inputs[0]), **extra}
    requests = [{"model": f"models/{model}", "content": content(text), **extra} for text in req.inputs]
    return ":batchEmbedContents", {"requests": requests}


def parse_embeddings(provider, body, count):
    if not isinstance(body, dict):
        body = {}
    if "embedding" in body:
        found = [body["embedding"]]
    else:
        found = body.get("embeddings") or []
    vectors = [item.get("values") for item in found if isinstance(item, dict)]
    if len(vectors) != count or any(v is None for v in vectors):
        raise errors.UpstreamError(
            f"provider '{provider.config.name}' returned {len(vectors)} embeddings for {count} inputs")
    return vectors


def aspect_ratio(size):
    """imageConfig.aspectRatio for a size ("1024x1536" or "2:3"); None for auto/unset."""
    if not size or size == "auto":
        return None
    if size in ASPECT_RATIOS:
        return size
    width, _, height = size.partition("x")
    if width.isdigit() and height.isdigit() and int(width) and int(height):
        divisor = gcd(int(width), int(height))
        ratio = f"{int(width) // divisor}:{int(height) // divisor}"
        if ratio in ASPECT_RATIOS:
            return ratio
    raise errors.BadRequest(
        f"size '{size}' is not available for Gemini image models; use auto, an aspect ratio ("
        + ", ".join(ASPECT_RATIOS) + ") or a WIDTHxHEIGHT with one of those ratios")


def image_payload(prompt, ratio):
    config = {"responseModalities": ["IMAGE"]}
    if ratio:
        config["imageConfig"] = {"aspectRatio": ratio}
    return {"contents": [{"role": "user", "parts": [{"text": prompt}]}], "generationConfig": config}


def parse_images(provider, body):
    candidate, parts = candidate_parts(body)
    if candidate is None:
        raise blocked(provider, body)
    images = [Image(b64_json=part["inlineData"].get("data"),
                    mime_type=part["inlineData"].get("mimeType"))
              for part in parts if isinstance(part.get("inlineData"), dict)]
    if not images:
        said = " ".join(part.get("text") or "" for part in parts).strip()
        reason = candidate.get("finishReason") or "no reason given"
        raise errors.UpstreamError(
            f"provider '{provider.config.name}' returned no image ({reason})"
            + (f": {said}" if said else ""))
    return images, parse_usage(body.get("usageMetadata"))


def capabilities(model_id, methods):
    caps = []
    if "generateContent" in methods:
        caps.append("chat")
        if "-image" in model_id:
            caps.append("image")
    if "embedContent" in methods or "batchEmbedContents" in methods:
        caps.append("embed")
    return caps
