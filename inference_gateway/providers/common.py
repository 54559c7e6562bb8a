"""Small helpers the wire-format modules share."""
from inference_gateway import errors


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


def header(headers, name):
    """A response header by name, from requests' case-insensitive headers or a plain dict."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = {k.lower(): v for k, v in headers.items()}.get(name.lower())
    return value


def int_or_zero(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
