"""Gemini API wire format: pure translation, shared by the Google and OpenCode adapters.
Data in, data out: no HTTP here, and errors name the provider by the `name` they are given."""
import json
import secrets
from math import gcd

from inference_gateway import errors
from inference_gateway.errors import UpstreamFailure
from inference_gateway.types import (Chunk, Completion, Image, ImagePart, ModelInfo, TextPart, Thought, ThoughtDelta,
                                     ToolCall, ToolCallDelta, Usage)
from inference_gateway.providers.common import (event_json, int_or_zero, parts_of, role_and_content, stream_cut,
                                                stream_failed, system_texts, text_field, unsupported)

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
FILTERED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
# imageConfig.aspectRatio values the Gemini image models take.
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
CALLING_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


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


# -- neutral -> Gemini ----------------------------------------------------------------------------
def wire_part(part, name):
    if isinstance(part, TextPart):
        return {"text": part.text}  # Gemini caches by itself: cacheControl is ignored
    if part.url:
        # The gateway does not fetch URLs for a provider (a fetch from the gateway's network on a
        # caller's say-so is a server-side request forgery risk): send the bytes as data.
        raise unsupported(name, "image URLs (Gemini takes inline images: send data + mimeType)")
    return {"inlineData": {"mimeType": part.mime_type, "data": part.data}}


def function_response(message, calls, name):
    """A tool result as a `functionResponse` (named after its call) and any image parts beside it."""
    call = calls.get(message.tool_call_id)
    if call is None:
        raise errors.BadRequest(f"the tool result for '{message.tool_call_id}' matches no earlier tool call: "
                                "Gemini needs the called function's name")
    content = message.content
    text = content if isinstance(content, str) else "".join(
        p.text for p in content if isinstance(p, TextPart))
    try:
        response = json.loads(text)
    except ValueError:
        response = None
    if not isinstance(response, dict):
        # Gemini reads the "output" key as the function's output.
        response = {"output": text}
    images = [] if isinstance(content, str) else [wire_part(p, name) for p in content if isinstance(p, ImagePart)]
    return [{"functionResponse": {"name": call.name, "response": response}}] + images


def thought_part(thought):
    """A thought sent back as the part it came as (with its signature); None for one without a
    signature (a summary Gemini does not need back) or another provider's redacted thinking."""
    if not thought.signature or thought.redacted:
        return None
    return {"text": thought.text, "thought": True, "thoughtSignature": thought.signature}


def model_turn(message, name):
    parts = [p for p in map(thought_part, message.thoughts) if p is not None]
    parts += [wire_part(part, name) for part in parts_of(message.content)]
    for call in message.tool_calls:
        part = {"functionCall": {"name": call.name, "args": call.arguments}}
        if call.signature:
            part["thoughtSignature"] = call.signature
        parts.append(part)
    return {"role": "model", "parts": parts}


def contents_payload(req, name):
    contents, calls = [], {}
    for message in req.messages:
        role, content = role_and_content(message)
        if role in ("system", "developer"):
            continue
        if role == "tool":
            parts = function_response(message, calls, name)
            last = contents[-1] if contents else None
            if last and last["role"] == "user" and "functionResponse" in last["parts"][0]:
                last["parts"].extend(parts)  # parallel calls are answered in one turn
            else:
                contents.append({"role": "user", "parts": parts})
        elif role == "assistant":
            calls.update((call.id, call) for call in message.tool_calls)
            contents.append(model_turn(message, name) if message.tool_calls or message.thoughts else
                            {"role": "model", "parts": [wire_part(p, name) for p in parts_of(content)]
                             if not isinstance(content, str) else [{"text": content}]})
        else:
            contents.append({"role": "user", "parts": [{"text": content}] if isinstance(content, str)
                             else [wire_part(p, name) for p in content]})
    return contents


def generate_payload(req, *, name="google"):
    """The `:generateContent` body: assistant turns are `model`, system text is `systemInstruction`,
    tool results are `functionResponse` parts named after their call in the history."""
    payload = {"contents": contents_payload(req, name)}
    system = system_texts(req)
    if system:
        payload["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if req.tools:
        payload["tools"] = [{"functionDeclarations": [
            {"name": tool.name, **({"description": tool.description} if tool.description else {}),
             "parametersJsonSchema": tool.parameters} for tool in req.tools]}]
    choice = req.tool_choice
    if choice is not None:
        config = ({"mode": "ANY", "allowedFunctionNames": [choice["name"]]} if isinstance(choice, dict)
                  else {"mode": CALLING_MODES[choice]})
        payload["toolConfig"] = {"functionCallingConfig": config}
    config = {}
    if req.max_tokens is not None:
        config["maxOutputTokens"] = req.max_tokens
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if req.top_p is not None:
        config["topP"] = req.top_p
    if req.stop:
        config["stopSequences"] = list(req.stop)
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema":
            config["responseJsonSchema"] = fmt.schema
    if req.reasoning is not None or req.top_k is not None:
        reasoning_config(config, req, name)
    if config:
        payload["generationConfig"] = config
    return payload


# reasoning effort -> thinkingLevel (Gemini 3; 2.5 takes a thinkingBudget instead).
THINKING_LEVELS = ("minimal", "low", "medium", "high")


def reasoning_config(config, req, name):
    """topK, and `thinkingConfig`: thinkingBudget (-1 lets the model decide, 0 turns thinking off),
    thinkingLevel from an effort, includeThoughts to see the thought summaries."""
    if req.top_k is not None:
        config["topK"] = req.top_k
    reasoning = req.reasoning
    if reasoning is None:
        return
    thinking = {}
    if reasoning.budget_tokens is not None:
        thinking["thinkingBudget"] = reasoning.budget_tokens
    elif reasoning.mode == "adaptive":
        thinking["thinkingBudget"] = -1
    elif reasoning.mode == "disabled" or reasoning.effort == "none":
        thinking["thinkingBudget"] = 0
    if reasoning.effort not in (None, "none"):
        if reasoning.effort not in THINKING_LEVELS:
            raise unsupported(name, f"reasoning effort '{reasoning.effort}' (Gemini's thinkingLevel takes "
                                    + ", ".join(THINKING_LEVELS) + ")")
        if "thinkingBudget" in thinking:
            raise unsupported(name, "a thinking budget together with a reasoning effort (Gemini takes "
                                    "thinkingBudget or thinkingLevel, not both)")
        thinking["thinkingLevel"] = reasoning.effort
    if reasoning.summary not in (None, "omitted"):
        thinking["includeThoughts"] = True
    if thinking:
        config["thinkingConfig"] = thinking


# -- Gemini -> neutral ----------------------------------------------------------------------------
def parse_usage(meta):
    if not isinstance(meta, dict):
        return Usage()
    # Thinking tokens are billed as output but not counted in candidatesTokenCount.
    thoughts = int_or_zero(meta.get("thoughtsTokenCount"))
    return Usage(int_or_zero(meta.get("promptTokenCount")),
                 int_or_zero(meta.get("candidatesTokenCount")) + thoughts,
                 cache_read_tokens=int_or_zero(meta.get("cachedContentTokenCount")),
                 reasoning_tokens=thoughts)


def blocked(body, name):
    """The error for a reply without candidates (the prompt itself was blocked)."""
    feedback = body.get("promptFeedback") or {} if isinstance(body, dict) else {}
    reason = feedback.get("blockReason")
    if reason:
        detail = feedback.get("blockReasonMessage")
        why = f"{reason}: {detail}" if detail else reason
        return errors.UpstreamError(f"provider '{name}' blocked the prompt ({why})", status=400)
    return errors.UpstreamError(f"provider '{name}' sent a reply with no candidates")


def candidate_parts(body):
    """The first candidate and its parts (`thought` parts among them)."""
    candidates = body.get("candidates") if isinstance(body, dict) else None
    if not candidates or not isinstance(candidates[0], dict):
        return None, []
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts") or []
    return candidate, [part for part in parts if isinstance(part, dict)]


def thought(part):
    return Thought(part.get("text") or "", part.get("thoughtSignature") or None)


def call_id(call):
    """Gemini's own call id, or one made up: our tool results name their call by id."""
    return call.get("id") or "call_" + secrets.token_hex(8)


def tool_call(part):
    call = part["functionCall"]
    args = call.get("args") if isinstance(call.get("args"), dict) else {}
    return ToolCall(call_id(call), call.get("name") or "", args, part.get("thoughtSignature"))


def reply_reason(candidate, has_calls):
    """Gemini ends a turn that calls functions with STOP; ours says tool_calls."""
    reason = finish_reason(candidate.get("finishReason"))
    return "tool_calls" if reason == "stop" and has_calls else reason


def parse_generate(body, model, *, name="google"):
    candidate, parts = candidate_parts(body)
    if candidate is None:
        raise blocked(body, name)
    text = "".join(part.get("text") or "" for part in parts if not part.get("thought"))
    calls = [tool_call(part) for part in parts if isinstance(part.get("functionCall"), dict)]
    return Completion(content=text, model=model, usage=parse_usage(body.get("usageMetadata")),
                      finish_reason=reply_reason(candidate, bool(calls)), tool_calls=calls,
                      thoughts=[thought(part) for part in parts if part.get("thought")])


def iter_chunks(events, *, name="google"):
    """Chunks from `:streamGenerateContent?alt=sse`, which ends at EOF with no terminator.

    Every complete stream carries a finishReason on its last chunk; EOF before one is a cut.
    Function calls arrive whole: each is one ToolCallDelta with all its arguments."""
    # Consecutive thought parts (across chunks too) are pieces of one Thought.
    finished, calls, thoughts, thinking = False, 0, 0, False
    for event in events:
        if event.event == "ping":
            continue
        payload = event_json(event, name)
        if isinstance(payload, list):  # a JSON-array error body
            payload = payload[0] if payload else {}
        if not isinstance(payload, dict):
            continue
        if payload.get("error"):
            raise stream_failed(name, parse_error(200, payload, {}))
        if payload.get("type") == "ping":  # OpenCode Zen's closing cost chunk
            continue
        candidate, parts = candidate_parts(payload)
        if candidate is None and (payload.get("promptFeedback") or {}).get("blockReason"):
            raise blocked(payload, name)
        for part in parts:
            if part.get("thought"):
                if not thinking:
                    thinking, thoughts = True, thoughts + 1
                yield Chunk(thoughts=(ThoughtDelta(thoughts - 1, part.get("text") or "",
                                                   part.get("thoughtSignature") or None),))
                continue
            thinking = False
            if part.get("text"):
                yield Chunk(text=part["text"])
            if isinstance(part.get("functionCall"), dict):
                call = tool_call(part)
                yield Chunk(tool_calls=(ToolCallDelta(calls, call.id, call.name, json.dumps(call.arguments),
                                                      call.signature),))
                calls += 1
        reason = reply_reason(candidate or {}, calls > 0)
        finished = finished or reason is not None
        meta = payload.get("usageMetadata")
        usage = parse_usage(meta) if isinstance(meta, dict) else None
        if usage or reason:
            yield Chunk(usage=usage, finish_reason=reason)
    if not finished:
        raise stream_cut(name, "no finishReason")


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


def parse_embeddings(body, count, *, name="google"):
    if not isinstance(body, dict):
        body = {}
    if "embedding" in body:
        found = [body["embedding"]]
    else:
        found = body.get("embeddings") or []
    vectors = [item.get("values") for item in found if isinstance(item, dict)]
    if len(vectors) != count or any(v is None for v in vectors):
        raise errors.UpstreamError(
            f"provider '{name}' returned {len(vectors)} embeddings for {count} inputs")
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


def parse_images(body, *, name="google"):
    candidate, parts = candidate_parts(body)
    if candidate is None:
        raise blocked(body, name)
    parts = [part for part in parts if not part.get("thought")]
    images = [Image(b64_json=part["inlineData"].get("data"),
                    mime_type=part["inlineData"].get("mimeType"))
              for part in parts if isinstance(part.get("inlineData"), dict)]
    if not images:
        said = " ".join(part.get("text") or "" for part in parts).strip()
        reason = candidate.get("finishReason") or "no reason given"
        raise errors.UpstreamError(
            f"provider '{name}' returned no image ({reason})"
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


def model_info(item):
    """A listed model (an item of GET /models' `models`, named "models/ID"), or None without a name."""
    name = text_field(item, "name")
    if name is None:
        return None
    model_id, methods = bare_model(name), item.get("supportedGenerationMethods")
    return ModelInfo(model_id, text_field(item, "displayName"),
                     capabilities(model_id, methods if isinstance(methods, list) else []))
