"""Anthropic Messages wire format (also OpenCode's /messages)."""
from .common import COST, SSE, Reply, paced, plan_turn, stamped, text_of, words

SYSTEM_ROLE = ('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
               'not "system" as an input message role.')


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
    users = [m for m in msgs if m["role"] == "user"]
    texts = [text_of(body.get("system"))] + [text_of(m.get("content")) for m in msgs]
    turn = plan_turn(up, texts, text_of(users[-1].get("content")) if users else "", body["max_tokens"])
    stop = "max_tokens" if turn.truncated else "end_turn"
    ident = f"msg_fake{len(up.requests)}"
    model = body["model"]
    if body.get("stream"):
        return SSE(_events(up, ident, model, turn, stop, opencode))
    reply = {"id": ident, "type": "message", "role": "assistant", "model": model,
             "content": [{"type": "text", "text": turn.content}], "stop_reason": stop, "stop_sequence": None,
             "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens,
                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
    if opencode:
        reply["cost"] = COST
    return Reply(json=reply)


def _events(up, ident, model, turn, stop, opencode):
    yield "message_start", {"type": "message_start", "message": {
        "id": ident, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": turn.input_tokens, "output_tokens": 1,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}
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
