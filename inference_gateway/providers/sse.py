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


class SSEParser:
    """Incremental SSE parsing: `feed()` each piece of the body as it arrives and get back the
    events it completes; `finish()` at the end of the body. One object instead of a chain of
    generators, because every generator level is resumed once per chunk of every open stream."""

    def __init__(self):
        self.pending = b""
        self.event, self.data = None, []

    def feed(self, chunk):
        events = []
        pending = self.pending + chunk if self.pending else chunk
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
            self._line(pending[:end].decode("utf-8", "replace"), events)
            pending = pending[end + skip:]
        self.pending = pending
        return events

    def finish(self):
        events = []
        if self.pending:
            self._line(self.pending.rstrip(b"\r").decode("utf-8", "replace"), events)
            self.pending = b""
        if self.data:
            events.append(SSEEvent(self.event, "\n".join(self.data)))
            self.event, self.data = None, []
        return events

    def _line(self, line, events):
        """Comments and `retry:`/`id:` fields are ignored; a blank line ends an event."""
        if not line:
            if self.data:
                events.append(SSEEvent(self.event, "\n".join(self.data)))
            self.event, self.data = None, []
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)


def iter_events(chunks):
    """Parse a byte stream into SSE events, each yielded as soon as it is complete."""
    parser = SSEParser()
    for chunk in chunks:
        if chunk:
            yield from parser.feed(chunk)
    yield from parser.finish()
