"""Chat: JSON completion, SSE stream, and the WebSocket route."""
import json
from collections import deque

from flask import Blueprint, Response
from flask_sock import Sock

from .. import db, errors
from ..chat import ChatStream, chat_request, error_event, usage_dict
from ..envelope import ok
from ..schemas import chat_schema
from .calls import keep_response, logged_call, open_adapter
from .common import json_body

bp = Blueprint("chat", __name__)
sock = Sock()

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@bp.post("/chat")
def chat():
    body = json_body()
    with logged_call("chat", body) as record:
        data = chat_schema.load(body)
        provider, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"))
        completion = adapter.chat(chat_request(data, model))
        record.set_usage(completion.usage)
        return ok(keep_response(record, {
            "content": completion.content,
            "model": completion.model or model,
            "usage": usage_dict(record),
            "finishReason": completion.finish_reason,
            "provider": provider.name,
            "requestId": record.id,
        }))


def open_stream(record, body):
    """Validate, resolve and reach the upstream; any failure raises before an event is sent."""
    data = chat_schema.load(body)
    provider, model, adapter = open_adapter(record, data.get("model"), data.get("provider_id"))
    return ChatStream(record, provider.name, adapter, chat_request(data, model)).open()


class EventStreamBody:
    """The SSE body: one `data:` frame per event; closing it closes the stream (and its upstream)."""

    def __init__(self, stream):
        self.stream = stream

    def __iter__(self):
        for event in self.stream:
            yield b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"

    def close(self):
        self.stream.close()


@bp.post("/chat/stream")
def chat_stream():
    body = json_body()
    with logged_call("chat_stream", body) as record:
        stream = open_stream(record, body)
    return Response(EventStreamBody(stream), mimetype="text/event-stream", headers=SSE_HEADERS)


def _frame(ws, event):
    ws.send(json.dumps(event, separators=(",", ":")))


def _parse_frame(text):
    """A chat request or a cancel from one text frame; raises BadRequest for anything else."""
    try:
        message = json.loads(text)
    except (TypeError, ValueError):
        raise errors.BadRequest("each frame must be a JSON object (a chat request or {\"type\": \"cancel\"})")
    if not isinstance(message, dict):
        raise errors.BadRequest("each frame must be a JSON object (a chat request or {\"type\": \"cancel\"})")
    kind = message.pop("type", "chat")
    if kind not in ("chat", "cancel"):
        raise errors.BadRequest(f"unknown frame type '{kind}': send a chat request or {{\"type\": \"cancel\"}}")
    return kind, message


def _stream_over_socket(ws, body, pending):
    """Run one chat request on the socket; frames that arrive meanwhile are cancels or queued."""
    try:
        with logged_call("chat_ws", body) as record, db.connection():
            stream = open_stream(record, body)
    except errors.GatewayError as exc:
        _frame(ws, error_event(exc))
        return
    try:
        for event in stream:
            _frame(ws, event)
            # Between events, look (without waiting) for a cancel or the next request.
            while (text := ws.receive(timeout=0)) is not None:
                try:
                    kind, message = _parse_frame(text)
                except errors.GatewayError as exc:
                    _frame(ws, error_event(exc))
                    continue
                if kind == "cancel":
                    stream.cancel()
                    stream.close()
                    _frame(ws, error_event(errors.GatewayError(
                        "generation cancelled by the client", status=499, code="CANCELLED")))
                    return
                pending.append(message)
    finally:
        stream.close()


@sock.route("/chat/ws", bp=bp)
def chat_ws(ws):
    # A socket may stay open for hours: do not hold a database connection for its lifetime.
    if not db.database.is_closed():
        db.database.close()
    pending = deque()
    while True:
        if pending:
            kind, message = "chat", pending.popleft()
        else:
            text = ws.receive()
            if text is None:
                return
            try:
                kind, message = _parse_frame(text)
            except errors.GatewayError as exc:
                _frame(ws, error_event(exc))
                continue
        if kind == "cancel":
            _frame(ws, error_event(errors.BadRequest("nothing to cancel: no generation is running")))
            continue
        _stream_over_socket(ws, message, pending)
