"""OpenAI wire format (also served as `compat`, and as OpenCode's /chat/completions)."""
import json
import math
import re
import time

from . import rich
from .common import (COST, PNG, PNG_B64, SSE, Reply, fake_vector, paced, plan_turn, stamped, text_of,
                     vector_base64, words)

REASONING = re.compile(r"^(o1|o3|o4|gpt-5)")
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
AUDIO_FORMATS = ["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"]
TRANSCRIPT = "hello from the fake upstream"
IMAGE_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056}


# The token details this wire format reports (tests/fake_upstream/rich.py).
REPORTED = ("cache_read", "reasoning")


def shown_reasoning(up, text):
    """A message's or delta's reasoning as the server played names it (`up.reasoning_fields`:
    DeepSeek's `reasoning_content`, OpenRouter's `reasoning`, or both as vLLM sent them for a while).
    OpenAI's own format has no such field: nothing unless `up.reasoning` is set."""
    return {name: text for name in up.reasoning_fields} if up.reasoning else {}


def error(status, message, type="invalid_request_error", param=None, code=None, headers=None):
    return Reply(status, json={"error": {"message": message, "type": type, "param": param, "code": code}},
                 headers=headers)


def not_found(req):
    return error(404, f"Invalid URL ({req.method} /v1{req.path})")


def check_auth(req):
    auth = req.headers.get("Authorization") or ""
    if not auth:
        return error(401, "You didn't provide an API key. You need to provide your API key in an "
                          "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    if not re.match(r"^Bearer \S+$", auth):
        return error(401, "Incorrect API key provided.", code="invalid_api_key")
    return None


def route(up, req, auth=True):
    if auth and (denied := check_auth(req)):
        return denied
    handler = ENDPOINTS.get((req.method, req.path))
    return handler(up, req) if handler else None


def route_compat(up, req):
    """An OpenAI-compatible server (vLLM, Ollama, LM Studio): same paths, no key needed."""
    return route(up, req, auth=False)


def route_files(up, req):
    """The image URLs dall-e replies point at."""
    if req.method == "GET" and req.path.endswith(".png"):
        return Reply(body=PNG, headers={"Content-Type": "image/png"})
    return None


def list_models(up, req, kind=None, owner="openai"):
    kind = kind or req.kind
    data = [m if isinstance(m, dict) else {"id": m, "object": "model", "created": 1700000000, "owned_by": owner}
            for m in up.models.get(kind, [])]
    return Reply(json={"object": "list", "data": data})


def _body(req):
    if not isinstance(req.json, dict):
        return None, error(400, "We could not parse the JSON body of your request. (HINT: This likely means "
                                "you aren't using your HTTP library correctly.)")
    return req.json, None


def chat(up, req, opencode=False):
    body, bad = _body(req)
    if bad:
        return bad
    model, messages = body.get("model"), body.get("messages")
    if not model:
        return error(400, "you must provide a model parameter")
    if messages is None:
        return error(400, "Missing required parameter: 'messages'.", param="messages",
                     code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        return error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                     param="messages", code="empty_array")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            return error(400, f"Invalid value: '{(msg or {}).get('role')}'. Supported values are: 'system', "
                              "'assistant', 'user', 'function', 'tool', and 'developer'.",
                         param=f"messages[{i}].role", code="invalid_value")
    if REASONING.match(model):
        if "max_tokens" in body:
            return error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                              "Use 'max_completion_tokens' instead.", param="max_tokens",
                         code="unsupported_parameter")
        if body.get("temperature") not in (None, 1):
            return error(400, f"Unsupported value: 'temperature' does not support {body['temperature']} with "
                              "this model. Only the default (1) value is supported.", param="temperature",
                         code="unsupported_value")
    if body.get("stream_options") is not None and not body.get("stream"):
        return error(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                     param="stream_options", code="invalid_value")
    wrong = check_rich(body, messages) or check_reasoning_back(up, messages)
    if wrong:
        return wrong
    users = [m for m in messages if m.get("role") == "user"]
    last_user = text_of(users[-1].get("content")) if users else ""
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    turn = plan_turn(up, [text_of(m.get("content")) for m in messages], last_user, limit)
    planned = rich.answer(up, read_rich(body, messages))
    if planned is not None and planned.text is not None:
        turn.pieces = rich.words_of(planned.text)
    finish = "length" if turn.truncated else "stop"
    extra = rich.details(up)
    usage = {"prompt_tokens": turn.input_tokens, "completion_tokens": turn.output_tokens + extra.get("reasoning", 0),
             "total_tokens": turn.input_tokens + turn.output_tokens}
    if extra:
        usage["prompt_tokens_details"] = {"cached_tokens": extra.get("cache_read", 0), "audio_tokens": 0}
        usage["completion_tokens_details"] = {"reasoning_tokens": extra.get("reasoning", 0), "audio_tokens": 0}
    ident = f"chatcmpl-fake{len(up.requests)}"
    if planned is not None and planned.calls:
        return tool_calls_reply(up, body, ident, model, planned.calls, usage, opencode)
    rich.record_usage(up, usage["prompt_tokens"], usage["completion_tokens"], REPORTED)
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return SSE(_chunks(up, ident, model, turn, finish, usage if include_usage else None, opencode))
    reply = {"id": ident, "object": "chat.completion", "created": int(time.time()), "model": model,
             "choices": [{"index": 0, "message": {"role": "assistant", "content": turn.content, "refusal": None,
                                                  **shown_reasoning(up, up.reasoning)},
                          "logprobs": None, "finish_reason": finish}],
             "usage": usage, "system_fingerprint": "fp_fake"}
    if opencode:
        reply["cost"] = COST
    return Reply(json=reply)


def check_rich(body, messages):
    """OpenAI's own refusals for tool turns: a tool message must answer a call of the assistant
    message before it; arguments are JSON text; images are image_url parts."""
    open_calls = set()
    for i, msg in enumerate(messages):
        if msg.get("role") == "assistant":
            for call in msg.get("tool_calls") or []:
                if not isinstance((call.get("function") or {}).get("arguments"), str):
                    return error(400, f"Invalid type for 'messages[{i}].tool_calls[0].function.arguments': expected "
                                      "a string.", param=f"messages[{i}].tool_calls", code="invalid_type")
            open_calls = {call.get("id") for call in msg.get("tool_calls") or []}
        elif msg.get("role") == "tool":
            if msg.get("tool_call_id") not in open_calls:
                return error(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                                  "message with 'tool_calls'.", param=f"messages.[{i}].role")
        content = msg.get("content")
        for part in content if isinstance(content, list) else []:
            if part.get("type") not in ("text", "image_url"):
                return error(400, f"Invalid value: '{part.get('type')}'.", param=f"messages[{i}].content[0].type")
    return None


def check_reasoning_back(up, messages):
    """DeepSeek's thinking mode (`up.reasoning_back_required`): an assistant turn with tool calls
    must carry its reasoning_content back, or the request is refused."""
    if not up.reasoning_back_required:
        return None
    for msg in messages:
        if msg.get("role") == "assistant" and msg.get("tool_calls") and not msg.get("reasoning_content"):
            return error(400, "The `reasoning_content` in the thinking mode must be passed back to the API.",
                         code="invalid_request_error")
    return None


def read_rich(body, messages):
    choice = body.get("tool_choice")
    fmt = (body.get("response_format") or {}).get("type")
    last = messages[-1]
    results = []
    for msg in reversed(messages):
        if msg.get("role") != "tool":
            break
        results.insert(0, text_of(msg.get("content")))
    images = []
    if last.get("role") == "user" and isinstance(last.get("content"), list):
        for part in last["content"]:
            if part.get("type") == "image_url":
                url = part["image_url"]["url"]
                images.append(url.split(";")[0][len("data:"):] if url.startswith("data:") else "url")
    return rich.Rich(tools=[t["function"]["name"] for t in body.get("tools") or []],
                     forced=choice["function"]["name"] if isinstance(choice, dict) else None,
                     no_calls=choice == "none", tool_results=results, json=fmt in ("json_object", "json_schema"),
                     images=images)


def tool_calls_reply(up, body, ident, model, calls, usage, opencode):
    arguments = [json.dumps(args) for _, _, args in calls]
    rich.record_usage(up, usage["prompt_tokens"], usage["completion_tokens"], REPORTED)
    if not body.get("stream"):
        message = {"role": "assistant", "content": None, "refusal": None, **shown_reasoning(up, up.reasoning),
                   "tool_calls": [{"id": cid, "type": "function", "function": {"name": name, "arguments": text}}
                                  for (cid, name, _), text in zip(calls, arguments)]}
        reply = {"id": ident, "object": "chat.completion", "created": int(time.time()), "model": model,
                 "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}],
                 "usage": usage}
        if opencode:
            reply["cost"] = COST
        return Reply(json=reply)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta, finish=None):
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def events():
        yield chunk({"role": "assistant", "content": None})
        yield from reasoning_chunks(up, chunk)
        for index, ((cid, name, _), text) in enumerate(zip(calls, arguments)):
            yield chunk({"tool_calls": [{"index": index, "id": cid, "type": "function",
                                         "function": {"name": name, "arguments": ""}}]})
            for piece in rich.pieces(text):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls")
        if include_usage:
            yield {**base, "choices": [], "usage": usage}
        yield "[DONE]"
    return SSE(events())


def reasoning_chunks(up, chunk):
    """The reasoning streamed word by word before the answer, with a null content as DeepSeek sends it."""
    for piece in rich.words_of(up.reasoning) if up.reasoning else ():
        yield chunk({"content": None, **shown_reasoning(up, piece)})


def _chunks(up, ident, model, turn, finish, usage, opencode):
    base = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_fake"}

    def chunk(delta, finish_reason=None):
        out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
        if usage:
            out["usage"] = None
        return out

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    yield from reasoning_chunks(up, chunk)
    for _, piece in paced(up, turn.pieces):
        yield stamped(up, chunk({"content": piece}))
    yield chunk({}, finish)
    if usage:
        yield {**base, "choices": [], "usage": usage}
    yield "[DONE]"
    if opencode:
        yield {"choices": [], "cost": COST}


def embeddings(up, req):
    body, bad = _body(req)
    if bad:
        return bad
    model, given = body.get("model"), body.get("input")
    if not model:
        return error(400, "you must provide a model parameter")
    items = [given] if isinstance(given, str) or (isinstance(given, list) and given
                                                  and isinstance(given[0], int)) else given
    if not isinstance(items, list) or not items or any(i in ("", []) for i in items):
        return error(400, "'$.input' is invalid. Please check the API reference: "
                          "https://platform.openai.com/docs/api-reference.", param="input")
    dims = body.get("dimensions")
    if dims is not None and not model.startswith("text-embedding-3"):
        return error(400, "This model does not support specifying dimensions.", param="dimensions")
    texts = [i if isinstance(i, str) else " ".join(map(str, i)) for i in items]
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = fake_vector(text, dims or 8)
        data.append({"object": "embedding", "index": index,
                     "embedding": vector_base64(vector) if as_base64 else vector})
    tokens = sum(words(t) for t in texts)
    # Reversed on purpose: a client must place each vector by its `index`.
    return Reply(json={"object": "list", "data": data[::-1], "model": model,
                       "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def images(up, req):
    body, bad = _body(req)
    if bad:
        return bad
    prompt, model, n = body.get("prompt"), body.get("model") or "dall-e-2", body.get("n", 1)
    if not prompt:
        return error(400, "Missing required parameter: 'prompt'.", param="prompt",
                     code="missing_required_parameter")
    if not isinstance(n, int) or n < 1 or n > 10:
        return error(400, f"Invalid 'n': {n}.", param="n", code="invalid_value")
    created = int(time.time())
    if model.startswith("gpt-image"):
        if "response_format" in body:
            return error(400, "Unknown parameter: 'response_format'.", param="response_format",
                         code="unknown_parameter")
        quality = body.get("quality") or "auto"
        text_tokens = words(prompt)
        out_tokens = IMAGE_TOKENS.get(quality, 1056) * n
        return Reply(json={"created": created, "background": "opaque", "output_format": "png",
                           "quality": quality, "size": body.get("size") or "1024x1024",
                           "data": [{"b64_json": PNG_B64} for _ in range(n)],
                           "usage": {"input_tokens": text_tokens, "output_tokens": out_tokens,
                                     "total_tokens": text_tokens + out_tokens,
                                     "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0}}})
    if model == "dall-e-3" and n != 1:
        return error(400, "Invalid 'n': integer above maximum value. Expected a value <= 1, but got "
                          f"{n} instead.", param="n", code="integer_above_max_value")
    fmt = body.get("response_format") or "url"
    if fmt not in ("url", "b64_json"):
        return error(400, f"Invalid value: '{fmt}'. Supported values are: 'url' and 'b64_json'.",
                     param="response_format", code="invalid_value")
    data = []
    for i in range(n):
        item = {"url": f"{up.url}/files/img-{len(up.requests)}-{i}.png"} if fmt == "url" else {"b64_json": PNG_B64}
        if model == "dall-e-3":
            item["revised_prompt"] = f"A detailed picture of {prompt}"
        data.append(item)
    return Reply(json={"created": created, "data": data})


def transcriptions(up, req):
    content_type = req.headers.get("Content-Type") or ""
    if not content_type.startswith("multipart/form-data") or req.form is None:
        return error(400, f"Invalid Content-Type header ({content_type}), expected multipart/form-data.")
    upload, model = req.form.get("file"), req.form.get("model")
    if not isinstance(upload, tuple):
        return error(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    if not model:
        return error(400, "you must provide a model parameter")
    filename, data = upload
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    if ext not in AUDIO_FORMATS:
        return error(400, f"Unrecognized file format. Supported formats: {AUDIO_FORMATS}", param="file")
    if up.max_upload is not None and len(data) > up.max_upload:
        return error(413, f"Maximum content size limit ({up.max_upload}) exceeded ({len(data)} bytes read)",
                     type="server_error")
    up.uploads.append((filename, len(data)))
    fmt = req.form.get("response_format") or "json"
    if fmt == "text":
        return Reply(body=TRANSCRIPT + "\n", headers={"Content-Type": "text/plain; charset=utf-8"})
    if model == "whisper-1":
        seconds = max(1, math.ceil(len(data) / 32000))  # as if 16 kHz 16-bit mono
        usage = {"type": "duration", "seconds": seconds}
    else:
        if fmt != "json":
            return error(400, f"response_format '{fmt}' is not compatible with model '{model}'. Use 'json' or "
                              "'text' instead.", param="response_format", code="unsupported_value")
        audio, text = 1 + len(data) // 1000, words(req.form.get("prompt"))
        out = words(TRANSCRIPT)
        usage = {"type": "tokens", "input_tokens": audio + text, "output_tokens": out,
                 "total_tokens": audio + text + out,
                 "input_token_details": {"text_tokens": text, "audio_tokens": audio}}
    if fmt == "verbose_json":
        return Reply(json={"task": "transcribe", "language": req.form.get("language") or "english",
                           "duration": float(usage["seconds"]), "text": TRANSCRIPT,
                           "segments": [{"id": 0, "start": 0.0, "end": float(usage["seconds"]),
                                         "text": TRANSCRIPT}], "usage": usage})
    if fmt != "json":
        return error(400, f"Invalid value: '{fmt}'.", param="response_format", code="invalid_value")
    return Reply(json={"text": TRANSCRIPT, "usage": usage})


ENDPOINTS = {
    ("GET", "/models"): list_models,
    ("POST", "/chat/completions"): chat,
    ("POST", "/embeddings"): embeddings,
    ("POST", "/images/generations"): images,
    ("POST", "/audio/transcriptions"): transcriptions,
}
