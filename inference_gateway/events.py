"""Signals other parts subscribe to (metrics, access logs) without the call path knowing them."""
from blinker import Namespace

_signals = Namespace()

# sender: the CallRecord just written to the request log.
call_finished = _signals.signal("call-finished")
# sender: the endpoint name ("chat_stream", "chat_ws"); fired when a stream starts / ends.
stream_opened = _signals.signal("stream-opened")
stream_closed = _signals.signal("stream-closed")
# Routes (gateway/routing.py). sender: the route's name; provider=, outcome= ("success", "failure",
# "skipped": its breaker was open).
route_attempt = _signals.signal("route-attempt")
# sender: the route's name; provider=: the target the call moved away from.
route_fallback = _signals.signal("route-fallback")
# sender: the provider's name; state=: "open" or "closed" (gateway/breaker.py).
breaker_changed = _signals.signal("breaker-changed")
