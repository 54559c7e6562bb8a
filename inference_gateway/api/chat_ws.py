"""Chat over a WebSocket: one JSON request per text frame, answered with the SSE stream's events."""
import json
import logging
import queue
import threading

from flask import Blueprint, current_app

from inference_gateway import errors
from inference_gateway.web import input_guard
from inference_gateway.web.websocket import Oversized, websocket_route
from inference_gateway.gateway.chat import error_event
from inference_gateway.api.calls import logged_call
from inference_gateway.api.chat import STREAM_EVENTS, encode_event, open_stream
from inference_gateway.web.openapi import describe

log = logging.getLogger(__name__)

# Its own blueprint, registered with the others in api.register (same /chat/ws path under the prefix).
bp = Blueprint("chat_ws", __name__)

FRAME_HINT = 'each frame must be a JSON object: a chat request or {"type": "cancel"}'


def parse_frame(text, limits):
    """("chat", request) or ("cancel", {}) from one text frame; BadRequest for anything else,
    including what `limits` (input_guard.Limits) refuses in any body."""
    try:
        message = json.loads(text)
    except (TypeError, ValueError):
        raise errors.BadRequest(FRAME_HINT) from None
    except RecursionError:
        raise input_guard.too_deep(limits.max_depth) from None
    if not isinstance(message, dict):
        raise errors.BadRequest(FRAME_HINT)
    limits.check(message)
    kind = message.pop("type", "chat")
    if kind not in ("chat", "cancel"):
        raise errors.BadRequest(f"unknown frame type '{kind}': {FRAME_HINT}")
    return kind, message


def frame_too_large(limit):
    # Frames carry no id: the error takes the dropped frame's turn among the answers, after the
    # call running when it came (which it does not disturb).
    return errors.PayloadTooLarge(
        f"a frame over the gateway's limit of {limit:,} bytes (MAX_REQUEST_BYTES) was read and dropped; "
        "the socket stays open")


class FrameReader:
    """Reads the socket on its own thread, so a cancel is acted on even while the upstream is
    silent; everything else is queued for the handler in arrival order."""

    def __init__(self, ws, limits):
        self.ws = ws
        self.limits = limits
        self.frames = queue.Queue()
        self.on_cancel = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            while (text := self.ws.receive()) is not None:
                try:
                    if isinstance(text, Oversized):
                        raise frame_too_large(text.limit)
                    kind, message = parse_frame(text, self.limits)
                except errors.GatewayError as exc:
                    self.frames.put(exc)
                    continue
                cancel = self.on_cancel
                if kind == "cancel" and cancel is not None:
                    cancel("generation cancelled by the client")
                else:
                    self.frames.put((kind, message))
        finally:
            cancel = self.on_cancel
            if cancel is not None:
                cancel("the client closed the socket")
            self.frames.put(None)


def send(ws, event):
    ws.send(encode_event(event))


def run_one(ws, reader, body):
    """Stream one chat request over the socket; a cancel from the reader cuts it at once."""
    try:
        with logged_call("chat_ws", body, http=False) as record:
            stream = open_stream(record, body)
    except errors.GatewayError as exc:
        send(ws, error_event(exc))
        return
    except Exception:
        # The socket is upgraded: an HTTP 500 page written into it would end it for the client.
        log.exception("WebSocket chat request failed")
        send(ws, error_event(errors.GatewayError("internal error; see the gateway's log")))
        return
    reader.on_cancel = stream.cancel
    try:
        for event in stream:
            if stream.cancel_reason:
                break
            send(ws, event)
    finally:
        reader.on_cancel = None
        stream.close()
    if stream.cancelled:
        send(ws, error_event(errors.GatewayError(stream.cancel_reason, status=499, code=errors.CANCELLED)))


@websocket_route(bp, "/chat/ws")
@describe("Chat over a WebSocket", status=101, tags=["chat"], errors=[(400, errors.BAD_REQUEST)], stream=(
    "Upgrade to a WebSocket, then send one chat request (the /chat body) per text frame, or "
    "{\"type\": \"cancel\"} to stop the running one. " + STREAM_EVENTS + " Each event is one text frame. "
    "A frame that is not a request, or is over MAX_REQUEST_BYTES (PAYLOAD_TOO_LARGE, read and dropped), is "
    "answered with an error event in its turn, after the generation running when it came; the socket stays open."),
    description="Not callable from this page: use a WebSocket client (websocat, websocket-client).")
def chat_ws(ws):
    # A socket may stay open for hours: it holds no database connection (each call gives back the
    # one its resolution took, and the log row is written on the writer's own).
    reader = FrameReader(ws, current_app.extensions["input_limits"])
    while (item := reader.frames.get()) is not None:
        if isinstance(item, errors.GatewayError):
            send(ws, error_event(item))
            continue
        kind, message = item
        if kind == "cancel":
            send(ws, error_event(errors.BadRequest("nothing to cancel: no generation is running")))
            continue
        run_one(ws, reader, message)
