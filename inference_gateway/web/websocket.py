"""WebSocket routes on the request's own socket: wsproto speaks the protocol, this module moves its
bytes. flask-sock (simple-websocket) held each message whole and, past its size limit, closed the
socket with 1009, which also cut a call running on that socket; here a message over the limit is
read and dropped in pieces and answered like any bad frame, and the socket goes on."""
import functools
import socket
import threading
from dataclasses import dataclass

from flask import Response, current_app, request
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, Request, TextMessage
from wsproto.utilities import ProtocolError

from inference_gateway import errors

# The most read from the socket at once: an oversized message costs this much memory at a time.
READ_BYTES = 64 * 1024


class Closed(Exception):
    """The socket is closed or broken: nothing more can be sent."""


@dataclass(frozen=True)
class Oversized:
    """What `receive` returns for a message over the limit, read to its end and dropped."""
    limit: int


class WebSocket:
    """One accepted WebSocket. `receive` is called from one thread (it reads the socket); `send`
    from any (sends are serialised). permessage-deflate is not offered: a compressed frame can
    inflate a thousandfold in one read, past any bound on what is held, and the events sent are
    small JSON that would pay compression per event."""

    def __init__(self, sock, environ, max_bytes):
        self.sock, self.max_bytes = sock, max_bytes
        self.conn = WSConnection(ConnectionType.SERVER)
        self.lock = threading.Lock()
        headers = [(name[5:].replace("_", "-").lower(), value.encode("latin-1"))
                   for name, value in environ.items() if name.startswith("HTTP_")]
        try:
            self.conn.initiate_upgrade_connection(headers, "/")
            handshake = next(self.conn.events(), None)
        except ProtocolError as exc:
            raise errors.BadRequest(f"not a valid WebSocket upgrade: {exc}") from None
        if not isinstance(handshake, Request):
            raise errors.BadRequest("not a valid WebSocket upgrade")
        self._send(AcceptConnection())
        self.incoming, self.closed = self._incoming(), False

    def _incoming(self):
        """The peer's events, reading the socket as needed; a closed or broken socket ends in a
        CloseConnection (wsproto reports a protocol error the same way)."""
        while True:
            try:
                data = self.sock.recv(READ_BYTES)
            except OSError:
                data = b""
            self.conn.receive_data(data or None)
            yield from self.conn.events()

    def receive(self):
        """The next message (str or bytes), `Oversized` for one over the limit, or None once closed."""
        parts, size = [], 0
        for event in () if self.closed else self.incoming:
            if isinstance(event, (TextMessage, BytesMessage)):
                if size <= self.max_bytes:
                    data = event.data
                    size += len(data.encode()) if isinstance(data, str) and not data.isascii() else len(data)
                    if size <= self.max_bytes:
                        parts.append(data)
                    else:
                        parts.clear()  # past the limit: what was kept goes too, the rest is never kept
                if event.message_finished:
                    if size > self.max_bytes:
                        return Oversized(self.max_bytes)
                    return ("" if isinstance(event, TextMessage) else b"").join(parts)
            elif isinstance(event, (Ping, CloseConnection)):
                # A ping's pong; a close: the peer's echoed, or ours for its protocol error.
                closing = isinstance(event, CloseConnection)
                try:
                    if not closing or self.conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                        self._send(event.response())
                except Closed:
                    closing = True
                if closing:
                    self.closed = True
                    return None
        return None

    def send(self, text):
        self._send(TextMessage(data=text))

    def _send(self, event):
        with self.lock:
            try:
                self.sock.sendall(self.conn.send(event))
            except (ProtocolError, OSError) as exc:
                raise Closed() from exc

    def close(self):
        """Close the session: a close frame unless one was exchanged already, then the socket's both
        directions, which also wakes a `receive` still waiting on it."""
        if self.conn.state is ConnectionState.OPEN:
            try:
                self._send(CloseConnection(code=1000))
            except Closed:
                pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Upgraded(Response):
    """The answer once a WebSocket session is over: the socket was the view's, the server must write
    nothing more. gunicorn takes StopIteration as "the connection is done"; werkzeug's development
    server writes its response into the socket already shut down, which it takes as a client gone."""

    def __call__(self, environ, start_response):
        if "gunicorn.socket" in environ:
            raise StopIteration()
        return super().__call__(environ, start_response)


def websocket_route(bp, rule):
    """Register `handler(ws)` as the WebSocket view of `rule` on `bp` (upgrade requests only). Its
    messages are at most MAX_REQUEST_BYTES, the limit on a request body."""
    def decorator(handler):
        @functools.wraps(handler)
        def view(**kwargs):
            sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
            if sock is None:
                raise RuntimeError("WebSocket routes run under gunicorn or werkzeug's development server")
            ws = WebSocket(sock, request.environ, current_app.config["MAX_REQUEST_BYTES"])
            try:
                handler(ws, **kwargs)
            except Closed:
                pass
            finally:
                ws.close()
            return _Upgraded()
        bp.route(rule, websocket=True)(view)
        return view
    return decorator
