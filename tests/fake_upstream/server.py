"""The fake upstream's HTTP side: a threaded HTTP/1.1 server, scripted replies, chunked SSE, disconnects."""
import json
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from requests.structures import CaseInsensitiveDict

from . import anthropic, common, google, openai, opencode, rich
from .common import SSE, Hang, Reply, Reset

PREFIXES = {"openai": "/openai/v1", "anthropic": "/anthropic/v1", "google": "/google/v1beta",
            "opencode": "/opencode/zen/v1", "compat": "/compat/v1", "files": "/files"}
ROUTES = {"openai": openai.route, "compat": openai.route_compat, "anthropic": anthropic.route,
          "google": google.route, "opencode": opencode.route, "files": openai.route_files}
NOT_FOUND = {"openai": openai.not_found, "compat": openai.not_found, "anthropic": anthropic.not_found,
             "google": google.not_found, "opencode": opencode.not_found}


@dataclass
class Recorded:
    method: str
    kind: Optional[str]
    path: str
    query: dict
    headers: CaseInsensitiveDict
    body: bytes
    json: Any = None
    form: Optional[dict] = None
    peer: Optional[tuple] = None  # the client's (host, port): one per connection
    time: float = field(default_factory=time.time)


class _Abort(Exception):
    pass


def split_path(raw):
    """(kind, path after the kind's prefix, query dict) for a request target."""
    parts = urlsplit(raw)
    path = unquote(parts.path)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    for kind, prefix in PREFIXES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return kind, path[len(prefix):] or "/", query
    return None, path, query


def encode_event(item, raw=False):
    if raw:
        return item if isinstance(item, bytes) else str(item).encode()
    name = None
    if isinstance(item, tuple):
        name, item = item
    data = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return (head + "data: " + data + "\n\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeUpstream/1.0"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.up._track(self.connection, True)

    def finish(self):
        self.server.up._track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except _Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.serve
        raise AttributeError(name)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if not size:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(out)
                out.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def serve(self):
        up = self.server.up
        kind, path, query = split_path(self.path)
        body = self.read_body()
        headers = CaseInsensitiveDict(self.headers.items())
        req = Recorded(self.command, kind, path, query, headers, body, peer=self.client_address)
        content_type = headers.get("Content-Type") or ""
        if "json" in content_type or body[:1] in (b"{", b"["):
            try:
                req.json = json.loads(body)
            except ValueError:
                req.json = None
        if content_type.startswith("multipart/form-data"):
            try:
                req.form = common.parse_multipart(body, content_type)
            except ValueError:
                req.form = None
        generation = up.generation
        up._record(req)
        reply = up._scripted(req)
        while isinstance(reply, Hang):
            if up._stopping.wait(reply.seconds):
                raise _Abort()
            reply = reply.then
        if up.generation != generation:
            # The test that scripted the hang is over (its client timed out); a late default
            # reply would land in the next test's records (uploads, last_usage).
            raise _Abort()
        if callable(reply) and not isinstance(reply, (Reply, SSE, Reset)):
            reply = reply(req)
        if reply is None:
            reply = self.default(up, req)
        self.send(reply)

    def default(self, up, req):
        if req.kind is None:
            return Reply(404, json={"error": {"message": f"no fake upstream at {req.path}"}})
        reply = ROUTES[req.kind](up, req)
        if reply is None:
            reply = NOT_FOUND.get(req.kind, lambda r: Reply(404, body=b"not found"))(req)
        return reply

    def send(self, reply):
        if isinstance(reply, Reset):
            self.abort()
        elif isinstance(reply, SSE):
            self.send_sse(reply)
        else:
            self.send_reply(reply)

    def send_reply(self, reply):
        if reply.delay and self.server.up._stopping.wait(reply.delay):
            raise _Abort()
        headers = dict(reply.headers or {})
        if reply.json is not None:
            data = json.dumps(reply.json).encode()
        elif reply.body is not None:
            data = reply.body if isinstance(reply.body, bytes) else str(reply.body).encode()
        else:
            data = b""
        if reply.json is not None or reply.body is not None:
            headers.setdefault("Content-Type", "application/json")
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, sse):
        up = self.server.up
        self.send_response(sse.status)
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **(sse.headers or {})}
        for name, value in headers.items():
            self.send_header(name, str(value))
        # Without chunks the body ends when the connection closes (send_header sets close_connection).
        self.send_header(*(("Transfer-Encoding", "chunked") if sse.chunked else ("Connection", "close")))
        self.end_headers()
        sent = 0
        try:
            for item in sse.events:
                if sse.reset_after is not None and sent >= sse.reset_after:
                    break
                if sse.delay_each and up._stopping.wait(sse.delay_each):
                    raise _Abort()
                if sent == sse.stall_after and up._stopping.wait(sse.stall):
                    raise _Abort()
                data = encode_event(item, sse.raw)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if sse.chunked else data)
                sent += 1
                if self.peer_closed():
                    raise ConnectionAbortedError()
            if sse.reset_after is not None and sent >= sse.reset_after:
                self.abort()
            if sse.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            up._disconnected()
            raise _Abort()

    def peer_closed(self):
        """True when the client has closed its side (EOF or RST waiting on the socket)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (ConnectionResetError, OSError):
            return True

    def abort(self):
        """Drop the connection with a RST, mid-whatever, like a crashed upstream."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        fd = self.connection.detach()
        socket.close(fd)
        raise _Abort()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        import sys
        if not isinstance(sys.exc_info()[1], (OSError, _Abort)):
            super().handle_error(request, client_address)


class FakeUpstream:
    """Every provider kind on one local port, each under its own prefix (see `base_url`)."""

    def __init__(self, host="127.0.0.1", port=0):
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = self._thread = None
        self._open = set()
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        self._stopping.clear()
        self._server = Server((self.host, self.port), Handler)
        self._server.up = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-upstream", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def base_url(self, kind):
        return self.url + PREFIXES[kind]

    # -- test controls -----------------------------------------------------------------------

    def reset(self):
        """Forget scripts, recorded requests and counters; restore every setting to its default."""
        with self._lock:
            self.requests = []
            self._script = []
            self.disconnects = 0
            self.generation = getattr(self, "generation", 0) + 1
        self.uploads = []
        self.last_usage = None
        self.stream_chunks = list(common.DEFAULT_CHUNKS)
        self.stream_delay = 0.0
        self.stamp = False
        self.sent_at = []
        self.page_size = 3
        self.max_upload = 25 * 1024 * 1024
        self.models = {kind: list(ids) for kind, ids in DEFAULT_MODELS.items()}
        # Rich chat (tests/fake_upstream/rich.py), off by default.
        self.rich = False
        self.tool_arguments = dict(rich.DEFAULT_TOOL_ARGUMENTS)
        self.json_answer = dict(rich.DEFAULT_JSON_ANSWER)
        self.parallel_tools = False
        self.usage_details = None
        self.call_count = 0
        self.signatures = set()
        # Reasoning text the OpenAI format shows (tests/fake_upstream/openai.py), off by default.
        self.reasoning = None
        self.reasoning_fields = ("reasoning_content",)
        self.reasoning_back_required = False

    def script(self, kind, *replies, path=None):
        """The next requests of `kind` (whose path contains `path`) get these replies, in order.
        A reply may also be a callable taking the recorded request (returning None = default)."""
        with self._lock:
            self._script.extend((kind, path, reply) for reply in replies)

    def wait_disconnect(self, timeout=5.0, count=1):
        """True once `count` clients have gone away mid-stream."""
        with self._changed:
            return self._changed.wait_for(lambda: self.disconnects >= count, timeout)

    def sleep(self, seconds):
        """Sleep, cut short when the server stops."""
        if self._stopping.wait(seconds):
            raise _Abort()

    def of_kind(self, kind, path=None):
        """The recorded requests of one kind (optionally whose path contains `path`)."""
        return [r for r in list(self.requests) if r.kind == kind and (path is None or path in r.path)]

    # -- called by the handler ---------------------------------------------------------------

    def _record(self, req):
        with self._lock:
            self.requests.append(req)

    def _scripted(self, req):
        with self._lock:
            for i, (kind, path, reply) in enumerate(self._script):
                if kind == req.kind and (path is None or path in req.path):
                    del self._script[i]
                    return reply
        return None

    def _disconnected(self):
        with self._changed:
            self.disconnects += 1
            self._changed.notify_all()

    def _track(self, conn, is_open):
        with self._lock:
            (self._open.add if is_open else self._open.discard)(conn)


DEFAULT_MODELS = {
    "openai": ["gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-5", "text-embedding-3-small", "dall-e-3",
               "gpt-image-1", "whisper-1", "gpt-4o-transcribe"],
    "compat": ["llama3", "qwen2.5"],
    "anthropic": ["claude-opus-4-1-20250805", "claude-opus-4-20250514", "claude-sonnet-4-20250514",
                  "claude-3-7-sonnet-20250219", "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022",
                  "claude-3-haiku-20240307"],
    "google": ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "gemini-2.5-flash-image",
               "gemini-embedding-001"],
    "opencode": ["kimi-k2", "claude-sonnet-4", "gemini-2.5-pro", "gpt-5", "qwen3-coder"],
}
