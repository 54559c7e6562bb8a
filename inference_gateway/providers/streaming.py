"""Shared pieces of the adapters' streaming and translation helpers."""
from .. import errors


class ChunkStream:
    """The iterator `Provider.stream` returns: Chunks parsed from an open upstream response.

    `close()` closes the upstream response even when iteration never started (a plain generator
    that was never advanced skips its `finally`, which would leave the connection open)."""

    def __init__(self, resp, chunks):
        self._resp = resp
        self._chunks = chunks

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    def close(self):
        try:
            self._chunks.close()
        finally:
            self._resp.close()


def role_and_content(message):
    """(role, content) of a Message dataclass or a plain dict."""
    if isinstance(message, dict):
        return message.get("role"), message.get("content") or ""
    return message.role, message.content or ""


def system_texts(req):
    """The request's system prompt followed by its system-role messages, as a list of strings."""
    texts = [req.system] if req.system else []
    for message in req.messages:
        role, content = role_and_content(message)
        if role in ("system", "developer") and content:
            texts.append(content)
    return texts


def stream_cut(provider, what):
    return errors.UpstreamError(
        f"provider '{provider.config.name}' ended the stream early ({what}); the reply is incomplete")


def int_or_zero(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
