"""A small Server-Sent Events reader over a streamed `requests` response."""
from dataclasses import dataclass
from typing import Optional


@dataclass
class SSEEvent:
    event: Optional[str]
    data: str


def is_final(event):
    """The event a provider ends a stream with: OpenAI's `[DONE]`, Anthropic's `message_stop`."""
    return event.event == "message_stop" or event.data.strip() == "[DONE]"


def iter_lines(chunks):
    """Split a byte stream into text lines on \\n, \\r\\n or \\r, yielding each as soon as it is complete."""
    pending = b""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        while True:
            cr = pending.find(b"\r")
            lf = pending.find(b"\n")
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr == len(pending) - 1:
                    # A lone \r at the end may be the first half of \r\n: wait for the next byte.
                    break
                end, skip = cr, 2 if pending[cr + 1:cr + 2] == b"\n" else 1
            else:
                end, skip = lf, 1
            yield pending[:end].decode("utf-8", "replace")
            pending = pending[end + skip:]
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


def iter_events(chunks):
    """Parse SSE lines into events; comments and `retry:`/`id:` fields are ignored."""
    event, data = None, []
    for line in iter_lines(chunks):
        if not line:
            if data:
                yield SSEEvent(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield SSEEvent(event, "\n".join(data))
