"""Signals other parts subscribe to (metrics, access logs) without the call path knowing them."""
from blinker import Namespace

_signals = Namespace()

# sender: the CallRecord just written to the request log.
call_finished = _signals.signal("call-finished")
# sender: the endpoint name ("chat_stream", "chat_ws"); fired when a stream starts / ends.
stream_opened = _signals.signal("stream-opened")
stream_closed = _signals.signal("stream-closed")
