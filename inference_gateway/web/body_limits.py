"""The request body's bounds in time and size, enforced where the body is read (wsgi.input).

A body that has not fully arrived REQUEST_BODY_TIMEOUT seconds after the request's headers is a
408 and the connection is closed, so a client trickling bytes holds a worker's slot for a bounded
time. A chunked body (no Content-Length) over MAX_REQUEST_BYTES is a 413: werkzeug stops reading
such a body at the cap and hands the view the truncated prefix as if it were the whole."""
import socket
import time

from werkzeug.exceptions import RequestEntityTooLarge

from inference_gateway import errors


class BodyTimeout(errors.GatewayError):
    status, code = 408, errors.REQUEST_TIMEOUT


def body_timeout(seconds):
    return BodyTimeout(f"the request body did not arrive within {seconds:g} seconds "
                       "(REQUEST_BODY_TIMEOUT); send it at once, then wait for the answer")


class BoundedInput:
    """wsgi.input with a deadline for the whole body and, for a chunked body, the size cap.

    The deadline is the socket's timeout during each read (gunicorn exposes the socket), so a
    stalled read ends on time under gevent and threads alike; without a socket it is checked
    between reads."""

    def __init__(self, stream, sock, seconds, cap):
        self.stream, self.sock, self.seconds, self.cap = stream, sock, seconds, cap
        self.deadline = time.monotonic() + seconds
        self.count = 0
        self.timed_out = False

    def _call(self, method, *args):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            raise body_timeout(self.seconds)
        if self.sock is None:
            return method(*args)
        previous = self.sock.gettimeout()
        self.sock.settimeout(remaining)
        try:
            return method(*args)
        except (socket.timeout, TimeoutError):
            self.timed_out = True
            raise body_timeout(self.seconds) from None
        finally:
            self.sock.settimeout(previous)

    def _counted(self, data):
        self.count += len(data)
        if self.cap is not None and self.count >= self.cap:
            # At the cap werkzeug stops reading: one byte more means the body is over it.
            if self.count > self.cap or self._call(self.stream.read, 1):
                raise RequestEntityTooLarge()
        return data

    def read(self, size=-1):
        return self._counted(self._call(self.stream.read, size))

    def readline(self, size=-1):
        return self._counted(self._call(self.stream.readline, size))

    def __iter__(self):
        return iter(self.readline, b"")


class _ClosingBody:
    """The 408's body; once it is sent, the connection is shut so the client's rest is not read."""

    def __init__(self, result, sock):
        self.result, self.sock = result, sock

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class BodyLimits:
    """WSGI middleware installing BoundedInput on every request that has a body."""

    def __init__(self, app, cap, seconds):
        self.app, self.cap, self.seconds = app, cap, seconds

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked and environ.get("CONTENT_LENGTH", "0") in ("", "0"):
            return self.app(environ, start_response)
        sock = environ.get("gunicorn.socket")
        body = BoundedInput(environ["wsgi.input"], sock, self.seconds, self.cap if chunked else None)
        environ["wsgi.input"] = body
        result = self.app(environ, start_response)
        if body.timed_out and sock is not None:
            return _ClosingBody(result, sock)
        return result


def init_app(app):
    app.wsgi_app = BodyLimits(app.wsgi_app, app.config["MAX_REQUEST_BYTES"], app.config["REQUEST_BODY_TIMEOUT"])
