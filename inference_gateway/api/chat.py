"""Chat: JSON completion, SSE stream, and the WebSocket route."""
from flask import Blueprint, Response

from inference_gateway.gateway.chat import (
    chat_request, complete, open_stream as open_chat_stream, reasoning_fields, tool_call_dict)
from inference_gateway.web.envelope import encode_json, ok
from inference_gateway.web.openapi import UPSTREAM_ERRORS, describe
from inference_gateway.api.replies import ChatReply
from inference_gateway.api.fast_chat import load_chat
from inference_gateway.api.schemas import ChatSchema
from inference_gateway.api.calls import keep_response, logged_call, open_adapter
from inference_gateway.web.body import json_body

bp = Blueprint("chat", __name__)

STREAM_EVENTS = (
    "One `data: {json}` line per event: `message_start` {requestId, model, provider}, then "
    "`content_block_delta` {delta: {text}} per text delta and `tool_call_delta` {index, id?, name?, "
    "arguments: <partial JSON text>} per piece of a tool call, `thinking_delta` {index, text, signature?, "
    "redacted?} per piece of the model's reasoning when the provider shows it, then `message_stop` "
    "{usage, finishReason, toolCalls, reasoning?, thoughts?} (reasoning and thoughts as /chat answers them); "
    "a failure after the first event is a final `error` {error: {code, message}} event instead.")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Events go out in the envelope's compact encoding (one encoder per process).
encode_event = encode_json


@bp.post("/chat")
@describe("Chat completion", body=ChatSchema, reply=ChatReply, errors=UPSTREAM_ERRORS, links={
    "GetRequest": ("usage_get_request_get", {"request_id": "$response.body#/data/requestId"})})
def chat():
    body = json_body()
    with logged_call("chat", body) as record:
        data = load_chat(body)
        provider, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"), data)
        completion = complete(record, adapter, chat_request(data, model))
        reply = {
            "content": completion.content,
            "model": completion.model or model,
            "usage": record.usage_dict(),
            "finishReason": completion.finish_reason,
            "toolCalls": [tool_call_dict(call) for call in completion.tool_calls],
            "provider": provider.name,
            "requestId": record.public_id,
        }
        if completion.thoughts:
            reply.update(reasoning_fields(completion.thoughts))
        return ok(keep_response(record, reply))


def open_stream(record, body):
    """Validate, resolve and reach the upstream; any failure raises before an event is sent."""
    data = load_chat(body)
    provider, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"), data)
    return open_chat_stream(record, provider.name, adapter, chat_request(data, model))


class EventStreamBody:
    """The SSE body: one `data:` frame per event; closing it closes the stream (and its upstream).

    An iterator rather than a generator: one level less to resume for every chunk forwarded."""

    def __init__(self, stream):
        self.stream = stream
        self.events = iter(stream)

    def __iter__(self):
        return self

    def __next__(self):
        return b"data: " + encode_event(next(self.events)).encode() + b"\n\n"

    def close(self):
        self.stream.close()


@bp.post("/chat/stream")
@describe("Chat completion as Server-Sent Events", body=ChatSchema, media="text/event-stream",
          errors=UPSTREAM_ERRORS, stream=STREAM_EVENTS)
def chat_stream():
    body = json_body()
    with logged_call("chat_stream", body) as record:
        stream = open_stream(record, body)
    return Response(EventStreamBody(stream), mimetype="text/event-stream", headers=SSE_HEADERS)

