"""OpenCode Zen: one key, three wire formats chosen by model family, a `cost` on every reply."""
from . import anthropic, google, openai
from .common import Reply


def error(status, type, message):
    return Reply(status, json={"type": "error", "error": {"type": type, "message": message}})


def not_found(req):
    return error(404, "NotFoundError", f"Not found: {req.method} /zen/v1{req.path}")


def has_key(req):
    auth = req.headers.get("Authorization") or ""
    bearer = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
    return bool(bearer or req.headers.get("x-api-key") or req.headers.get("x-goog-api-key"))


def route(up, req):
    if req.method == "GET" and req.path == "/models":
        return openai.list_models(up, req, "opencode", owner="opencode")
    if not has_key(req):
        return error(401, "AuthError", "Missing API key.")
    if req.method == "POST" and req.path == "/chat/completions":
        return openai.chat(up, req, opencode=True)
    if req.method == "POST" and req.path == "/messages":
        return anthropic.messages(up, req, opencode=True)
    if req.path.startswith("/models/") and ":" in req.path:
        return google.route(up, req, opencode=True)
    return None
