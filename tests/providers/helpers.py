"""Helpers for the adapter tests."""
import json
import pathlib

from inference_gateway.types import ChatRequest, Message

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "providers"


def load(kind, name):
    """A recorded reply: decoded JSON for .json files, raw bytes for .sse streams."""
    path = FIXTURES / kind / name
    return json.loads(path.read_text()) if name.endswith(".json") else path.read_bytes()


def sent_json(call):
    return json.loads(call.request.body)


def add_sse(rsps, method, url, body, status=200, **kwargs):
    rsps.add(method, url, body=body, status=status, content_type="text/event-stream", **kwargs)


def chat_request(model, **kwargs):
    messages = kwargs.pop("messages", [Message("user", "Hello?")])
    return ChatRequest(model=model, messages=messages, **kwargs)
