"""Reply types, and the deterministic content every kind shares: reply text, token counts, vectors, a PNG.

Token arithmetic (the same for every chat kind, JSON or stream):
  input tokens  = 5 + the number of whitespace-separated words in every text the request carries
                  (system prompt / systemInstruction included, all messages, all text parts);
  output tokens = the number of pieces the reply is streamed as: `len(up.stream_chunks)` by default
                  (6 for "The capital of France is Paris."), or one per word of an `echo:` reply;
  a max-tokens limit below that cuts the reply to that many pieces (finish reason length/max_tokens).
`up.last_usage` holds `{"inputTokens", "outputTokens"}` of the last default chat reply.
"""
import base64
import email.message
import hashlib
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any, Optional

DEFAULT_CHUNKS = ["The", " capital", " of", " France", " is", " Paris."]
COST = "0.00012"


@dataclass
class Reply:
    """A plain reply: `json` (serialised) or `body` (bytes/str as-is), sent with a Content-Length."""
    status: int = 200
    json: Any = None
    body: Any = None
    headers: Optional[dict] = None
    delay: float = 0


@dataclass
class SSE:
    """A chunked event stream: dict payloads become JSON, str go as-is, `(event, payload)` adds `event:`.
    `raw=True` writes each item verbatim as its own chunk. `reset_after=N` aborts after N events;
    `stall_after=N` sends nothing more for `stall` seconds after N events (then goes on).
    `chunked=False` sends the body without HTTP chunks, ended by closing the connection."""
    events: Any
    status: int = 200
    headers: Optional[dict] = None
    delay_each: float = 0.0
    reset_after: Optional[int] = None
    raw: bool = False
    stall_after: Optional[int] = None
    stall: float = 0.0
    chunked: bool = True


@dataclass
class Hang:
    """Wait `seconds` before replying (with `then`, or the default reply)."""
    seconds: float
    then: Any = None


@dataclass
class Reset:
    """Close the connection abruptly (RST), without any response."""


@dataclass
class Turn:
    """One planned chat reply."""
    pieces: list
    input_tokens: int
    truncated: bool = False

    @property
    def content(self):
        return "".join(self.pieces)

    @property
    def output_tokens(self):
        return len(self.pieces)


def words(text):
    return len(str(text or "").split())


def text_of(content):
    """The text of a message content: a string, a list of parts/blocks, or a dict with `text`."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        return " ".join(text_of(part) for part in content)
    return str(content)


def plan_turn(up, texts, last_user, limit=None):
    """The reply to a chat request whose texts are `texts`; records it as `up.last_usage`."""
    if last_user.startswith("echo:"):
        rest = last_user[len("echo:"):].split()
        pieces = rest[:1] + [" " + w for w in rest[1:]]
    else:
        pieces = list(up.stream_chunks)
    turn = Turn(pieces, 5 + sum(words(t) for t in texts))
    if isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit < len(pieces):
        turn.pieces, turn.truncated = pieces[:limit], True
    up.last_usage = {"inputTokens": turn.input_tokens, "outputTokens": turn.output_tokens}
    return turn


def paced(up, pieces):
    """Yield (index, piece) with `up.stream_delay` between pieces (not before the first)."""
    for index, piece in enumerate(pieces):
        if index and up.stream_delay:
            up.sleep(up.stream_delay)
        yield index, piece


def stamped(up, payload):
    """Add the send time to a chunk when `up.stamp` is on (for lag measurement), and note it in
    `up.sent_at` (time.monotonic(), for a test in this process: the gateway drops the field)."""
    if up.stamp:
        payload["x_sent_at"] = time.time()
        up.sent_at.append(time.monotonic())
    return payload


def fake_vector(text, dims=8):
    """A deterministic vector of `dims` floats in [-1, 1] derived from the text."""
    out, i = [], 0
    while len(out) < dims:
        digest = hashlib.sha256(f"{i}:{text}".encode()).digest()
        out.extend(round(b / 127.5 - 1.0, 6) for b in digest)
        i += 1
    return out[:dims]


def vector_base64(values):
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _png():
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()
PNG_B64 = base64.b64encode(PNG).decode()


def parse_multipart(body, content_type):
    """{field: str} with files as (filename, bytes); splits on the boundary instead of a line parser."""
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not boundary:
        raise ValueError("no boundary")
    fields = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = email.message_from_bytes(head.strip(b"\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if name is None:
            continue
        fields[name] = (filename, data) if filename is not None else data.decode("utf-8", "replace")
    return fields
