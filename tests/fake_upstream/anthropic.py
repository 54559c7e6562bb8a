"""Anthropic Messages wire format (also OpenCode's /messages)."""
import json

from . import rich
from .common import COST, SSE, Reply, paced, plan_turn, stamped, text_of, words

SYSTEM_ROLE = ('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
               'not "system" as an input message role.')


# The token details this wire format reports (tests/fake_upstream/rich.py).
REPORTED = ("cache_read", "cache_write")

def error(status, type, message, headers=None):
    return Reply(status, json={"type": "error", "error": {"type": type, "message": message}}, headers=headers)


def not_found(req):
    return error(404, "not_found_error", f"Not found: {req.method} /v1{req.path}")


def check_auth(req):
    if not req.headers.get("x-api-key"):
        return error(401, "authentication_error", "x-api-key header is required")
    if not req.headers.get("anthropic-version"):
        return error(401, "authentication_error", "anthropic-version header is required")
    return None


def route(up, req):
    if denied := check_auth(req):
        return denied
    if req.method == "GET" and req.path == "/models":
        return list_models(up, req)
    if req.method == "GET" and req.path.startswith("/models/"):
        return get_model(up, req.path[len("/models/"):])
    if req.method == "POST" and req.path == "/messages":
        return messages(up, req)
    if req.method == "POST" and req.path == "/messages/count_tokens":
        return count_tokens(req)
    return None


def count_tokens(req):
    """The chat token arithmetic's input count (common.py), without generating anything."""
    body = req.json if isinstance(req.json, dict) else {}
    if "max_tokens" in body:
        return error(400, "invalid_request_error", "max_tokens: Extra inputs are not permitted")
    texts = [text_of(body.get("system"))] + [text_of(m.get("content")) for m in body.get("messages") or []]
    return Reply(json={"input_tokens": 5 + sum(words(t) for t in texts)})


def _model(mid):
    if isinstance(mid, dict):
        return mid
    return {"type": "model", "id": mid, "display_name": mid.replace("-", " ").title(),
            "created_at": "2025-05-14T00:00:00Z"}


def list_models(up, req):
    """Paged with `limit` / `after_id`; a page never holds more than `up.page_size`."""
    ids = [_model(m) for m in up.models.get("anthropic", [])]
    try:
        limit = min(int(req.query.get("limit") or up.page_size), up.page_size)
    except ValueError:
        return error(400, "invalid_request_error", "limit: Input should be a valid integer")
    start = 0
    if req.query.get("after_id"):
        found = [i for i, m in enumerate(ids) if m["id"] == req.query["after_id"]]
        if not found:
            return error(400, "invalid_request_error", f"after_id: unknown id {req.query['after_id']!r}")
        start = found[0] + 1
    page = ids[start:start + limit]
    return Reply(json={"data": page, "has_more": start + limit < len(ids),
                       "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None})


def get_model(up, mid):
    for model in up.models.get("anthropic", []):
        if _model(model)["id"] == mid:
            return Reply(json=_model(model))
    return error(404, "not_found_error", f"model: {mid}")


def messages(up, req, opencode=False):
    body = req.json
    if not isinstance(body, dict):
        return error(400, "invalid_request_error", "The request body is not valid JSON.")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return error(400, "invalid_request_error", f"{name}: Field required")
    msgs = body["messages"]
    if not isinstance(msgs, list) or not msgs:
        return error(400, "invalid_request_error", "messages: at least one message is required")
    for i, msg in enumerate(msgs):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "system":
            return error(400, "invalid_request_error", SYSTEM_ROLE)
        if role not in ("user", "assistant"):
            return error(400, "invalid_request_error", f"messages.{i}.role: Input should be 'user' or 'assistant'")
    temperature = body.get("temperature")
    if isinstance(temperature, (int, float)) and not 0 <= temperature <= 1:
        return error(400, "invalid_request_error", "temperature: range: 0..1")
    wrong = check_rich(body, msgs)
    if wrong:
        return wrong
    users = [m for m in msgs if m["role"] == "user"]
    texts = [text_of(body.get("system"))] + [text_of(m.get("content")) for m in msgs]
    turn = plan_turn(up, texts, text_of(users[-1].get("content")) if users else "", body["max_tokens"])
    planned = rich.answer(up, read_rich(body, msgs))
    if planned is not None and planned.text is not None:
        turn.pieces = rich.words_of(planned.text)
    stop = "max_tokens" if turn.truncated else "end_turn"
    ident = f"msg_fake{len(up.requests)}"
    model = body["model"]
    extra = rich.details(up)
    usage = {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens,
             "cache_creation_input_tokens": extra.get("cache_write", 0),
             "cache_read_input_tokens": extra.get("cache_read", 0)}
    calls = planned.calls if planned is not None else []
    rich.record_usage(up, turn.input_tokens + extra.get("cache_write", 0) + extra.get("cache_read", 0),
                      turn.output_tokens, REPORTED)
    if body.get("stream"):
        return SSE(_events(up, ident, model, turn, stop, opencode, usage, calls))
    content = [{"type": "text", "text": turn.content}] if not calls else [
        {"type": "tool_use", "id": cid.replace("call_", "toolu_"), "name": name, "input": args}
        for cid, name, args in calls]
    reply = {"id": ident, "type": "message", "role": "assistant", "model": model,
             "content": content, "stop_reason": "tool_use" if calls else stop, "stop_sequence": None,
             "usage": usage}
    if opencode:
        reply["cost"] = COST
    return Reply(json=reply)


def check_rich(body, msgs):
    """Anthropic's own refusals: every tool_result answers a tool_use of the assistant turn just
    before it; image blocks have a base64 or url source; output_config needs a schema."""
    previous = set()
    for i, msg in enumerate(msgs):
        blocks = msg.get("content") if isinstance(msg.get("content"), list) else []
        for block in blocks:
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in previous:
                return error(400, "invalid_request_error", f"messages.{i}.content.0: unexpected `tool_use_id` found "
                             "in `tool_result` blocks. Each `tool_result` block must have a corresponding `tool_use` "
                             "block in the previous message.")
            if block.get("type") == "image" and (block.get("source") or {}).get("type") not in ("base64", "url"):
                return error(400, "invalid_request_error", f"messages.{i}.content: image source type is invalid")
        previous = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    fmt = (body.get("output_config") or {}).get("format")
    if fmt is not None and not isinstance(fmt.get("schema"), dict):
        return error(400, "invalid_request_error", "output_config.format.schema: Field required")
    return None


def read_rich(body, msgs):
    choice = body.get("tool_choice") or {}
    last = msgs[-1]
    blocks = last.get("content") if last["role"] == "user" and isinstance(last.get("content"), list) else []
    results = [text_of(b.get("content")) for b in blocks if b.get("type") == "tool_result"]
    images = [(b["source"].get("media_type") or "url") for b in blocks if b.get("type") == "image"]
    forced = choice.get("name") if choice.get("type") == "tool" else None
    return rich.Rich(tools=[t["name"] for t in body.get("tools") or []], forced=forced,
                     no_calls=choice.get("type") == "none", tool_results=results,
                     json=bool(body.get("output_config")), images=images, structured_tool=forced is not None)


def _events(up, ident, model, turn, stop, opencode, usage, calls):
    yield "message_start", {"type": "message_start", "message": {
        "id": ident, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}}
    if calls:
        for index, (cid, name, args) in enumerate(calls):
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": cid.replace("call_", "toolu_"), "name": name, "input": {}}}
            for piece in [""] + rich.pieces(json.dumps(args)):
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta", "partial_json": piece}}
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
        stop = "tool_use"
    else:
        yield "content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}}
        yield "ping", {"type": "ping"}
        for _, piece in paced(up, turn.pieces):
            yield "content_block_delta", stamped(up, {"type": "content_block_delta", "index": 0,
                                                      "delta": {"type": "text_delta", "text": piece}})
        yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                            "usage": {"output_tokens": turn.output_tokens}}
    yield "message_stop", {"type": "message_stop"}
    if opencode:
        yield "ping", {"type": "ping", "cost": COST}
