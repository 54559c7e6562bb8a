"""Gemini API (v1beta) wire format (also OpenCode's gemini-* routes)."""
import base64
import json
import re

from . import rich
from .common import COST, PNG_B64, SSE, Reply, fake_vector, paced, plan_turn, stamped, text_of

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
METHOD = re.compile(r"^/models/([^:/]+):(\w+)$")
REQUEST_FIELDS = {"contents", "systemInstruction", "generationConfig", "safetySettings", "tools", "toolConfig",
                  "cachedContent", "labels"}
CONFIG_FIELDS = {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
                 "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
                 "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
                 "thinkingConfig", "imageConfig", "mediaResolution"}
IMAGE_TOKENS = 1290


# The token details this wire format reports (tests/fake_upstream/rich.py).
REPORTED = ("cache_read", "reasoning")

def error(status, message, headers=None, details=None):
    err = {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}
    if details:
        err["details"] = details
    return Reply(status, json={"error": err}, headers=headers)


def not_found(req):
    return error(404, f"Method not found: {req.method} /v1beta{req.path}")


def check_auth(req):
    if not req.headers.get("x-goog-api-key"):
        return error(403, "Method doesn't allow unregistered callers (callers without established identity). "
                          "Please use API Key or other form of API consumer identity to call this API.")
    return None


def route(up, req, opencode=False):
    if not opencode and (denied := check_auth(req)):
        return denied
    if req.method == "GET" and req.path == "/models":
        return list_models(up, req)
    if req.method == "GET" and req.path.startswith("/models/"):
        return get_model(up, req.path[len("/models/"):])
    match = METHOD.match(req.path)
    if req.method != "POST" or not match:
        return None
    model, method = match.groups()
    if not isinstance(req.json, dict):
        return error(400, "Invalid JSON payload received.")
    if method == "generateContent":
        return generate(up, req, model, opencode)
    if method == "streamGenerateContent":
        return generate(up, req, model, opencode, stream=True)
    if method == "embedContent":
        return embed(req.json, model)
    if method == "batchEmbedContents":
        return batch_embed(req.json, model)
    return None


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _model(up, mid):
    if isinstance(mid, dict):
        return mid
    if "embedding" in mid:
        methods = ["embedContent", "batchEmbedContents", "countTextTokens"]
    else:
        methods = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
    return {"name": f"models/{mid}", "version": "001", "displayName": mid.replace("-", " ").title(),
            "description": f"Fake {mid}", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
            "supportedGenerationMethods": methods}


def list_models(up, req):
    """Paged with `pageSize` / `pageToken`; a page never holds more than `up.page_size`."""
    models = [_model(up, m) for m in up.models.get("google", [])]
    try:
        size = min(int(req.query.get("pageSize") or up.page_size), up.page_size)
        token = req.query.get("pageToken")
        start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:")) if token else 0
    except ValueError:
        return error(400, "Invalid page token or size.")
    reply = {"models": models[start:start + size]}
    if start + size < len(models):
        reply["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
    return Reply(json=reply)


def get_model(up, mid):
    for model in up.models.get("google", []):
        if _model(up, model)["name"] == f"models/{mid}":
            return Reply(json=_model(up, model))
    return error(404, f"models/{mid} is not found for API version v1beta, or is not supported for generateContent.")


def generate(up, req, model, opencode=False, stream=False):
    body = req.json
    unknown = sorted(k for k in body if _camel(k) not in REQUEST_FIELDS)
    if unknown:
        return error(400, f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
    config = body.get("generationConfig", body.get("generation_config")) or {}
    unknown = sorted(k for k in config if _camel(k) not in CONFIG_FIELDS)
    if unknown:
        return error(400, f'Invalid JSON payload received. Unknown name "{unknown[0]}" at \'generation_config\': '
                          "Cannot find field.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return error(400, "* GenerateContentRequest.contents: contents is not specified")
    for content in contents:
        if content.get("role", "user") not in ("user", "model"):
            return error(400, "Please use a valid role: user, model.")
        if not content.get("parts"):
            return error(400, "* GenerateContentRequest.contents.parts: contents.parts must not be empty.")
    system = body.get("systemInstruction", body.get("system_instruction")) or {}
    texts = [text_of(system.get("parts"))] + [text_of(c["parts"]) for c in contents]
    users = [c for c in contents if c.get("role", "user") == "user"]
    limit = config.get("maxOutputTokens", config.get("max_output_tokens"))
    turn = plan_turn(up, texts, text_of(users[-1]["parts"]) if users else "", limit)
    modalities = [m.upper() for m in config.get("responseModalities", config.get("response_modalities")) or []]
    if "IMAGE" in modalities:
        parts = [{"text": "Here is the image you asked for."}] if "TEXT" in modalities else []
        parts.append({"inlineData": {"mimeType": "image/png", "data": PNG_B64}})
        reply = _response(model, parts, "STOP", _usage(turn.input_tokens, IMAGE_TOKENS))
        up.last_usage = {"inputTokens": turn.input_tokens, "outputTokens": IMAGE_TOKENS}
        return Reply(json=_cost(reply, opencode))
    wrong = check_rich(up, body, contents)
    if wrong:
        return wrong
    planned = rich.answer(up, read_rich(body, contents, config))
    if planned is not None and planned.text is not None:
        turn.pieces = rich.words_of(planned.text)
    finish = "MAX_TOKENS" if turn.truncated else "STOP"
    usage = _usage(turn.input_tokens, turn.output_tokens)
    extra = rich.details(up)
    if extra.get("cache_read"):
        usage["cachedContentTokenCount"] = extra["cache_read"]
    if extra.get("reasoning"):
        usage["thoughtsTokenCount"] = extra["reasoning"]
    rich.record_usage(up, turn.input_tokens, turn.output_tokens + extra.get("reasoning", 0), REPORTED)
    if planned is not None and planned.calls:
        parts = []
        for index, (_, name, args) in enumerate(planned.calls):
            part = {"functionCall": {"name": name, "args": args}}
            if index == 0:  # as Gemini does: the signature rides on the first call of a turn
                signature = f"sig-{up.call_count}-{name}"
                up.signatures.add(signature)
                part["thoughtSignature"] = signature
            parts.append(part)
        reply = _cost(_response(model, parts, "STOP", usage), opencode)
        return SSE([reply]) if stream else Reply(json=reply)
    if stream:
        chunks = _chunks(up, model, turn, finish, usage, opencode)
        if req.query.get("alt") == "sse":
            return SSE(chunks)
        return Reply(json=list(chunks))  # without alt=sse: one JSON array
    return Reply(json=_cost(_response(model, [{"text": turn.content}], finish, usage), opencode))


def check_rich(up, body, contents):
    """Gemini's own refusals: a function call the fake made (in rich mode) must come back with its
    thoughtSignature (as Gemini 3 requires), a functionResponse must name a declared function,
    images are inline."""
    declared = {d.get("name") for tool in body.get("tools") or [] for d in tool.get("functionDeclarations") or []}
    for i, content in enumerate(contents):
        calls = [p for p in content["parts"] if "functionCall" in p]
        if up.rich and calls and calls[0].get("thoughtSignature") not in up.signatures:
            return error(400, f"Function call is missing a thought_signature in functionCall parts. This is required "
                              f"for tools to work correctly. Additional data, function call `default_api:"
                              f"{calls[0]['functionCall'].get('name')}` , position {i + 1}.")
        for part in content["parts"]:
            response = part.get("functionResponse")
            if response is not None and (response.get("name") not in declared
                                         or not isinstance(response.get("response"), dict)):
                return error(400, f"* GenerateContentRequest.contents[{i}].parts: functionResponse.name "
                                  f"{response.get('name')!r} is not a declared function")
            if "fileData" in part or ("inlineData" in part and not part["inlineData"].get("data")):
                return error(400, f"* GenerateContentRequest.contents[{i}].parts: the fake takes inline images only")
    return None


def read_rich(body, contents, config):
    calling = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {})
    allowed = calling.get("allowedFunctionNames") or []
    last = contents[-1]["parts"] if contents[-1].get("role", "user") == "user" else []
    results = []
    for part in last:
        if "functionResponse" in part:
            response = part["functionResponse"]["response"]
            results.append(str(response.get("output", json.dumps(response))))
    return rich.Rich(tools=[d["name"] for tool in body.get("tools") or [] for d in tool.get("functionDeclarations") or []],
                     forced=allowed[0] if calling.get("mode") == "ANY" and allowed else None,
                     no_calls=calling.get("mode") == "NONE", tool_results=results,
                     json=config.get("responseMimeType") == "application/json",
                     images=[p["inlineData"]["mimeType"] for p in last if "inlineData" in p])


def _usage(prompt, candidates):
    return {"promptTokenCount": prompt, "candidatesTokenCount": candidates, "totalTokenCount": prompt + candidates}


def _response(model, parts, finish=None, usage=None):
    candidate = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    reply = {"candidates": [candidate], "modelVersion": model, "responseId": "fake-response"}
    if usage:
        reply["usageMetadata"] = usage
    return reply


def _cost(reply, opencode):
    if opencode:
        reply["cost"] = COST
    return reply


def _chunks(up, model, turn, finish, usage, opencode):
    pieces = turn.pieces or [""]
    for index, piece in paced(up, pieces):
        last = index == len(pieces) - 1
        chunk = _response(model, [{"text": piece}], finish if last else None, usage if last else None)
        yield stamped(up, _cost(chunk, opencode and last))


def embed(body, model):
    content = body.get("content")
    if not isinstance(content, dict) or not content.get("parts"):
        return error(400, "* EmbedContentRequest.content: content is not specified")
    dims = body.get("outputDimensionality", body.get("output_dimensionality")) or 8
    return Reply(json={"embedding": {"values": fake_vector(text_of(content["parts"]), dims)}})


def batch_embed(body, model):
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return error(400, "* BatchEmbedContentsRequest.requests: requests is not specified")
    out = []
    for i, request in enumerate(requests):
        if request.get("model") != f"models/{model}":
            return error(400, f"* BatchEmbedContentsRequest.requests[{i}].model: the model of each request must "
                              f"be models/{model}, the model in the URL")
        reply = embed(request, model)
        if reply.status != 200:
            return reply
        out.append(reply.json["embedding"])
    return Reply(json={"embeddings": out})
